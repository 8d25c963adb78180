import type { Redis } from 'ioredis';
import { presenceKey, presenceRoomsKey, type Logger, type RoomName } from '@parley/protocol';

/**
 * The web tier's part of presence (see `presenceKey`). Who is in a room is who
 * observes it: chatservers record observing sessions, the worker's sweeper
 * leaves the ones unseen for the timeout. The web tier records an `enter`, so
 * a session that entered but never observes is swept too, and forgets a
 * session that left by itself, so the sweeper does not leave it twice. Every
 * call is fire and forget: presence never fails a write.
 * `RedisPresence` in production, `MemoryPresence` in route tests.
 */
export interface Presence {
  /** The session was seen in `room` now (it entered). */
  touch(room: RoomName, tokenHash: string): void;
  /** The session left these rooms itself (leave, or its end): forget it there. */
  forget(rooms: readonly RoomName[], tokenHash: string): void;
}

/** Options of `RedisPresence`. */
export interface PresenceOptions {
  /** A connection without offline queue: while Redis is down, presence calls fail at once. */
  redis: Redis;
  /** `PARLEY_REDIS_PREFIX`. */
  prefix: string;
  log: Logger;
  /** Clock of the scores. @default Date.now */
  now?: () => number;
}

/** `Presence` in the cluster's Redis, where the chatservers and the sweeper see it. */
export class RedisPresence implements Presence {
  private failing = false;

  constructor(private readonly options: PresenceOptions) {}

  /** The session was seen in `room` now (it entered). */
  touch(room: RoomName, tokenHash: string): void {
    const { redis, prefix } = this.options;
    const seenAt = (this.options.now ?? Date.now)();
    this.settle(redis.multi().zadd(presenceKey(prefix, room), seenAt, tokenHash).sadd(presenceRoomsKey(prefix), room).exec());
  }

  /** The session left these rooms itself (leave, or its end): forget it there. */
  forget(rooms: readonly RoomName[], tokenHash: string): void {
    if (rooms.length === 0) return;
    const pipeline = this.options.redis.pipeline();
    for (const room of rooms) pipeline.zrem(presenceKey(this.options.prefix, room), tokenHash);
    this.settle(pipeline.exec());
  }

  private settle(done: Promise<Array<[Error | null, unknown]> | null>): void {
    done
      .then((results) => {
        const failure = results?.find(([error]) => error !== null)?.[0];
        if (failure) throw failure;
        this.failing = false;
      })
      .catch((error: unknown) => {
        // One line per outage. A missed forget costs the sweeper one no-op later;
        // a missed touch matters only for a session that then never observes.
        if (!this.failing) this.options.log.warn({ err: error }, 'presence not recorded: redis unavailable');
        this.failing = true;
      });
  }
}

/** `Presence` in memory: who was seen where and when, for route tests. */
export class MemoryPresence implements Presence {
  /** Room → token hash → when it was last seen. */
  readonly seen = new Map<RoomName, Map<string, number>>();

  constructor(private readonly now: () => number = Date.now) {}

  touch(room: RoomName, tokenHash: string): void {
    let members = this.seen.get(room);
    if (members === undefined) this.seen.set(room, (members = new Map()));
    members.set(tokenHash, this.now());
  }

  forget(rooms: readonly RoomName[], tokenHash: string): void {
    for (const room of rooms) this.seen.get(room)?.delete(tokenHash);
  }
}
