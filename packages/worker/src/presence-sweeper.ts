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
import { createPeriodicTask, createSignedClient } from '@parley/protocol/node';
import type { Redis } from 'ioredis';

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
  /** Sweeps `sweepMs` after the end of each sweep (a periodic task: unref'd, never overlapping). */
  start(): void;
  /**
   * One sweep now (shared with a sweep under way), if this worker gets the
   * tick's lock. Rejects when Redis or the web tier failed.
   */
  sweep(): Promise<SweepResult>;
  /** Stops the timer and waits for a sweep in progress; closes the web client. */
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
 * A failure stops the sweep, is logged once per outage, and everything is
 * retried on the next tick: nothing is removed from Redis before the web tier
 * confirmed.
 */
export function createPresenceSweeper(options: PresenceSweeperOptions): PresenceSweeper {
  const { redis, prefix, timeoutMs, sweepMs } = options;
  if (options.webUrls.length === 0) throw new Error('the presence sweeper needs at least one web URL');
  const log = options.log.child({ component: 'presence-sweeper' });
  const now = options.now ?? Date.now;
  const batchSize = options.batchSize ?? 500;
  // No log of its own: a failed sweep is logged once per outage by the periodic task.
  const web = createSignedClient({ urls: options.webUrls, secret: options.secret, timeoutMs: options.requestTimeoutMs ?? 2000 });
  // 80 % of an interval: our own next tick finds it expired, another worker's
  // tick inside this interval finds it held.
  const lockMs = Math.max(50, Math.floor(sweepMs * 0.8));
  const lockToken = `${process.pid}-${Math.random().toString(36).slice(2)}`;

  async function postExpire(body: PresenceExpireBody): Promise<number> {
    try {
      return await web.request({ method: 'POST', path: PRESENCE_EXPIRE_PATH, body: JSON.stringify(body) }, (json) => {
        const answer = json as Partial<PresenceExpireAnswer> | null;
        return typeof answer?.left === 'number' ? answer.left : 0;
      });
    } catch (error) {
      throw new Error(`no web process took the expired presence (${(error as Error).message})`, { cause: error });
    }
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

  const task = createPeriodicTask({ name: 'presence sweep', intervalMs: sweepMs, run: sweep, log });

  return {
    start: () => task.start(),
    sweep: () => task.runOnce(),
    async close() {
      await task.stop();
      await web.close();
    },
  };
}
