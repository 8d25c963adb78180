import type Router from '@koa/router';
import { parseIntegerParameter, parseMessageText, parseRoomName, parseSearchWords } from '@parley/protocol';
import { readJsonBody } from './body.js';
import { clientAddress } from './client-address.js';
import { publishWrite, type RouteDeps } from './route-deps.js';
import { requireVisibleRoom } from './room-access.js';

/** Default and largest `limit` of `GET /api/rooms/:room/search`. */
export const SEARCH_LIMIT = { default: 20, max: 100 } as const;
const SEQ_PARAMETER = { min: 1, max: Number.MAX_SAFE_INTEGER };

/** Reads the `:seq` of a message path, or throws `invalid_parameter`. */
function parseTargetSeq(value: unknown): number {
  const seq = parseIntegerParameter('seq', value, SEQ_PARAMETER);
  if (seq === undefined) throw new Error('the route always has a seq');
  return seq;
}

/**
 * Changes of stored messages and search: `PATCH` (edit) and `DELETE` of
 * `/api/rooms/:room/events/:seq`, and `GET /api/rooms/:room/search`. Edits
 * and deletions are events of the room's seq stream like says, published
 * after the answer; who may make them is the store's `authorizeMessageChange`
 * (its author; the room's owner may delete any). A private room a caller may
 * not read is a missing room here too (`requireVisibleRoom`).
 * They count as says against the abuse limits.
 */
export function registerMessageRoutes(router: Router, deps: RouteDeps): void {
  const { store, authenticate, identify } = deps;

  router.patch('/api/rooms/:room/events/:seq', async (ctx) => {
    const room = parseRoomName(ctx.params.room);
    const target = parseTargetSeq(ctx.params.seq);
    const session = await authenticate(ctx);
    const body = await readJsonBody(ctx);
    const text = parseMessageText(body.text);
    await requireVisibleRoom(store, room, session.username);
    await deps.limits.say(session.id, clientAddress(ctx, deps.trustedProxies));
    const result = await store.editMessage({ sessionId: session.id, room, target, text, now: deps.now() });
    ctx.body = { event: result.event };
    publishWrite(deps, result);
  });

  router.delete('/api/rooms/:room/events/:seq', async (ctx) => {
    const room = parseRoomName(ctx.params.room);
    const target = parseTargetSeq(ctx.params.seq);
    const session = await authenticate(ctx);
    await requireVisibleRoom(store, room, session.username);
    await deps.limits.say(session.id, clientAddress(ctx, deps.trustedProxies));
    const result = await store.deleteMessage({ sessionId: session.id, room, target, now: deps.now() });
    ctx.status = 204;
    publishWrite(deps, result);
  });

  // Readable by whoever may read the room's history: anyone for a public room, members for a private one.
  router.get('/api/rooms/:room/search', async (ctx) => {
    const room = parseRoomName(ctx.params.room);
    const words = parseSearchWords(ctx.query.q);
    const limit = parseIntegerParameter('limit', ctx.query.limit, { min: 1, max: SEARCH_LIMIT.max }) ?? SEARCH_LIMIT.default;
    const caller = await identify(ctx);
    await requireVisibleRoom(store, room, caller?.username ?? null);
    ctx.body = { events: await store.searchMessages(room, { words, limit }) };
  });
}
