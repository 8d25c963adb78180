import type Router from '@koa/router';
import {
  parseIntegerParameter,
  parseRoomName,
  signatureHeaders,
  verifySignedRequest,
  type RoomEventsInternalAnswer,
} from '@parley/protocol';
import type { RouteDeps } from './route-deps.js';

/** Default and largest `limit` of the internal gap-repair read. */
export const INTERNAL_EVENTS_LIMIT = { default: 500, max: 1000 } as const;

/**
 * `GET /internal/rooms/:room/events?after=N&limit=L`: the chatservers' gap
 * repair. Signed with the shared secret over the path and query exactly as
 * sent; unsigned → 401, wrong or stale → 403, replayed → 403
 * `replayed_request`. Answers the events after `after`
 * and the room's head (0 for a room that does not exist); without `after`,
 * only the head. nginx never routes `/internal/`.
 */
export function registerInternalRoutes(router: Router, deps: RouteDeps): void {
  const { store, config, replayGuard } = deps;

  router.get('/internal/rooms/:room/events', async (ctx) => {
    verifySignedRequest(
      config.secret,
      { method: ctx.method, path: ctx.originalUrl, body: '' },
      signatureHeaders(ctx.req.headers),
      { replayGuard },
    );
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
}
