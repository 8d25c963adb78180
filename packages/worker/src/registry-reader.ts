import { registryKey } from '@parley/protocol';
import { liveRegistryMembers } from '@parley/protocol/redis';
import type { Redis } from 'ioredis';

/**
 * The internal base URLs of the chatservers whose heartbeat has not expired by
 * Redis's clock (registry score > Redis TIME), in score order. One script.
 */
export async function liveChatservers(redis: Redis, prefix: string): Promise<string[]> {
  return liveRegistryMembers(redis, registryKey(prefix));
}

/** Options of `createRegistryReader`. */
export interface RegistryReaderOptions {
  redis: Redis;
  /** Registry key prefix (`PARLEY_REDIS_PREFIX`). */
  prefix: string;
  /**
   * How long one answer is reused. A burst of jobs then costs one lookup; it is
   * far below the 3-heartbeat expiry, so a dead chatserver is dropped almost as
   * soon as its entry expires and a new one is seen almost at once.
   * @default 250
   */
  maxAgeMs?: number;
}

/** Cached reader of the live chatservers. */
export interface RegistryReader {
  /**
   * Live chatserver URLs by Redis's clock; concurrent and recent calls share
   * one lookup (`now`, this host's clock, only ages the cached answer).
   */
  live(now?: number): Promise<string[]>;
}

/** Builds a `RegistryReader` that caches `liveChatservers` for at most `maxAgeMs`. */
export function createRegistryReader(options: RegistryReaderOptions): RegistryReader {
  const maxAgeMs = options.maxAgeMs ?? 250;
  let cached: { startedAt: number; answer: Promise<string[]> } | undefined;

  return {
    live(now = Date.now()) {
      if (cached !== undefined && now - cached.startedAt < maxAgeMs && now >= cached.startedAt) return cached.answer;
      const answer = liveChatservers(options.redis, options.prefix);
      const entry = { startedAt: now, answer };
      cached = entry;
      // A failed lookup must not be served to the next caller: forget it.
      answer.catch(() => {
        if (cached === entry) cached = undefined;
      });
      return answer;
    },
  };
}
