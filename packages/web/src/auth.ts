import type { Context } from 'koa';
import { ChatError, refuseSessionInUrl } from '@parley/protocol';
import type { ChatStore, SessionRecord } from '@parley/store';
import { isJsonpRequest } from './jsonp.js';
import { SESSION_COOKIE, hashSessionToken, isTokenShaped } from './session-token.js';

/** How a request presented its session. */
export type SessionSource = 'bearer' | 'cookie';

/** A session token and where it came from. */
export interface PresentedToken {
  token: string;
  source: SessionSource;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Finds the session token of a request: `Authorization: Bearer` first, else
 * the `parley_session` cookie. A JSONP GET ignores the cookie: otherwise any
 * page could read a signed-in visitor's session answers by including them as
 * a script; so a `<script>` reads as nobody. A `?session=` is refused (400
 * `session_in_url`), never read: a URL gets logged. Returns `undefined` when
 * none is presented.
 */
export function presentedToken(ctx: Context): PresentedToken | undefined {
  // Most requests (says, enters) carry no query: nothing to parse for them.
  if (ctx.querystring !== '') refuseSessionInUrl(new URLSearchParams(ctx.querystring));
  const authorization = ctx.get('Authorization');
  if (authorization !== '') {
    const match = /^Bearer +(\S+) *$/i.exec(authorization);
    if (match?.[1] === undefined) throw new ChatError('unauthorized', 'Authorization must be "Bearer <session>"');
    return { token: match[1], source: 'bearer' };
  }
  if (isJsonpRequest(ctx)) return undefined;
  const cookie = ctx.cookies.get(SESSION_COOKIE);
  if (cookie !== undefined && cookie !== '') return { token: cookie, source: 'cookie' };
  return undefined;
}

/** A request's session, with the hash of the token it presented (presence names sessions by it). */
export type AuthenticatedSession = SessionRecord & { tokenHash: string };

/** Options of one session check. */
export interface AuthenticateOptions {
  /** Accept an expired session (logout ends it anyway). @default false */
  allowExpired?: boolean;
}

/** Resolves the session of a request or throws; see `createAuthenticator`. */
export type Authenticate = (ctx: Context, options?: AuthenticateOptions) => Promise<AuthenticatedSession>;

/**
 * Builds the session check of endpoints that need one. Throws 401
 * `unauthorized` when no session is presented or it is unknown, and 403
 * `csrf_required` for a cookie-authenticated write without
 * `X-Requested-With: XMLHttpRequest` (a cross-site form cannot set that
 * header; a cross-site script cannot without a preflight we never grant with
 * credentials). The CSRF check runs before the store is asked. A session
 * unused for longer than `sessionTtlMs` is refused with 401 `session_expired`
 * until the purge ends it (then it is unknown: `unauthorized`).
 */
export function createAuthenticator(store: ChatStore, now: () => number = Date.now, sessionTtlMs = Infinity): Authenticate {
  return async (ctx, options = {}) => {
    const presented = presentedToken(ctx);
    if (presented === undefined) throw new ChatError('unauthorized', 'a session is required: POST /api/session first');
    if (presented.source === 'cookie' && !SAFE_METHODS.has(ctx.method) && ctx.get('X-Requested-With') !== 'XMLHttpRequest') {
      throw new ChatError('csrf_required', 'cookie-authenticated writes need the header X-Requested-With: XMLHttpRequest');
    }
    if (!isTokenShaped(presented.token)) throw new ChatError('unauthorized', 'unknown session');
    const tokenHash = hashSessionToken(presented.token);
    const checkedAt = now();
    const session = await store.findSession(tokenHash, checkedAt, sessionTtlMs);
    if (session === undefined) throw new ChatError('unauthorized', 'unknown session');
    // A bot token is long-lived by design: it ends when it is revoked, not when idle.
    const expired = session.botName === null && checkedAt - session.lastSeenAt > sessionTtlMs;
    if (expired && options.allowExpired !== true) {
      throw new ChatError('session_expired', 'this session has expired: POST /api/session for a new one');
    }
    return { ...session, tokenHash };
  };
}

/** Resolves the session of a request if it presents a valid one, else `undefined`; see `createIdentifier`. */
export type Identify = (ctx: Context) => Promise<AuthenticatedSession | undefined>;

/**
 * The caller of a read that anyone may make (room detail, history, the room
 * list, the badge): its session when it presents a usable one, else
 * `undefined` — a missing, malformed, unknown or expired token reads as
 * anonymous, which sees public rooms only.
 */
export function createIdentifier(authenticate: Authenticate): Identify {
  return async (ctx) => {
    try {
      return await authenticate(ctx);
    } catch (error) {
      if (error instanceof ChatError && error.status < 500) return undefined;
      throw error;
    }
  };
}
