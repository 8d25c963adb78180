import type Router from '@koa/router';
import type { Context } from 'koa';
import { ChatError, parseNickname, parseUsername } from '@parley/protocol';
import type { ChatStore } from '@parley/store';
import { readJsonBody } from './body.js';
import { clientAddress, isTlsRequest } from './client-address.js';
import { checkPassword } from './passwords.js';
import { publishWrite, type RouteDeps } from './route-deps.js';
import { clearedSessionCookie, hashSessionToken, newSessionToken, sessionCookie } from './session-token.js';

/**
 * Refuses a nickname equal to an account's username (409 `nickname_taken`)
 * unless it is the caller's own: only that account may go by that name.
 */
async function checkNicknameFree(store: ChatStore, nickname: string, username: string | null): Promise<void> {
  const asUsername = nickname.toLowerCase();
  if (asUsername === username) return;
  if ((await store.findAccount(asUsername)) !== undefined) {
    throw new ChatError('nickname_taken', `${nickname} is an account's name: sign in as it, or pick another nickname`);
  }
}

const INVALID_CREDENTIALS = 'unknown username or wrong password';

/** Whether `value` could be a username (a malformed one is just an unknown name to sign-in). */
function isUsername(value: string): boolean {
  try {
    parseUsername(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * Identity endpoints: `POST /api/session` (a guest session with
 * `{"nickname"}`, or signing in with `{"username","password"}`; with the
 * cookie), `GET /api/session`, `DELETE /api/session` (leave every room, clear
 * the cookie) and `POST /api/nick`.
 */
export function registerSessionRoutes(router: Router, deps: RouteDeps): void {
  const { store, authenticate, config } = deps;
  // Secure when configured, or when this request came over TLS.
  const cookieOptions = (ctx: Context) => ({ secure: config.cookieSecure || isTlsRequest(ctx, deps.trustedProxies) });

  router.post('/api/session', async (ctx) => {
    const body = await readJsonBody(ctx);
    const ip = clientAddress(ctx, deps.trustedProxies);
    if (body.username !== undefined || body.password !== undefined) {
      // Signing in. Every refusal is the same 401, after the same argon2 work.
      const username = typeof body.username === 'string' ? body.username : '';
      const password = typeof body.password === 'string' ? body.password : '';
      await deps.limits.signIn(ip);
      const account = isUsername(username) && password !== '' ? await store.findAccount(username) : undefined;
      const matches = await checkPassword(account?.passwordHash, password);
      if (account === undefined || !matches) throw new ChatError('invalid_credentials', INVALID_CREDENTIALS);
      // Always a new token: a session fixed before sign-in never becomes the account's.
      const token = newSessionToken();
      await store.createSession({ tokenHash: hashSessionToken(token), nickname: account.nickname, now: deps.now(), username });
      ctx.status = 201;
      ctx.set('Set-Cookie', sessionCookie(token, cookieOptions(ctx)));
      ctx.body = { session: token, username, nickname: account.nickname };
      return;
    }
    const nickname = parseNickname(body.nickname);
    await deps.limits.createSession(ip);
    await checkNicknameFree(store, nickname, null);
    const token = newSessionToken();
    await store.createSession({ tokenHash: hashSessionToken(token), nickname, now: deps.now() });
    ctx.status = 201;
    ctx.set('Set-Cookie', sessionCookie(token, cookieOptions(ctx)));
    ctx.body = { session: token, nickname };
  });

  router.get('/api/session', async (ctx) => {
    const session = await authenticate(ctx);
    const rooms = await store.sessionRooms(session.id);
    ctx.body = { nickname: session.nickname, username: session.username, rooms };
  });

  router.delete('/api/session', async (ctx) => {
    // Logging out of an expired session still ends it and clears the cookie.
    const session = await authenticate(ctx, { allowExpired: true });
    const rooms = await store.sessionRooms(session.id);
    const write = await store.deleteSession(session.id, deps.now());
    deps.presence?.forget(rooms, session.tokenHash);
    deps.sessionEnded(session.tokenHash);
    ctx.status = 204;
    ctx.set('Set-Cookie', clearedSessionCookie(cookieOptions(ctx)));
    publishWrite(deps, write);
  });

  router.post('/api/nick', async (ctx) => {
    const session = await authenticate(ctx);
    const body = await readJsonBody(ctx);
    const nickname = parseNickname(body.nickname);
    await checkNicknameFree(store, nickname, session.username);
    const write = await store.changeNickname(session.id, nickname, deps.now());
    ctx.body = { nickname };
    publishWrite(deps, write);
  });
}
