import { commonConfigSchema, parse, readConfig, type CommonConfig, type ConfigSchema } from '@parley/protocol';

/** Everything a web process reads from its environment, validated and frozen. */
export interface WebConfig extends CommonConfig {
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
  ...commonConfigSchema,
  host: { env: 'PARLEY_WEB_HOST', default: '127.0.0.1', parse: parse.host },
  port: { env: 'PARLEY_WEB_PORT', default: 3000, parse: parse.port },
  dbPath: { env: 'PARLEY_DB_PATH', default: './data/parley.db', parse: parse.string },
  cookieSecure: { env: 'PARLEY_COOKIE_SECURE', default: false, parse: parse.boolean },
  // Below ~100 ms the relay would race the request path's own queue.add.
  outboxRelayMs: { env: 'PARLEY_OUTBOX_RELAY_MS', default: 3000, parse: parse.integer(100, 3_600_000) },
  notifyAttempts: { env: 'PARLEY_NOTIFY_ATTEMPTS', default: 8, parse: parse.integer(1, 100) },
};

/**
 * Reads the web tier's settings from `env` (see the shared variable table),
 * reporting every problem at once (`ConfigError`). Only `main.ts` passes
 * `process.env`; tests pass a literal object.
 */
export function loadConfig(env: NodeJS.ProcessEnv): Readonly<WebConfig> {
  return readConfig(schema, env);
}
