import { DEFAULT_REDIS_PREFIX, parse, readConfig, type ConfigSchema } from '@parley/protocol';

/** Log levels pino knows. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Everything a worker reads from its environment, validated and frozen. */
export interface WorkerConfig {
  /** `PARLEY_REDIS_URL`: Redis holding the BullMQ queue and the registry. @default 'redis://127.0.0.1:6379' */
  redisUrl: string;
  /** `PARLEY_REDIS_PREFIX`: prefix of registry keys; BullMQ's prefix is this plus `bull`. @default 'parley:' */
  redisPrefix: string;
  /** `PARLEY_SECRET`: HMAC secret of internal requests, at least 32 characters. Required. */
  secret: string;
  /** `PARLEY_LOG_LEVEL`: pino level. @default 'info' */
  logLevel: LogLevel;
  /** `PARLEY_WORKER_HOST`: address of the health HTTP server. @default '127.0.0.1' */
  host: string;
  /** `PARLEY_WORKER_PORT`: port of the health HTTP server; 0 picks a free one. @default 3900 */
  port: number;
  /** `PARLEY_WORKER_CONCURRENCY`: notify jobs processed at once. @default 50 */
  concurrency: number;
  /** `PARLEY_NOTIFY_TIMEOUT_MS`: per-POST timeout to a chatserver (connect, headers, body). @default 2000 */
  notifyTimeoutMs: number;
  /**
   * `PARLEY_NOTIFY_ATTEMPTS`: attempts of a notify job. The producer (web) sets
   * it on each job; the worker reads it only to say so in its start line, so a
   * cluster's processes can be checked to agree.
   * @default 8
   */
  notifyAttempts: number;
}

const schema: ConfigSchema<WorkerConfig> = {
  redisUrl: { env: 'PARLEY_REDIS_URL', default: 'redis://127.0.0.1:6379', parse: parseRedisUrl },
  redisPrefix: { env: 'PARLEY_REDIS_PREFIX', default: DEFAULT_REDIS_PREFIX, parse: parse.string },
  secret: { env: 'PARLEY_SECRET', parse: parse.secret },
  logLevel: {
    env: 'PARLEY_LOG_LEVEL',
    default: 'info',
    parse: parse.oneOf<LogLevel>('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
  },
  host: { env: 'PARLEY_WORKER_HOST', default: '127.0.0.1', parse: parse.host },
  port: { env: 'PARLEY_WORKER_PORT', default: 3900, parse: parse.port },
  concurrency: { env: 'PARLEY_WORKER_CONCURRENCY', default: 50, parse: parse.integer(1, 10_000) },
  // Below 50 ms a healthy chatserver under a GC pause would already count as failed.
  notifyTimeoutMs: { env: 'PARLEY_NOTIFY_TIMEOUT_MS', default: 2000, parse: parse.integer(50, 600_000) },
  notifyAttempts: { env: 'PARLEY_NOTIFY_ATTEMPTS', default: 8, parse: parse.integer(1, 100) },
};

function parseRedisUrl(raw: string): string {
  const url = new URL(raw);
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new Error('must be a redis:// or rediss:// URL');
  return raw;
}

/**
 * Reads the worker's settings from `env` (see the shared variable table),
 * reporting every problem at once (`ConfigError`). Only `main.ts` passes
 * `process.env`; tests pass a literal object.
 */
export function loadConfig(env: NodeJS.ProcessEnv): Readonly<WorkerConfig> {
  return readConfig(schema, env);
}
