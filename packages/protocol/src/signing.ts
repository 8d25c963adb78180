import { createHmac, timingSafeEqual } from 'node:crypto';
import { ChatError } from './errors.js';

/** Header carrying the signing time, epoch milliseconds. */
export const TIMESTAMP_HEADER = 'x-parley-timestamp';
/** Header carrying the hex HMAC-SHA256 signature. */
export const SIGNATURE_HEADER = 'x-parley-signature';
/**
 * How far a signed request's timestamp may be from the receiver's clock.
 * Processes of one cluster share a clock or NTP; 30 s bounds the replay window
 * while tolerating a GC pause or a slow retry.
 */
export const DEFAULT_SIGNATURE_WINDOW_MS = 30_000;

/** What a signature covers: the method, the path with its query, the body and the time. */
export interface SignedRequestParts {
  method: string;
  /** Path and query exactly as sent, e.g. `/internal/notify` or `/internal/rooms/a/events?after=3`. */
  path: string;
  body: string | Uint8Array;
  timestamp: number;
}

function computeSignature(secret: string, parts: SignedRequestParts): string {
  const hmac = createHmac('sha256', secret);
  hmac.update(`${parts.timestamp}\n${parts.method.toUpperCase()}\n${parts.path}\n`);
  hmac.update(parts.body);
  return hmac.digest('hex');
}

/** The two headers to send with an internal request. */
export function signRequest(
  secret: string,
  request: Omit<SignedRequestParts, 'timestamp'>,
  now: number = Date.now(),
): Record<string, string> {
  return {
    [TIMESTAMP_HEADER]: String(now),
    [SIGNATURE_HEADER]: computeSignature(secret, { ...request, timestamp: now }),
  };
}

/**
 * Checks an internal request's signature; throws `signature_required` (401)
 * when the headers are missing and `bad_signature` (403) when the signature is
 * wrong or its timestamp is outside the window.
 */
export function verifySignedRequest(
  secret: string,
  request: Omit<SignedRequestParts, 'timestamp'>,
  headers: { timestamp: string | string[] | undefined; signature: string | string[] | undefined },
  options: { now?: number; windowMs?: number } = {},
): void {
  const { timestamp, signature } = headers;
  if (typeof timestamp !== 'string' || typeof signature !== 'string') {
    throw new ChatError('signature_required', 'internal endpoint: signed request required');
  }
  if (!/^\d{1,15}$/.test(timestamp) || !/^[0-9a-f]{64}$/.test(signature)) {
    throw new ChatError('bad_signature', 'malformed signature');
  }
  const now = options.now ?? Date.now();
  const windowMs = options.windowMs ?? DEFAULT_SIGNATURE_WINDOW_MS;
  const signedAt = Number(timestamp);
  if (Math.abs(now - signedAt) > windowMs) throw new ChatError('bad_signature', 'stale signature');
  const expected = Buffer.from(computeSignature(secret, { ...request, timestamp: signedAt }), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
    throw new ChatError('bad_signature', 'wrong signature');
  }
}
