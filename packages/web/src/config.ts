import { clusterConfigSchema, commonConfigSchema, parse, readConfig, type ClusterConfig, type CommonConfig, type ConfigSchema } from '@parley/protocol/node';
import { checkPostgresUrl, redactPostgresUrl } from '@parley/store';
import { parseProxyEntry } from './client-address.js';

/** Everything a web process reads from its environment, validated and frozen. */
export interface WebConfig extends CommonConfig, Pick<ClusterConfig, 'notifyAttempts'> {
  /** `PARLEY_WEB_HOST`: listen address. @default '127.0.0.1' */
  host: string;
  /** `PARLEY_WEB_PORT`: listen port; 0 picks a free one. @default 3000 */
  port: number;
  /** `PARLEY_DB_PATH`: the SQLite file (when `databaseUrl` is unset); its directory is created if missing. @default './data/parley.db' */
  dbPath: string;
  /**
   * `PARLEY_DATABASE_URL`: a `postgres://` or `postgresql://` URL selects the
   * PostgreSQL store (any number of web processes on any hosts); unset keeps
   * SQLite at `dbPath`. Logged as host, port and database only.
   * @default null
   */
  databaseUrl: string | null;
  /** `PARLEY_DATABASE_POOL_SIZE`: PostgreSQL connections of this process. @default 10 */
  databasePoolSize: number;
  /**
   * `PARLEY_COOKIE_SECURE`: always add `Secure` to the session cookie. Without
   * it the cookie is `Secure` when the request came over TLS (directly, or
   * through a trusted proxy saying `X-Forwarded-Proto: https`). @default false
   */
  cookieSecure: boolean;
  /**
   * `PARLEY_TRUSTED_PROXIES`: comma-separated addresses and CIDR ranges whose
   * `X-Real-IP` and `X-Forwarded-Proto` are believed (the nginx in front);
   * `none` trusts no one.
   * @default ['127.0.0.1', '::1']
   */
  trustedProxies: readonly string[];
  /**
   * `PARLEY_SESSION_TTL_MS`: a session unused this long is expired (401
   * `session_expired`) and later purged, leaving its rooms. Sliding: use
   * refreshes it (at most once a minute). @default 2592000000 (30 days)
   */
  sessionTtlMs: number;
  /** `PARLEY_RATE_SAY_PER_SESSION`: says per minute of one session; 0 = no limit. @default 120 */
  rateSayPerSession: number;
  /** `PARLEY_RATE_SAY_PER_IP`: says per minute from one client address; 0 = no limit. @default 600 */
  rateSayPerIp: number;
  /** `PARLEY_RATE_SESSION_PER_IP`: sessions created per minute from one client address; 0 = no limit. @default 30 */
  rateSessionPerIp: number;
  /** `PARLEY_RATE_ENTER_PER_SESSION`: enters per minute of one session; 0 = no limit. @default 120 */
  rateEnterPerSession: number;
  /** `PARLEY_RATE_SIGNUP_PER_IP`: accounts created per minute from one client address; 0 = no limit. @default 5 */
  rateSignUpPerIp: number;
  /**
   * `PARLEY_RATE_SIGNIN_PER_IP`: sign-in attempts per minute from one client
   * address, right or wrong; 0 = no limit. Bounds password guessing. @default 10
   */
  rateSignInPerIp: number;
  /**
   * `PARLEY_OBSERVE_TICKET_TTL_MS`: lifetime of a ticket of `POST /api/observe-ticket`
   * (a third-party page asks for a new one before it runs out). @default 600000 (10 minutes)
   */
  observeTicketTtlMs: number;
  /** `PARLEY_OUTBOX_RELAY_MS`: outbox rows older than this are re-queued by the relay. @default 3000 */
  outboxRelayMs: number;
  /**
   * `PARLEY_SAY_BATCH_MAX`: most says committed in one SQLite transaction
   * (group commit of the says that arrive in one event-loop turn); 1 turns
   * grouping off. Each say is still answered only after its commit.
   * @default 256
   */
  sayBatchMax: number;
  /**
   * `PARLEY_SAY_GROUPS_IN_FLIGHT`: most say groups this process commits at
   * once; says arriving meanwhile gather into the next group (fewer, larger
   * transactions: what PostgreSQL needs to keep up, docs/BENCHMARKS.md). 1
   * beat 2 on PostgreSQL in every same-run pair once session lookups no
   * longer queued for the pool behind a second group.
   * @default 1
   */
  sayGroupsInFlight: number;
}

