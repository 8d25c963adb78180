import { DEFAULT_REDIS_PREFIX, parse, readConfig, type ConfigSchema } from '@parley/protocol';

/** Log levels pino knows. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Everything a web process reads from its environment, validated and frozen. */
export interface WebConfig {
  /** `PARLEY_REDIS_URL`: Redis holding the BullMQ queue. @default 'redis://127.0.0.1:6379' */
  redisUrl: string;
  /** `PARLEY_REDIS_PREFIX`: prefix of Parley's Redis keys; BullMQ uses `${prefix}bull`. @default 'parley:' */
  redisPrefix: string;
  /** `PARLEY_SECRET`: HMAC secret of internal requests, at least 32 characters. Required. */
  secret: string;
  /** `PARLEY_LOG_LEVEL`: pino level. @default 'info' */
  logLevel: LogLevel;
  /** `PARLEY_WEB_HOST`: listen address. @default '127.0.0.1' */
  host: string;
  /** `PARLEY_WEB_PORT`: listen port; 0 picks a free one. @default 3000 */
  port: number;
  /** `PARLEY_DB_PATH`: the SQLite file; its directory is created if missing. @default './data/parley.db' */
  dbPath: string;
  /** `PARLEY_COOKIE_SECURE`: add `Secure` to the session cookie (set it behind TLS). @default false */
  cookieSecure: boolean;
  /** `PARLEY_OUTBOX_RELAY_MS`: outbox rows older than this are re-queued by the relay. @default 3000 */
  outboxRelayMs: number;
  /** `PARLEY_NOTIFY_ATTEMPTS`: BullMQ attempts of a notify job (exponential backoff from 200 ms). @default 8 */
  notifyAttempts: number;
}

const schema: ConfigSchema<WebConfig> = {
  redisUrl: { env: 'PARLEY_REDIS_URL', default: 'redis://127.0.0.1:6379', parse: parseRedisUrl },
  redisPrefix: { env: 'PARLEY_REDIS_PREFIX', default: DEFAULT_REDIS_PREFIX, parse: parse.string },
  secret: { env: 'PARLEY_SECRET', parse: parse.secret },
  logLevel: {
    env: 'PARLEY_LOG_LEVEL',
    default: 'info',
    parse: parse.oneOf<LogLevel>('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
  },
  host: { env: 'PARLEY_WEB_HOST', default: '127.0.0.1', parse: parse.host },
  port: { env: 'PARLEY_WEB_PORT', default: 3000, parse: parse.port },
  dbPath: { env: 'PARLEY_DB_PATH', default: './data/parley.db', parse: parse.string },
  cookieSecure: { env: 'PARLEY_COOKIE_SECURE', default: false, parse: parse.boolean },
  // Below ~100 ms the relay would race the request path's own queue.add.
  outboxRelayMs: { env: 'PARLEY_OUTBOX_RELAY_MS', default: 3000, parse: parse.integer(100, 3_600_000) },
  notifyAttempts: { env: 'PARLEY_NOTIFY_ATTEMPTS', default: 8, parse: parse.integer(1, 100) },
};

function parseRedisUrl(raw: string): string {
  const url = new URL(raw);
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new Error('must be a redis:// or rediss:// URL');
  return raw;
}

/**
 * Reads the web tier's settings from `env` (see the shared variable table),
 * reporting every problem at once (`ConfigError`). Only `main.ts` passes
 * `process.env`; tests pass a literal object.
 */
export function loadConfig(env: NodeJS.ProcessEnv): Readonly<WebConfig> {
  return readConfig(schema, env);
}
