import { randomBytes } from 'node:crypto';
import { SESSION_COOKIE } from '@parley/protocol';

/** Lifetime of the session cookie: 30 days, in seconds. */
export const SESSION_COOKIE_MAX_AGE_SECONDS = 30 * 24 * 60 * 60;

/** A new bearer token: 32 random bytes, base64url. */
export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

// The cookie name, the token shape and its hash (the only thing stored) are
// shared with the chatservers, which read sessions for presence.
export { SESSION_COOKIE, isTokenShaped } from '@parley/protocol';
export { hashSessionToken } from '@parley/protocol/node';

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
