import type Router from '@koa/router';
import {
  ChatError,
  parseClientId,
  parseIntegerParameter,
  parseMessageText,
  parseRoomName,
} from '@parley/protocol';
import type { HistoryQuery } from '@parley/store';
import { readJsonBody } from './body.js';
import { clientAddress } from './client-address.js';
import { requireVisibleRoom, roomNotFound } from './room-access.js';
import { publishWrite, type RouteDeps } from './route-deps.js';

/** Rooms listed by `GET /api/rooms`. */
export const ROOM_LIST_LIMIT = 100;
/** Events in the answer of an enter. */
export const ENTER_RECENT_EVENTS = 50;
/** Default and largest `limit` of `GET /api/rooms/:room/events`. */
export const HISTORY_LIMIT = { default: 50, max: 200 } as const;
const SEQ_BOUNDS = { min: 0, max: Number.MAX_SAFE_INTEGER };

/** Reads `after` / `before` / `limit` of a history request, or throws `invalid_parameter`. */
export function parseHistoryQuery(query: Record<string, unknown>): HistoryQuery {
  if (query.after !== undefined && query.before !== undefined) {
    throw new ChatError('invalid_parameter', 'give after or before, not both');
  }
  const limit = parseIntegerParameter('limit', query.limit, { min: 1, max: HISTORY_LIMIT.max }) ?? HISTORY_LIMIT.default;
  const after = parseIntegerParameter('after', query.after, SEQ_BOUNDS);
  if (after !== undefined) return { after, limit };
  const before = parseIntegerParameter('before', query.before, SEQ_BOUNDS);
  if (before !== undefined) return { before, limit };
  return { latest: true, limit };
}

/**
 * Room endpoints: listing and detail (no session needed), history, and the
 * writes enter / leave / say. Every write validates its whole input before
 * the store is called, answers, then publishes its events.
 */
export function registerRoomRoutes(router: Router, deps: RouteDeps): void {
  const { store, authenticate, identify } = deps;

  router.get('/api/rooms', async (ctx) => {
    const caller = await identify(ctx);
    ctx.body = { rooms: await store.listRooms(ROOM_LIST_LIMIT, caller?.username ?? null) };
  });

  router.get('/api/rooms/:room', async (ctx) => {
    const name = parseRoomName(ctx.params.room);
    const caller = await identify(ctx);
    await requireVisibleRoom(store, name, caller?.username ?? null);
    const room = await store.getRoom(name);
    if (room === undefined) throw roomNotFound(name);
    ctx.body = room;
  });

  router.get('/api/rooms/:room/events', async (ctx) => {
    const room = parseRoomName(ctx.params.room);
    const query = parseHistoryQuery(ctx.query);
    const caller = await identify(ctx);
    await requireVisibleRoom(store, room, caller?.username ?? null);
    ctx.body = { events: await store.readEvents(room, query) };
  });

  router.post('/api/rooms/:room/enter', async (ctx) => {
    const room = parseRoomName(ctx.params.room);
    const session = await authenticate(ctx);
    await readJsonBody(ctx, { allowEmpty: true });
    await deps.limits.enter(session.id);
    // The store refuses a hidden private room too (inside the write); this also keeps "dm-" rooms from being created by name.
    await requireVisibleRoom(store, room, session.username);
    const result = await store.enterRoom(session.id, room, deps.now(), ENTER_RECENT_EVENTS);
    deps.presence?.touch(room, session.tokenHash);
    ctx.body = { room: result.room, events: result.recent };
    publishWrite(deps, result);
  });

  router.post('/api/rooms/:room/leave', async (ctx) => {
    const room = parseRoomName(ctx.params.room);
    const session = await authenticate(ctx);
    await readJsonBody(ctx, { allowEmpty: true });
    await requireVisibleRoom(store, room, session.username);
    const write = await store.leaveRoom(session.id, room, deps.now());
    deps.presence?.forget([room], session.tokenHash);
    ctx.status = 204;
    publishWrite(deps, write);
  });

  router.post('/api/rooms/:room/say', async (ctx) => {
    const room = parseRoomName(ctx.params.room);
    const session = await authenticate(ctx);
    const body = await readJsonBody(ctx);
    const text = parseMessageText(body.text);
    const clientId = parseClientId(body.clientId) ?? edgeSayId(ctx.get(EDGE_SAY_ID_HEADER));
    // Charged once the input is valid; an idempotent repeat is given back below.
    const ip = clientAddress(ctx, deps.trustedProxies);
    await deps.limits.say(session.id, ip);
    // Group-committed with the says of the same turn; its events are published by the batcher.
    const result = await deps.says
      .say({
        sessionId: session.id,
        room,
        text,
        now: deps.now(),
        ...(clientId === undefined ? {} : { clientId }),
      })
      .catch(async (error: unknown) => {
        // Not in the room: a private room the caller may not see must look missing (checked only on this cold path).
        if (error instanceof ChatError && error.code === 'not_in_room') await requireVisibleRoom(store, room, session.username);
        throw error;
      });
    ctx.status = 201;
    ctx.body = { event: result.event };
    if (result.duplicate) void deps.limits.refundSay(session.id, ip);
  });
}

/**
 * nginx gives every say without a `clientId` its `$request_id` in this header,
 * so that it can replay a say to another web process when the first one is
 * frozen (no answer within its read timeout): the replay is then idempotent.
 */
export const EDGE_SAY_ID_HEADER = 'x-parley-say-id';

function edgeSayId(header: string): string | undefined {
  if (header === '') return undefined;
  try {
    return parseClientId(header);
  } catch {
    return undefined;
  }
}
