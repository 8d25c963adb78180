import type { Context } from 'koa';
import type { Logger } from '@parley/protocol';
import { readLimitedBody, signatureHeaders, verifySignedRequest, type ReplayGuard } from '@parley/protocol/node';
import type { ChatStore, StoredWrite } from '@parley/store';
import type { Authenticate, Identify } from './auth.js';
import type { TrustedProxies } from './client-address.js';
import type { WebConfig } from './config.js';
import type { Notifier } from './notifier.js';
import type { Presence } from './presence.js';
import type { RateLimits } from './rate-limits.js';
import type { SayBatcher } from './say-batcher.js';

/** What the route modules need; built once by `createWebApp`. */
export interface RouteDeps {
  store: ChatStore;
  notifier: Notifier;
  /** The say path (group commit). */
  says: SayBatcher;
  authenticate: Authenticate;
  /** The caller of a read anyone may make, or `undefined` when anonymous. */
  identify: Identify;
  /**
   * Announces a session that ended (sign-out, revoked bot token) by its token
   * hash, so chatservers forget it at once; fire and forget.
   */
  sessionEnded: (tokenHash: string) => void;
  log: Logger;
  config: Readonly<WebConfig>;
  /** Clock of event times and session refreshes. */
  now: () => number;
  /** Presence tracking (absent: occupancy is by enter and leave only). */
  presence: Presence | undefined;
  /** Nonces of signed internal requests this process has accepted (one per process). */
  replayGuard: ReplayGuard;
  /** Abuse limits of the writes (429 `rate_limited`). */
  limits: RateLimits;
  /** Proxies whose `X-Real-IP` / `X-Forwarded-Proto` are believed (`config.trustedProxies`). */
  trustedProxies: TrustedProxies;
}

/**
 * Hands a committed write's events to the queue, after the answer is set and
 * without waiting (the outbox row already makes them durable). A write that
 * changed nothing has no outbox row and publishes nothing.
 */
export function publishWrite(deps: RouteDeps, write: StoredWrite): void {
  if (write.outboxId === undefined || write.events.length === 0) return;
  deps.notifier.publish(write.outboxId, write.events);
}

/**
 * Reads an internal request's body (at most `maxBodyBytes`; none for a GET)
 * and checks its signature, timestamp and nonce before anything else looks at
 * it: 401 unsigned, 403 `bad_signature` / `replayed_request`.
 */
export async function readSignedInternalRequest(ctx: Context, deps: RouteDeps, maxBodyBytes: number): Promise<Buffer> {
  const body = ctx.method === 'GET' ? Buffer.alloc(0) : await readLimitedBody(ctx.req, maxBodyBytes);
  verifySignedRequest(
    deps.config.secret,
    { method: ctx.method, path: ctx.originalUrl, body },
    signatureHeaders(ctx.req.headers),
    { replayGuard: deps.replayGuard },
  );
  return body;
}