/** `none`, or a comma-separated list of IP addresses and CIDR ranges. */
function parseAddressList(raw: string): readonly string[] {
  if (raw.trim() === 'none') return Object.freeze([]);
  const entries = raw.split(',').map((item) => item.trim()).filter(Boolean);
  if (entries.length === 0) throw new Error('must be "none" or a comma-separated list of IP addresses and CIDR ranges');
  return Object.freeze(entries.map((entry) => {
    const { address, prefix } = parseProxyEntry(entry);
    return entry.includes('/') ? `${address}/${prefix}` : address;
  }));
}

const schema: ConfigSchema<WebConfig> = {
  ...commonConfigSchema,
  // Serves /internal/ too: never a public address (nginx is the public origin).
  host: { env: 'PARLEY_WEB_HOST', default: '127.0.0.1', parse: parse.internalHost },
  port: { env: 'PARLEY_WEB_PORT', default: 3000, parse: parse.port },
  dbPath: { env: 'PARLEY_DB_PATH', default: './data/parley.db', parse: parse.string },
  // The URL may hold a password: a problem report shows it masked.
  databaseUrl: { env: 'PARLEY_DATABASE_URL', default: null, parse: checkPostgresUrl, redact: redactPostgresUrl },
  databasePoolSize: { env: 'PARLEY_DATABASE_POOL_SIZE', default: 10, parse: parse.integer(1, 1000) },
  cookieSecure: { env: 'PARLEY_COOKIE_SECURE', default: false, parse: parse.boolean },
  trustedProxies: { env: 'PARLEY_TRUSTED_PROXIES', default: ['127.0.0.1', '::1'], parse: parseAddressList },
  // At least the minute between last-seen refreshes, or an active session could expire.
  sessionTtlMs: { env: 'PARLEY_SESSION_TTL_MS', default: 30 * 24 * 3600_000, parse: parse.integer(120_000, 10 * 365 * 24 * 3600_000) },
  rateSayPerSession: { env: 'PARLEY_RATE_SAY_PER_SESSION', default: 120, parse: parse.integer(0, 1_000_000_000) },
  rateSayPerIp: { env: 'PARLEY_RATE_SAY_PER_IP', default: 600, parse: parse.integer(0, 1_000_000_000) },
  rateSessionPerIp: { env: 'PARLEY_RATE_SESSION_PER_IP', default: 30, parse: parse.integer(0, 1_000_000_000) },
  rateEnterPerSession: { env: 'PARLEY_RATE_ENTER_PER_SESSION', default: 120, parse: parse.integer(0, 1_000_000_000) },
  rateSignUpPerIp: { env: 'PARLEY_RATE_SIGNUP_PER_IP', default: 5, parse: parse.integer(0, 1_000_000_000) },
  rateSignInPerIp: { env: 'PARLEY_RATE_SIGNIN_PER_IP', default: 10, parse: parse.integer(0, 1_000_000_000) },
  // Short enough that a leaked ticket soon stops working; a day at most.
  observeTicketTtlMs: { env: 'PARLEY_OBSERVE_TICKET_TTL_MS', default: 600_000, parse: parse.integer(10_000, 86_400_000) },
  // Below ~100 ms the relay would race the request path's own queue.add.
  outboxRelayMs: { env: 'PARLEY_OUTBOX_RELAY_MS', default: 3000, parse: parse.integer(100, 3_600_000) },
  notifyAttempts: clusterConfigSchema.notifyAttempts,
  // Above a few thousand one group's transaction (and outbox row) would hold the write lock for too long.
  sayBatchMax: { env: 'PARLEY_SAY_BATCH_MAX', default: 256, parse: parse.integer(1, 4096) },
  sayGroupsInFlight: { env: 'PARLEY_SAY_GROUPS_IN_FLIGHT', default: 1, parse: parse.integer(1, 64) },
};

/**
 * Reads the web tier's settings from `env` (see the shared variable table),
 * reporting every problem at once (`ConfigError`). Only `main.ts` passes
 * `process.env`; tests pass a literal object.
 */
export function loadConfig(env: NodeJS.ProcessEnv): Readonly<WebConfig> {
  return readConfig(schema, env);
}
