import type Router from '@koa/router';
import type { Context } from 'koa';
import {
  ChatError,
  isDirectRoomName,
  parseNickname,
  parsePassword,
  parseRoomName,
  parseUsername,
  type RoomVisibility,
} from '@parley/protocol';
import { signObserveTicket } from '@parley/protocol/node';
import { readJsonBody } from './body.js';
import { clientAddress, isTlsRequest } from './client-address.js';
import { hashPassword } from './passwords.js';
import { directRoomName, requireAccount, requirePersonAccount, requireVisibleRoom, roomNotFound } from './room-access.js';
import { publishWrite, type RouteDeps } from './route-deps.js';
import { hashSessionToken, newSessionToken, sessionCookie } from './session-token.js';

/**
 * Accounts and what only accounts do: `POST /api/accounts` (sign-up),
 * `POST /api/rooms` (a public or private room), private room members
 * (`POST`/`DELETE /api/rooms/:room/members`), `POST /api/dm`, bot tokens
 * (`/api/tokens`) and `POST /api/observe-ticket`. Sign-in is
 * `POST /api/session` (session-routes.ts).
 */
export function registerIdentityRoutes(router: Router, deps: RouteDeps): void {
  const { store, authenticate } = deps;
  const cookieOptions = (ctx: Context) => ({ secure: deps.config.cookieSecure || isTlsRequest(ctx, deps.trustedProxies) });

  router.post('/api/accounts', async (ctx) => {
    const body = await readJsonBody(ctx);
    const username = parseUsername(body.username);
    const password = parsePassword(body.password);
    const nickname = body.nickname === undefined ? username : parseNickname(body.nickname);
    await deps.limits.signUp(clientAddress(ctx, deps.trustedProxies));
    if ((await store.findAccount(username)) !== undefined) throw new ChatError('username_taken', `username ${username} is taken`);
    const now = deps.now();
    await store.createAccount({ username, passwordHash: await hashPassword(password), nickname, now });
    const token = newSessionToken();
    await store.createSession({ tokenHash: hashSessionToken(token), nickname, now, username });
    ctx.status = 201;
    ctx.set('Set-Cookie', sessionCookie(token, cookieOptions(ctx)));
    ctx.body = { session: token, username, nickname };
  });

  router.post('/api/rooms', async (ctx) => {
    const session = await authenticate(ctx);
    const body = await readJsonBody(ctx);
    const room = parseRoomName(body.name);
    if (isDirectRoomName(room)) throw new ChatError('invalid_room', 'room names starting with "dm-" are reserved for direct messages');
    const visibility = parseVisibility(body.visibility);
    const owner = visibility === 'private' ? requireAccount(session, 'a private room') : session.username;
    ctx.status = 201;
    ctx.body = { room: await store.createRoom({ room, visibility, owner, now: deps.now() }) };
  });

  router.post('/api/rooms/:room/members', async (ctx) => {
    const room = parseRoomName(ctx.params.room);
    const session = await authenticate(ctx);
    const body = await readJsonBody(ctx);
    const username = parseUsername(body.username);
    await requireOwner(deps, room, session.username);
    if ((await store.findAccount(username)) === undefined) throw new ChatError('not_found', `no account named ${username}`);
    await store.addMember(room, username, deps.now());
    ctx.status = 204;
  });

  router.delete('/api/rooms/:room/members/:username', async (ctx) => {
    const room = parseRoomName(ctx.params.room);
    const username = parseUsername(ctx.params.username);
    const session = await authenticate(ctx);
    const owner = await requireOwner(deps, room, session.username);
    if (username === owner) throw new ChatError('forbidden', 'the owner cannot remove themselves from their room');
    const write = await store.removeMember({ room, username, bySessionId: session.id, now: deps.now() });
    ctx.status = 204;
    publishWrite(deps, write);
  });

  router.post('/api/dm', async (ctx) => {
    const session = await authenticate(ctx);
    const me = requireAccount(session, 'a direct message');
    const body = await readJsonBody(ctx);
    const other = parseUsername(body.username);
    if (other === me) throw new ChatError('invalid_username', 'a direct message needs another account');
    if ((await store.findAccount(other)) === undefined) throw new ChatError('not_found', `no account named ${other}`);
    const room = directRoomName(me, other);
    await store.ensureDirectRoom({ room, a: me, b: other, now: deps.now() });
    ctx.body = { room: await store.roomSummary(room) };
  });

  router.post('/api/tokens', async (ctx) => {
    const session = await authenticate(ctx);
    const username = requirePersonAccount(session, 'a bot token');
    const body = await readJsonBody(ctx);
    // The token's name is its bot's nickname on every event it writes.
    const name = parseNickname(body.name);
    const token = newSessionToken();
    const created = await store.createSession({ tokenHash: hashSessionToken(token), nickname: name, now: deps.now(), username, botName: name });
    ctx.status = 201;
    ctx.body = { id: created.id, name, token, createdAt: created.createdAt };
  });

  router.get('/api/tokens', async (ctx) => {
    const session = await authenticate(ctx);
    const username = requirePersonAccount(session, 'listing bot tokens');
    ctx.body = { tokens: await store.listBotTokens(username) };
  });

  router.delete('/api/tokens/:id', async (ctx) => {
    const session = await authenticate(ctx);
    const username = requirePersonAccount(session, 'revoking a bot token');
    const revoked = await store.revokeBotToken(username, ctx.params.id ?? '', deps.now());
    if (revoked === undefined) throw new ChatError('not_found', 'no such token');
    deps.presence?.forget(revoked.write.events.map((event) => event.room), revoked.tokenHash);
    deps.sessionEnded(revoked.tokenHash);
    ctx.status = 204;
    publishWrite(deps, revoked.write);
  });

  router.post('/api/observe-ticket', async (ctx) => {
    const session = await authenticate(ctx);
    const body = await readJsonBody(ctx);
    const room = parseRoomName(body.room);
    await requireVisibleRoom(store, room, session.username);
    if ((await store.roomSummary(room)) === undefined) throw roomNotFound(room);
    const expiresAt = deps.now() + deps.config.observeTicketTtlMs;
    ctx.status = 201;
    ctx.body = { ticket: signObserveTicket(deps.config.secret, { room, expiresAt }), room, expiresAt };
  });
}

function parseVisibility(value: unknown): RoomVisibility {
  if (value === undefined || value === 'public') return 'public';
  if (value === 'private') return 'private';
  throw new ChatError('invalid_body', 'visibility must be "public" or "private"');
}

/**
 * The owner of a private room, when it is `username`; else a room the caller
 * cannot see is missing (404) and one it can see but does not own is 403.
 */
async function requireOwner(deps: RouteDeps, room: string, username: string | null): Promise<string> {
  await requireVisibleRoom(deps.store, room, username);
  const info = await deps.store.roomInfo(room);
  if (info === undefined) throw roomNotFound(room);
  if (info.visibility !== 'private' || info.owner === null || info.owner !== username) {
    throw new ChatError('forbidden', 'only the owner of a private room manages its members');
  }
  return info.owner;
}
