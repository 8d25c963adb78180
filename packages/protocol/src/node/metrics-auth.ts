import { createHash, timingSafeEqual } from 'node:crypto';

/** Path of every role's Prometheus endpoint (never routed by nginx). */
export const METRICS_PATH = '/metrics';

/**
 * May a scrape with this `Authorization` header read `/metrics`? With no
 * `token` configured (`PARLEY_METRICS_TOKEN` empty) every scrape may: the
 * endpoint is on internal ports only. With one, the header must be
 * `Bearer <token>`. Both sides are hashed first so the comparison takes the
 * same time whatever the length of the guess.
 */
export function isMetricsScrapeAllowed(authorization: string | undefined, token: string): boolean {
  if (token === '') return true;
  if (authorization === undefined || !authorization.startsWith('Bearer ')) return false;
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(authorization.slice('Bearer '.length)), digest(token));
}
