import type { Redis } from 'ioredis';
import type { Logger } from '@parley/protocol';
import { createPeriodicTask } from '@parley/protocol/node';
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
  /**
   * Called after a beat that (re)joined the registry: the first one, and any
   * after the entry had expired or vanished (a Redis outage or failover).
   * Workers did not send here before it, and may not for a moment after.
   */
  onJoin?: () => void;
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
 * clock, never this host's), one interval after the previous beat ended (a
 * periodic task). Redis may be down: a failed beat is logged once per outage
 * and the next one tries again; a beat never waits longer than one interval,
 * and beats never pile up.
 */
export function createHeartbeat(options: HeartbeatOptions): Heartbeat {
  const { redis, key, member, intervalMs } = options;
  const log = options.log.child({ member });
  let stopped = false;

  async function beat(): Promise<void> {
    const { joined } = await withTimeout(beatRegistry(redis, key, member, 3 * intervalMs, STALE_ENTRY_MS), intervalMs);
    if (!joined || stopped) return;
    log.info({}, 'joined registry');
    options.onJoin?.();
  }
  const task = createPeriodicTask({ name: 'registry heartbeat', intervalMs, run: beat, log });

  return {
    async start() {
      stopped = false;
      // The failure is logged by the task; the timer's beats try again.
      await task.runOnce().catch(() => undefined);
      if (stopped) return;
      task.start();
    },
    async leave() {
      stopped = true;
      // Waits for a beat in flight: it must not re-add the entry after the ZREM.
      await task.stop();
      try {
        await withTimeout(redis.zrem(key, member), intervalMs);
        log.info({}, 'left registry');
      } catch (error) {
        log.warn({ err: error }, 'leaving registry failed');
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
