import { Redis, SentinelConnector, type RedisOptions, type SentinelConnectionOptions } from 'ioredis';
import type { Logger } from '../logger.js';
import type { CommonConfig } from '../node/config.js';

/** Where Redis is: the `PARLEY_REDIS_*` settings of `CommonConfig`. */
export type RedisSettings = Pick<CommonConfig, 'redisUrl' | 'redisSentinels' | 'redisMaster'>;

/**
 * What a connection is for.
 * - `fail-fast`: request paths, heartbeats, sweeps, rate limits, BullMQ
 *   producers. While Redis is unreachable a command fails at once (no offline
 *   queue, one retry) and the caller's own retry carries the work: the
 *   database outbox, the next heartbeat, the next sweep.
 * - `blocking`: BullMQ workers. Commands wait out an outage or a failover
 *   (`maxRetriesPerRequest: null`, as BullMQ requires) and are sent again on
 *   the new primary; BullMQ reconnects its blocking duplicate itself.
 */
export type RedisConnectionKind = 'fail-fast' | 'blocking';

// Reconnect quickly at first (a failover takes seconds), never slower than
// once a second, and never give up: the process outlives any Redis outage.
const RECONNECT_STEP_MS = 50;
const RECONNECT_MAX_MS = 1000;
// Past a few attempts every Sentinel is unreachable (a partition): keep asking,
// once a second, rather than ending the connection for good.
const SENTINEL_RETRY_STEP_MS = 100;
const SENTINEL_RETRY_MAX_MS = 1000;
// A partitioned primary never refuses a connect, it just does not answer.
const CONNECT_TIMEOUT_MS = 2000;

/**
 * Reconnect (and, for `blocking` connections, send the command again) when a
 * command reaches a server that is no longer the primary: after a failover the
 * old primary answers writes with `READONLY`, and a reconnect asks the
 * Sentinels for the new one. Exported for tests.
 */
export function reconnectOnRedisError(error: Error): 2 | false {
  return /^READONLY\b|^LOADING\b|^MASTERDOWN\b/.test(error.message) ? 2 : false;
}

/** What `SentinelConnector` keeps of the failover detector of its last connection (private in ioredis's types). */
interface DetectorHolder {
  failoverDetector: { cleanup(): void } | null;
}

/**
 * ioredis's Sentinel connector, with the failover detector of a connection
 * that is gone dropped when the next connect begins. ioredis keeps it
 * subscribed to the Sentinels until the next connect has succeeded; when its
 * `+switch-master` arrives while that connect is still asking the Sentinels
 * for the primary (which is exactly when a killed primary is replaced), it
 * aborts the connect, and ioredis then ends the connection for good (status
 * `end`, every command "Connection is closed."). A chatserver's heartbeat
 * connection died so after a primary kill, and it stayed out of the registry
 * until restarted. The new connection still gets its own detector.
 */
class FailoverSafeSentinelConnector extends SentinelConnector {
  // ioredis constructs a custom connector with the connection's whole options (`unknown` in its types).
  constructor(options: unknown) {
    super(options as SentinelConnectionOptions);
  }

  override connect(eventEmitter: Parameters<SentinelConnector['connect']>[0]): ReturnType<SentinelConnector['connect']> {
    const holder = this as unknown as DetectorHolder;
    holder.failoverDetector?.cleanup();
    holder.failoverDetector = null;
    return super.connect(eventEmitter);
  }
}

/** The ioredis options of one connection to `settings` (exported for tests). */
export function redisConnectionOptions(settings: RedisSettings, kind: RedisConnectionKind): RedisOptions {
  const common: RedisOptions = {
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(attempt * RECONNECT_STEP_MS, RECONNECT_MAX_MS),
    reconnectOnError: reconnectOnRedisError,
    ...(kind === 'blocking' ? { maxRetriesPerRequest: null } : { enableOfflineQueue: false, maxRetriesPerRequest: 1 }),
  };
  if (settings.redisSentinels.length === 0) return common;
  const url = new URL(settings.redisUrl);
  const database = Number(url.pathname.slice(1) || '0');
  return {
    ...common,
    sentinels: settings.redisSentinels.map(({ host, port }) => ({ host, port })),
    name: settings.redisMaster,
    sentinelRetryStrategy: (attempt) => Math.min(attempt * SENTINEL_RETRY_STEP_MS, SENTINEL_RETRY_MAX_MS),
    // Hear `+switch-master` from the Sentinels and leave a demoted or
    // partitioned primary at once, instead of waiting for an error from it.
    failoverDetector: true,
    Connector: FailoverSafeSentinelConnector,
    // A Sentinel reports the addresses the others see; keep to the configured list.
    updateSentinels: false,
    ...(url.username === '' ? {} : { username: decodeURIComponent(url.username) }),
    ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
    ...(Number.isInteger(database) && database > 0 ? { db: database } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/**
 * The one place Parley opens a Redis connection: a single Redis at
 * `PARLEY_REDIS_URL`, or the primary the `PARLEY_REDIS_SENTINELS` name,
 * followed through failovers. `log` hears the first error of an outage and
 * its end, not one line per reconnect attempt.
 */
export function createRedisConnection(settings: RedisSettings, kind: RedisConnectionKind, log?: Logger): Redis {
  const options = redisConnectionOptions(settings, kind);
  const redis = settings.redisSentinels.length === 0 ? new Redis(settings.redisUrl, options) : new Redis(options);
  let down = false;
  redis.on('error', (error: Error) => {
    if (down) return;
    down = true;
    log?.warn({ error: error.message, kind }, 'redis unavailable');
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    log?.info({ kind }, 'redis connection restored');
  });
  return redis;
}
