import type Router from '@koa/router';
import type { Context } from 'koa';
import { parseNickname } from '@parley/protocol';
import { readJsonBody } from './body.js';
import { clientAddress, isTlsRequest } from './client-address.js';
import { publishWrite, type RouteDeps } from './route-deps.js';
import { clearedSessionCookie, hashSessionToken, newSessionToken, sessionCookie } from './session-token.js';

/**
 * Identity endpoints: `POST /api/session` (create, with the cookie),
 * `GET /api/session`, `DELETE /api/session` (leave every room, clear the
 * cookie) and `POST /api/nick`.
 */
export function registerSessionRoutes(router: Router, deps: RouteDeps): void {
  const { store, authenticate, config } = deps;
  // Secure when configured, or when this request came over TLS.
  const cookieOptions = (ctx: Context) => ({ secure: config.cookieSecure || isTlsRequest(ctx, deps.trustedProxies) });

  router.post('/api/session', async (ctx) => {
    const body = await readJsonBody(ctx);
    const nickname = parseNickname(body.nickname);
    await deps.limits.createSession(clientAddress(ctx, deps.trustedProxies));
    const token = newSessionToken();
    await store.createSession({ tokenHash: hashSessionToken(token), nickname, now: deps.now() });
    ctx.status = 201;
    ctx.set('Set-Cookie', sessionCookie(token, cookieOptions(ctx)));
    ctx.body = { session: token, nickname };
  });

  router.get('/api/session', async (ctx) => {
    const session = await authenticate(ctx);
    const rooms = await store.sessionRooms(session.id);
    ctx.body = { nickname: session.nickname, rooms };
  });

  router.delete('/api/session', async (ctx) => {
    // Logging out of an expired session still ends it and clears the cookie.
    const session = await authenticate(ctx, { allowExpired: true });
    const rooms = await store.sessionRooms(session.id);
    const write = await store.deleteSession(session.id, deps.now());
    deps.presence?.forget(rooms, session.tokenHash);
    ctx.status = 204;
    ctx.set('Set-Cookie', clearedSessionCookie(cookieOptions(ctx)));
    publishWrite(deps, write);
  });

  router.post('/api/nick', async (ctx) => {
    const session = await authenticate(ctx);
    const body = await readJsonBody(ctx);
    const nickname = parseNickname(body.nickname);
    const write = await store.changeNickname(session.id, nickname, deps.now());
    ctx.body = { nickname };
    publishWrite(deps, write);
  });
}
