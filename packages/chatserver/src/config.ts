import { clusterConfigSchema, commonConfigSchema, parse, readConfig, type ClusterConfig, type CommonConfig, type ConfigSchema } from '@parley/protocol/node';

/** Everything a chatserver reads from its environment, validated and frozen. */
export interface ChatServerConfig extends CommonConfig, Pick<ClusterConfig, 'webUrls' | 'presenceTimeoutMs'> {
  /** `PARLEY_CHAT_HOST`: public observe address. @default '127.0.0.1' */
  host: string;
  /** `PARLEY_CHAT_PORT`: public observe port; 0 picks a free one. @default 4000 */
  port: number;
  /** `PARLEY_CHAT_INTERNAL_HOST`: internal (notify) address. @default '127.0.0.1' */
  internalHost: string;
  /** `PARLEY_CHAT_INTERNAL_PORT`: internal (notify) port; 0 picks a free one. @default 4100 */
  internalPort: number;
  /**
   * `PARLEY_CHAT_ADVERTISE_URL`: the base URL registered in Redis for workers to
   * POST notifications to. Empty means `http://INTERNAL_HOST:INTERNAL_PORT` with
   * the port actually bound (so port 0 works).
   * @default ''
   */
  advertiseUrl: string;
  /** `PARLEY_ROOM_BUFFER`: events kept per room. @default 1000 */
  roomBuffer: number;
  /** `PARLEY_CHAT_MAX_OBSERVERS`: parked observes before answering 503. @default 20000 */
  maxObservers: number;
  /**
   * `PARLEY_CHAT_MAX_OBSERVES_PER_SESSION`: parked observes of one session
   * (by its token) on one chatserver; one more answers 429 `rate_limited`.
   * @default 8
   */
  maxObservesPerSession: number;
  /**
   * `PARLEY_CHAT_MAX_ROOMS`: rooms held in memory. Past it, the least recently
   * used unobserved rooms are dropped (they load again when asked); when every
   * room is observed, an observe of a new room answers 503 `unavailable`.
   * @default 100000
   */
  maxRooms: number;
  /**
   * `PARLEY_CHAT_MAX_ANONYMOUS_ROOMS`: rooms one observe without a session may
   * name (badges of public rooms, which a page shares in one observe); more
   * answer 400 `invalid_cursor`.
   * @default 20
   */
  maxAnonymousObserveRooms: number;
  /** `PARLEY_HEARTBEAT_MS`: registry heartbeat; the entry expires after 3× this. @default 2000 */
  heartbeatMs: number;
  /**
   * `PARLEY_CATCHUP_MS`: how often the heads of observed rooms are asked from
   * the web tier (one request) to repair rooms whose last events never came
   * (Redis lost the job, a worker died mid-job). Bounds how late such an event
   * can be: about this plus one repair.
   * @default 5000
   */
  catchUpMs: number;
  /**
   * `PARLEY_STREAM_HEARTBEAT_MS`: a stream (`/api/observe/stream`) quiet this
   * long gets a `:` comment. nginx's read timeout on the stream route (3 s)
   * must stay well above it: there silence means a frozen chatserver, whose
   * streams nginx ends so that they resume on another one.
   * @default 1000
   */
  streamHeartbeatMs: number;
  /**
   * `PARLEY_STREAM_LIFETIME_MS`: a stream ends after at most this long (less
   * up to 10 % jitter); the browser reconnects with its cursor.
   * @default 600000
   */
  streamLifetimeMs: number;
}

const schema: ConfigSchema<ChatServerConfig> = {
  ...commonConfigSchema,
  host: { env: 'PARLEY_CHAT_HOST', default: '127.0.0.1', parse: parse.host },
  port: { env: 'PARLEY_CHAT_PORT', default: 4000, parse: parse.port },
  internalHost: { env: 'PARLEY_CHAT_INTERNAL_HOST', default: '127.0.0.1', parse: parse.internalHost },
  internalPort: { env: 'PARLEY_CHAT_INTERNAL_PORT', default: 4100, parse: parse.port },
  // The real default depends on the bound port, so it is filled in by `createChatServer`.
  advertiseUrl: { env: 'PARLEY_CHAT_ADVERTISE_URL', default: '', parse: parse.url },
  webUrls: clusterConfigSchema.webUrls,
  // Below 10 a burst of one notify would already overflow the buffer.
  roomBuffer: { env: 'PARLEY_ROOM_BUFFER', default: 1000, parse: parse.integer(10, 1_000_000) },
  maxObservers: { env: 'PARLEY_CHAT_MAX_OBSERVERS', default: 20_000, parse: parse.integer(1, 1_000_000) },
  maxObservesPerSession: { env: 'PARLEY_CHAT_MAX_OBSERVES_PER_SESSION', default: 8, parse: parse.integer(1, 100_000) },
  maxRooms: { env: 'PARLEY_CHAT_MAX_ROOMS', default: 100_000, parse: parse.integer(10, 10_000_000) },
  // Anonymous observes are the cheapest to send: one URL per <script>, no sign-up.
  maxAnonymousObserveRooms: { env: 'PARLEY_CHAT_MAX_ANONYMOUS_ROOMS', default: 20, parse: parse.integer(1, 50) },
  heartbeatMs: { env: 'PARLEY_HEARTBEAT_MS', default: 2000, parse: parse.integer(50, 600_000) },
  presenceTimeoutMs: clusterConfigSchema.presenceTimeoutMs,
  // Below 100 ms the passes would mostly ask heads nobody changed.
  catchUpMs: { env: 'PARLEY_CATCHUP_MS', default: 5000, parse: parse.integer(100, 3_600_000) },
  // 1 s: nginx ends a stream quiet for 3 s (a frozen chatserver must lose its
  // streams within the 10 s bound), so a healthy one may lag 2 s and keep them.
  streamHeartbeatMs: { env: 'PARLEY_STREAM_HEARTBEAT_MS', default: 1000, parse: parse.integer(100, 60_000) },
  streamLifetimeMs: { env: 'PARLEY_STREAM_LIFETIME_MS', default: 600_000, parse: parse.integer(1000, 86_400_000) },
};

/**
 * Reads the chatserver's settings from `env` (see the shared variable table),
 * reporting every problem at once (`ConfigError`). Only `main.ts` passes
 * `process.env`; tests pass a literal object.
 */
export function loadConfig(env: NodeJS.ProcessEnv): Readonly<ChatServerConfig> {
  return readConfig(schema, env);
}

/** `http://host:port`, with brackets around an IPv6 literal. */
export function defaultAdvertiseUrl(host: string, port: number): string {
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${bracketed}:${port}`;
}
