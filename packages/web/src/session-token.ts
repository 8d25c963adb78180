import { randomBytes } from 'node:crypto';

/** Name of the session cookie. */
export const SESSION_COOKIE = 'parley_session';
/** Lifetime of the session cookie: 30 days, in seconds. */
export const SESSION_COOKIE_MAX_AGE_SECONDS = 30 * 24 * 60 * 60;
// 32 random bytes in base64url are 43 characters; anything far from that
// shape is refused without a database lookup.
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{20,128}$/;

/** A new bearer token: 32 random bytes, base64url. */
export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

// The token itself is never stored, only its SHA-256 (shared with the chatservers' presence).
export { hashSessionToken } from '@parley/protocol';

/** Could `token` be one of ours? */
export function isTokenShaped(token: string): boolean {
  return TOKEN_SHAPE.test(token);
}

/** Options of the session cookie. */
export interface SessionCookieOptions {
  /** Add `Secure` (behind TLS). @default false */
  secure?: boolean;
}

function attributes(maxAgeSeconds: number, options: SessionCookieOptions): string {
  const secure = options.secure === true ? '; Secure' : '';
  return `Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax${secure}`;
}

/**
 * The `Set-Cookie` value that stores a session. Written by hand rather than
 * with Koa's cookies, which refuse `Secure` on the plain HTTP hop behind a
 * TLS-terminating proxy.
 */
export function sessionCookie(token: string, options: SessionCookieOptions = {}): string {
  return `${SESSION_COOKIE}=${token}; ${attributes(SESSION_COOKIE_MAX_AGE_SECONDS, options)}`;
}

/** The `Set-Cookie` value that removes the session cookie. */
export function clearedSessionCookie(options: SessionCookieOptions = {}): string {
  return `${SESSION_COOKIE}=; ${attributes(0, options)}`;
}
