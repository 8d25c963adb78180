import {
  PRESENCE_EXPIRE_PATH,
  presenceKey,
  presenceRoomsKey,
  presenceSweepLockKey,
  type Logger,
  type PresenceExpireAnswer,
  type PresenceExpireBody,
  type RoomName,
} from '@parley/protocol';
import { signRequest } from '@parley/protocol/node';
import type { Redis } from 'ioredis';
import { request } from 'undici';

/** Options of `createPresenceSweeper`. */
export interface PresenceSweeperOptions {
  /** A connection that fails rather than queues while Redis is down (a sweep is retried next tick). */
  redis: Redis;
  /** `PARLEY_REDIS_PREFIX`. */
  prefix: string;
  /** HMAC secret of internal requests. */
  secret: string;
  /** Web base URLs (only their origin is used), tried in turn. */
  webUrls: readonly string[];
  /** A session unseen in a room for this long leaves it. */
  timeoutMs: number;
  /** Sweep interval. */
  sweepMs: number;
  log: Logger;
  /** Bound on one request to one web process. @default 2000 */
  requestTimeoutMs?: number;
  /** Stale members handed to the web tier per request. @default 500 */
  batchSize?: number;
  /** @default Date.now */
  now?: () => number;
}

/** What one sweep did. */
export interface SweepResult {
  /** False when another worker held this tick's lock. */
  swept: boolean;
  /** Stale entries found (and handed to the web tier). */
  stale: number;
  /** Sessions the web tier made leave. */
  left: number;
}

/** The cluster's presence sweeper (one worker of the cluster works per tick). */
export interface PresenceSweeper {
  /** Sweeps every `sweepMs` (an unref'd timer; a tick is skipped while a sweep runs). */
  start(): void;
  /** One sweep now, if this worker gets the tick's lock. Rejects when Redis or the web tier failed. */
  sweep(): Promise<SweepResult>;
  /** Stops the timer and waits for a sweep in progress. */
  close(): Promise<void>;
}

// Removes the given members only if their score is STILL at or below the
// cutoff: a session that observed again while the web tier was asked keeps its
// entry. Then drops the room from the index when its set is empty; a chatserver
// that touches the room later adds it back (its SADD follows its ZADD).
// KEYS: room zset, rooms index. ARGV: cutoff, room, members...
const REMOVE_IF_STILL_STALE = `
local removed = 0
for i = 3, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) <= tonumber(ARGV[1]) then
    removed = removed + redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[2]) end
return removed`;

/**
 * Builds the presence sweeper. A sweep takes the tick's lock (`SET NX PX`,
 * held for most of an interval, so of several workers one sweeps per tick and
 * a tick is never lost to its own previous lock), scans the rooms index, takes
 * each room's members last seen more than `timeoutMs` ago, POSTs them signed
 * to `POST /internal/presence/expire` on the first web process that answers,
 * and then removes from the room's set only the members that are still stale.
 * A failure stops the sweep, is logged once, and everything is retried on the
 * next tick: nothing is removed from Redis before the web tier confirmed.
 */
export function createPresenceSweeper(options: PresenceSweeperOptions): PresenceSweeper {
  const { redis, prefix, secret, timeoutMs, sweepMs } = options;
  if (options.webUrls.length === 0) throw new Error('the presence sweeper needs at least one web URL');
  const log = options.log.child({ component: 'presence-sweeper' });
  const now = options.now ?? Date.now;
  const requestTimeoutMs = options.requestTimeoutMs ?? 2000;
  const batchSize = options.batchSize ?? 500;
  const origins = options.webUrls.map((url) => new URL(url).origin);
  // 80 % of an interval: our own next tick finds it expired, another worker's
  // tick inside this interval finds it held.
  const lockMs = Math.max(50, Math.floor(sweepMs * 0.8));
  const lockToken = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  // Start at the web process that answered last; move on after a failure.
  let preferred = 0;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let failing = false;

  async function postExpire(body: PresenceExpireBody): Promise<number> {
    const text = JSON.stringify(body);
    let lastError = '';
    for (let attempt = 0; attempt < origins.length; attempt++) {
      // Signed per attempt: a web process accepts each nonce once.
      const headers = {
        'content-type': 'application/json',
        ...signRequest(secret, { method: 'POST', path: PRESENCE_EXPIRE_PATH, body: text }),
      };
      const index = (preferred + attempt) % origins.length;
      const origin = origins[index] as string;
      try {
        const response = await request(`${origin}${PRESENCE_EXPIRE_PATH}`, {
          method: 'POST',
          headers,
          body: text,
          signal: AbortSignal.timeout(requestTimeoutMs),
        });
        if (response.statusCode !== 200) {
          await response.body.dump();
          throw new Error(`answered ${response.statusCode}`);
        }
        const answer = (await response.body.json()) as Partial<PresenceExpireAnswer>;
        preferred = index;
        return typeof answer.left === 'number' ? answer.left : 0;
      } catch (error) {
        lastError = `${origin}: ${(error as Error).message}`;
      }
    }
    throw new Error(`no web process took the expired presence (${lastError})`);
  }

  async function sweepRoom(room: RoomName, cutoff: number, result: SweepResult): Promise<void> {
    const key = presenceKey(prefix, room);
    for (;;) {
      const stale = await redis.zrangebyscore(key, '-inf', cutoff, 'LIMIT', 0, batchSize);
      if (stale.length > 0) {
        result.stale += stale.length;
        result.left += await postExpire({ room, tokenHashes: stale });
      }
      await redis.eval(REMOVE_IF_STILL_STALE, 2, key, presenceRoomsKey(prefix), cutoff, room, ...stale);
      if (stale.length < batchSize) return;
    }
  }

  async function sweep(): Promise<SweepResult> {
    const result: SweepResult = { swept: false, stale: 0, left: 0 };
    const locked = await redis.set(presenceSweepLockKey(prefix), lockToken, 'PX', lockMs, 'NX');
    if (locked !== 'OK') return result;
    result.swept = true;
    // Strictly older than the timeout (ZRANGEBYSCORE bounds are inclusive, hence -1).
    const cutoff = now() - timeoutMs - 1;
    let cursor = '0';
    do {
      const [next, rooms] = await redis.sscan(presenceRoomsKey(prefix), cursor, 'COUNT', 200);
      cursor = next;
      for (const room of rooms) await sweepRoom(room, cutoff, result);
    } while (cursor !== '0');
    if (result.stale > 0) log.info({ stale: result.stale, left: result.left }, 'stale presence swept');
    return result;
  }

  function tick(): void {
    // No overlap: while a sweep runs (a slow web tier), ticks are skipped.
    if (running !== undefined) return;
    running = sweep()
      .then(() => {
        if (failing) log.info({}, 'presence sweep works again');
        failing = false;
      })
      .catch((error: unknown) => {
        if (!failing) log.warn({ error: (error as Error).message }, 'presence sweep failed: retrying every tick');
        failing = true;
      })
      .finally(() => {
        running = undefined;
      });
  }

  return {
    start() {
      if (timer !== undefined) return;
      timer = setInterval(tick, sweepMs);
      timer.unref();
    },
    sweep,
    async close() {
      clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
