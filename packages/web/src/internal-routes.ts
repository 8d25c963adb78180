import type Router from '@koa/router';
import {
  ChatError,
  MAX_ACCESS_ROOMS,
  MAX_ROOM_HEADS,
  ROOM_ACCESS_PATH,
  ROOM_HEADS_PATH,
  type RoomAccessAnswer,
  type RoomAccessKind,
  parseIntegerParameter,
  parseRoomName,
  type RoomEventsInternalAnswer,
  type RoomHeadsAnswer,
  type RoomName,
} from '@parley/protocol';
import { parseInternalJsonBody } from '@parley/protocol/node';
import { readSignedInternalRequest, type RouteDeps } from './route-deps.js';

/** Default and largest `limit` of the internal gap-repair read. */
export const INTERNAL_EVENTS_LIMIT = { default: 500, max: 1000 } as const;

// 1000 room names of at most 64 characters with quotes and commas: ~67 KiB.
const MAX_HEADS_BODY_BYTES = 128 * 1024;

/** Parses a `RoomHeadsBody` into distinct room names, or throws `invalid_body` / `invalid_room`. */
export function parseRoomHeadsBody(body: Buffer): RoomName[] {
  const value = parseInternalJsonBody(body, 'heads');
  const { rooms } = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (!Array.isArray(rooms) || rooms.length > MAX_ROOM_HEADS) {
    throw new ChatError('invalid_body', `heads body must be {"rooms":[at most ${MAX_ROOM_HEADS} room names]}`);
  }
  return [...new Set(rooms.map((room) => parseRoomName(room)))];
}

/** Parses a `RoomAccessBody`, or throws `invalid_body` / `invalid_room`. */
export function parseRoomAccessBody(body: Buffer): { session: string | null; rooms: RoomName[] } {
  const value = parseInternalJsonBody(body, 'access');
  const { session, rooms } = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (!Array.isArray(rooms) || rooms.length > MAX_ACCESS_ROOMS || (session !== null && !/^[0-9a-f]{64}$/.test(String(session)))) {
    throw new ChatError('invalid_body', `access body must be {"session":token hash or null,"rooms":[at most ${MAX_ACCESS_ROOMS} room names]}`);
  }
  return { session: session as string | null, rooms: [...new Set(rooms.map((room) => parseRoomName(room)))] };
}

/**
 * `GET /internal/rooms/:room/events?after=N&limit=L`: the chatservers' gap
 * repair. Signed with the shared secret over the path and query exactly as
 * sent; unsigned → 401, wrong or stale → 403, replayed → 403
 * `replayed_request`. Answers the events after `after`
 * and the room's head (0 for a room that does not exist); without `after`,
 * only the head. nginx never routes `/internal/`.
 *
 * `POST /internal/heads` `{"rooms":[...]}` → `{"heads":{room:seq}}`: the
 * chatservers' periodic catch-up, one request for every room they hold
 * observers of (at most 1000; 0 for a room that does not exist). Signed over
 * the raw body like the presence route.
 */
export function registerInternalRoutes(router: Router, deps: RouteDeps): void {
  const { store } = deps;

  router.get('/internal/rooms/:room/events', async (ctx) => {
    await readSignedInternalRequest(ctx, deps, 0);
    const room = parseRoomName(ctx.params.room);
    const after = parseIntegerParameter('after', ctx.query.after, { min: 0, max: Number.MAX_SAFE_INTEGER });
    const limit =
      parseIntegerParameter('limit', ctx.query.limit, { min: 1, max: INTERNAL_EVENTS_LIMIT.max }) ??
      INTERNAL_EVENTS_LIMIT.default;
    const head = await store.roomSeq(room);
    let answer: RoomEventsInternalAnswer;
    if (head === undefined) {
      answer = { events: [], seq: 0 };
    } else {
      const events = after === undefined ? [] : await store.readEvents(room, { after, limit });
      // Events committed between the two reads may be newer than `head`; the
      // head must never be behind the events answered.
      const last = events.at(-1)?.seq ?? 0;
      answer = { events, seq: Math.max(head, last) };
    }
    ctx.body = answer;
  });

  // The chatservers' membership check (room-access.ts there): which rooms of
  // an observe's cursor its session may read. An unknown or expired session is anonymous.
  router.post(ROOM_ACCESS_PATH, async (ctx) => {
    const body = await readSignedInternalRequest(ctx, deps, MAX_HEADS_BODY_BYTES);
    const { session: tokenHash, rooms } = parseRoomAccessBody(body);
    const now = deps.now();
    const session = tokenHash === null ? undefined : await store.findSession(tokenHash, now, deps.config.sessionTtlMs);
    const live = session !== undefined && (session.botName !== null || now - session.lastSeenAt <= deps.config.sessionTtlMs);
    const known = await store.roomAccess(rooms, live ? session.username : null);
    const access: Record<RoomName, RoomAccessKind> = {};
    for (const room of rooms) access[room] = known.get(room) ?? 'missing';
    ctx.body = { access, sessionLive: live } satisfies RoomAccessAnswer;
  });

  router.post(ROOM_HEADS_PATH, async (ctx) => {
    const body = await readSignedInternalRequest(ctx, deps, MAX_HEADS_BODY_BYTES);
    const rooms = parseRoomHeadsBody(body);
    const known = await store.roomHeads(rooms);
    const heads: Record<RoomName, number> = {};
    for (const room of rooms) heads[room] = known.get(room) ?? 0;
    ctx.body = { heads } satisfies RoomHeadsAnswer;
  });
}
