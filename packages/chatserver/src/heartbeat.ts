import type { Redis } from 'ioredis';
import type { Logger } from '@parley/protocol';
import { beatRegistry } from '@parley/protocol/redis';

/** Options of `createHeartbeat`. */
export interface HeartbeatOptions {
  redis: Redis;
  /** The registry's sorted set, `registryKey(prefix)`. */
  key: string;
  /** This chatserver's advertised internal base URL. */
  member: string;
  /** Beat period; the entry expires after 3 beats, so two may be lost. */
  intervalMs: number;
  log: Logger;
}

/** Registry membership of one chatserver. */
export interface Heartbeat {
  /** Beats once (awaited, errors logged) and then every `intervalMs`. */
  start(): Promise<void>;
  /** Stops beating and removes the entry, so workers stop sending at once. */
  leave(): Promise<void>;
}

// Registry entries whose heartbeat expired this long ago belong to chatservers
// that died without leaving; an hour is far beyond any clock skew between hosts.
const STALE_ENTRY_MS = 60 * 60 * 1000;

/**
 * Keeps `member` in the registry: score Redis's now + 3 × interval (Redis's
 * clock, never this host's), every interval. Redis may be down: a failed beat is logged and the next one tries
 * again; a beat never waits longer than one interval, and beats never pile up.
 */
export function createHeartbeat(options: HeartbeatOptions): Heartbeat {
  const { redis, key, member, intervalMs, log } = options;
  let timer: NodeJS.Timeout | undefined;
  let beating: Promise<void> | undefined;
  let stopped = false;
  let failing = false;

  async function beatOnce(): Promise<void> {
    try {
      await withTimeout(beatRegistry(redis, key, member, 3 * intervalMs, STALE_ENTRY_MS), intervalMs);
      if (failing) log.info({ member }, 'registry heartbeat restored');
      failing = false;
    } catch (error) {
      if (!failing) log.warn({ member, error: (error as Error).message }, 'registry heartbeat failed');
      failing = true;
    }
  }

  function beat(): Promise<void> {
    // Skip a beat while the previous one is still waiting for Redis.
    beating ??= beatOnce().finally(() => {
      beating = undefined;
    });
    return beating;
  }

  return {
    async start() {
      stopped = false;
      await beat();
      if (stopped) return;
      timer = setInterval(() => void beat(), intervalMs);
      timer.unref();
    },
    async leave() {
      stopped = true;
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      // A beat in flight must not re-add the entry after the ZREM.
      await beating;
      try {
        await withTimeout(redis.zrem(key, member), intervalMs);
        log.info({ member }, 'left registry');
      } catch (error) {
        log.warn({ member, error: (error as Error).message }, 'leaving registry failed');
      }
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`redis did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
