import type Router from '@koa/router';
import {
  ChatError,
  MAX_PRESENCE_EXPIRE_HASHES,
  PRESENCE_EXPIRE_PATH,
  parseRoomName,
  type PresenceExpireAnswer,
  type PresenceExpireBody,
} from '@parley/protocol';
import { parseInternalJsonBody } from '@parley/protocol/node';
import { publishWrite, readSignedInternalRequest, type RouteDeps } from './route-deps.js';

// 1000 hashes of 64 hex characters with quotes and commas, plus the room: ~68 KiB.
const MAX_EXPIRE_BODY_BYTES = 128 * 1024;
const TOKEN_HASH_SHAPE = /^[0-9a-f]{64}$/;

/** Parses and shape-checks a `PresenceExpireBody`, or throws `invalid_body` / `invalid_room`. */
export function parsePresenceExpireBody(body: Buffer): PresenceExpireBody {
  const value = parseInternalJsonBody(body, 'presence expire');
  const { room, tokenHashes } = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (
    !Array.isArray(tokenHashes) ||
    tokenHashes.length > MAX_PRESENCE_EXPIRE_HASHES ||
    !tokenHashes.every((hash): hash is string => typeof hash === 'string' && TOKEN_HASH_SHAPE.test(hash))
  ) {
    throw new ChatError(
      'invalid_body',
      `presence expire body must be {"room","tokenHashes":[at most ${MAX_PRESENCE_EXPIRE_HASHES} sha256 hex strings]}`,
    );
  }
  return { room: parseRoomName(room), tokenHashes };
}

/**
 * `POST /internal/presence/expire` `{"room","tokenHashes":[...]}`: the worker's
 * presence sweeper reports sessions (by token hash) that have not observed
 * `room` for the presence timeout. Each one that names a live session in the
 * room leaves it with an ordinary `leave` event, stored and notified like any
 * write; unknown hashes and non-members are ignored, so a repeated request
 * changes nothing. Signed over the raw body: unsigned → 401, wrong or stale
 * → 403, replayed → 403 `replayed_request`. Answers `{"left":n}`. nginx never routes `/internal/`.
 */
export function registerPresenceRoutes(router: Router, deps: RouteDeps): void {
  const { store, config, log } = deps;

  router.post(PRESENCE_EXPIRE_PATH, async (ctx) => {
    const body = await readSignedInternalRequest(ctx, deps, MAX_EXPIRE_BODY_BYTES);
    const { room, tokenHashes } = parsePresenceExpireBody(body);
    let left = 0;
    for (const tokenHash of new Set(tokenHashes)) {
      // With the TTL, so the sweeper (not a use of the session) never revives an expired one.
      const session = await store.findSession(tokenHash, deps.now(), config.sessionTtlMs);
      if (session === undefined) continue;
      const write = await store.leaveRoom(session.id, room, deps.now()).catch((error: unknown) => {
        if (error instanceof ChatError && error.code === 'room_not_found') return undefined;
        throw error;
      });
      // No such room: nobody is in it to leave.
      if (write === undefined) break;
      if (write.events.length === 0) continue;
      left++;
      publishWrite(deps, write);
    }
    if (left > 0) log.info({ room, left }, 'sessions left after they stopped observing');
    ctx.body = { left } satisfies PresenceExpireAnswer;
  });
}
