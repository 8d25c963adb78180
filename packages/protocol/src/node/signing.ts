import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ChatError } from '../errors.js';

/** Header carrying the signing time, epoch milliseconds. */
export const TIMESTAMP_HEADER = 'x-parley-timestamp';
/** Header carrying a fresh random value per request (32 hex digits), covered by the signature. */
export const NONCE_HEADER = 'x-parley-nonce';
/** Header carrying the hex HMAC-SHA256 signature. */
export const SIGNATURE_HEADER = 'x-parley-signature';
/**
 * How far a signed request's timestamp may be from the receiver's clock.
 * Processes of one cluster share a clock or NTP; 30 s bounds the replay window
 * while tolerating a GC pause or a slow retry.
 */
export const DEFAULT_SIGNATURE_WINDOW_MS = 30_000;

/** What a signature covers: the method, the path with its query, the body, the time and the nonce. */
export interface SignedRequestParts {
  method: string;
  /** Path and query exactly as sent, e.g. `/internal/notify` or `/internal/rooms/a/events?after=3`. */
  path: string;
  body: string | Uint8Array;
  timestamp: number;
  nonce: string;
}

/** The signature headers of a received request, as Node hands them over. */
export interface SignatureHeaders {
  timestamp: string | string[] | undefined;
  nonce: string | string[] | undefined;
  signature: string | string[] | undefined;
}

/** Picks the three signature headers out of a request's headers (`req.headers`). */
export function signatureHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): SignatureHeaders {
  return { timestamp: headers[TIMESTAMP_HEADER], nonce: headers[NONCE_HEADER], signature: headers[SIGNATURE_HEADER] };
}

function computeSignature(secret: string, parts: SignedRequestParts): string {
  const hmac = createHmac('sha256', secret);
  hmac.update(`${parts.timestamp}\n${parts.nonce}\n${parts.method.toUpperCase()}\n${parts.path}\n`);
  hmac.update(parts.body);
  return hmac.digest('hex');
}

/**
 * The three headers to send with an internal request. Sign every attempt
 * anew: a verifier accepts each nonce once, so a retry with the same headers
 * is refused as a replay.
 */
export function signRequest(
  secret: string,
  request: Omit<SignedRequestParts, 'timestamp' | 'nonce'>,
  now: number = Date.now(),
  nonce: string = randomBytes(16).toString('hex'),
): Record<string, string> {
  return {
    [TIMESTAMP_HEADER]: String(now),
    [NONCE_HEADER]: nonce,
    [SIGNATURE_HEADER]: computeSignature(secret, { ...request, timestamp: now, nonce }),
  };
}

/** Options of `ReplayGuard`. */
export interface ReplayGuardOptions {
  /** The verifier's signature window: a nonce is kept until its timestamp leaves it. @default DEFAULT_SIGNATURE_WINDOW_MS */
  windowMs?: number;
  /**
   * Most nonces remembered. Only holders of the secret can add one, so this
   * bounds memory against a runaway signer, not against strangers; at the
   * cap new requests are refused (503) until old nonces leave the window.
   * @default 1_000_000 (≈ 33,000 signed requests/s for the 30 s window)
   */
  maxEntries?: number;
}

/**
 * The nonces one verifying process has accepted, each kept until its
 * timestamp is older than the window (after that the timestamp check alone
 * refuses the request). Memory is bounded by `maxEntries`.
 */
export class ReplayGuard {
  readonly windowMs: number;
  readonly #maxEntries: number;
  // Nonce → time after which it may be forgotten. A Map iterates in insertion
  // order, which is nearly expiry order: pruning stops at the first live entry.
  readonly #expiries = new Map<string, number>();

  constructor(options: ReplayGuardOptions = {}) {
    this.windowMs = options.windowMs ?? DEFAULT_SIGNATURE_WINDOW_MS;
    this.#maxEntries = options.maxEntries ?? 1_000_000;
  }

  /** Nonces currently remembered. */
  get size(): number {
    return this.#expiries.size;
  }

  /**
   * Records `nonce`; throws `replayed_request` (403) when it was accepted
   * before, and `unavailable` (503) when the memory is full.
   */
  accept(nonce: string, signedAt: number, now: number): void {
    for (const [oldNonce, expiresAt] of this.#expiries) {
      if (expiresAt > now) break;
      this.#expiries.delete(oldNonce);
    }
    if (this.#expiries.has(nonce)) throw new ChatError('replayed_request', 'this signed request was already received');
    if (this.#expiries.size >= this.#maxEntries) {
      throw new ChatError('unavailable', 'too many signed requests in the window, try again', { retryAfterSeconds: 1 });
    }
    // +1: the timestamp check still accepts `signedAt + windowMs` itself.
    this.#expiries.set(nonce, signedAt + this.windowMs + 1);
  }
}

/**
 * Checks an internal request's signature; throws `signature_required` (401)
 * when a header is missing, `bad_signature` (403) when the signature is wrong
 * or its timestamp is outside the window, and — with `replayGuard`, which
 * every server passes — `replayed_request` (403) when its nonce was accepted
 * before. The nonce is recorded only once the signature is right.
 */
export function verifySignedRequest(
  secret: string,
  request: Omit<SignedRequestParts, 'timestamp' | 'nonce'>,
  headers: SignatureHeaders,
  options: { now?: number; windowMs?: number; replayGuard?: ReplayGuard } = {},
): void {
  const { timestamp, nonce, signature } = headers;
  if (typeof timestamp !== 'string' || typeof nonce !== 'string' || typeof signature !== 'string') {
    throw new ChatError('signature_required', 'internal endpoint: signed request required');
  }
  if (!/^\d{1,15}$/.test(timestamp) || !/^[0-9a-f]{32}$/.test(nonce) || !/^[0-9a-f]{64}$/.test(signature)) {
    throw new ChatError('bad_signature', 'malformed signature');
  }
  const now = options.now ?? Date.now();
  const windowMs = options.windowMs ?? options.replayGuard?.windowMs ?? DEFAULT_SIGNATURE_WINDOW_MS;
  const signedAt = Number(timestamp);
  if (Math.abs(now - signedAt) > windowMs) throw new ChatError('bad_signature', 'stale signature');
  const expected = Buffer.from(computeSignature(secret, { ...request, timestamp: signedAt, nonce }), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
    throw new ChatError('bad_signature', 'wrong signature');
  }
  options.replayGuard?.accept(nonce, signedAt, now);
}
