import { BlockList, isIP } from 'node:net';
import { DEFAULT_REDIS_PREFIX } from '../registry.js';

/** How far a listen address is reachable from. */
export type BindScope = 'loopback' | 'private' | 'all-interfaces' | 'public' | 'name';

function blockList(ranges: Array<[string, number]>): BlockList {
  const list = new BlockList();
  for (const [address, prefix] of ranges) list.addSubnet(address, prefix, isIP(address) === 4 ? 'ipv4' : 'ipv6');
  return list;
}

const LOOPBACK = blockList([['127.0.0.0', 8], ['::1', 128]]);
// RFC 1918, carrier-grade NAT, link-local, and IPv6 unique-local and link-local.
const PRIVATE = blockList([
  ['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['100.64.0.0', 10], ['169.254.0.0', 16],
  ['fc00::', 7], ['fe80::', 10],
]);

/**
 * Classifies a listen address: loopback, a private network, every interface
 * (`0.0.0.0`, `::`), a public address, or a host name (resolved by the OS,
 * not judged here).
 */
export function bindScope(host: string): BindScope {
  const address = host.replace(/^\[(.*)\]$/, '$1');
  const family = isIP(address);
  if (family === 0) return host === 'localhost' ? 'loopback' : 'name';
  if (address === '0.0.0.0' || address === '::') return 'all-interfaces';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (LOOPBACK.check(address, type)) return 'loopback';
  if (PRIVATE.check(address, type)) return 'private';
  return 'public';
}

/**
 * A tiny validated-environment reader shared by every role's `loadConfig`.
 * Each field names its variable, default and parser; `readConfig` collects
 * every problem and throws them together, and freezes the result.
 */
export interface ConfigField<T> {
  /** Environment variable name, e.g. `PARLEY_PORT`. */
  env: string;
  /** Used when the variable is unset or empty; omit to make it required. */
  default?: T;
  /** Turns the raw string into a value or throws an Error saying what is wrong. */
  parse: (raw: string) => T;
  /**
   * How a problem report shows the raw value (a URL's password masked); the
   * parser's message must not repeat it either.
   * @default the first 100 characters as they are
   */
  redact?: (raw: string) => string;
}

export type ConfigSchema<C> = { [K in keyof C]: ConfigField<C[K]> };

/** Thrown by `readConfig` with every problem found. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Reads and validates `schema` from `env`, all problems at once. */
export function readConfig<C extends object>(schema: ConfigSchema<C>, env: NodeJS.ProcessEnv): Readonly<C> {
  const problems: string[] = [];
  const config: Partial<C> = {};
  for (const key of Object.keys(schema) as Array<keyof C>) {
    const field = schema[key];
    const raw = env[field.env];
    if (raw === undefined || raw === '') {
      if (field.default === undefined) problems.push(`${field.env} is required`);
      else config[key] = field.default;
      continue;
    }
    try {
      config[key] = field.parse(raw);
    } catch (error) {
      const shown = field.redact === undefined ? raw : field.redact(raw);
      problems.push(`${field.env}=${JSON.stringify(shown.slice(0, 100))}: ${(error as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config as C);
}

/** Parsers for the common kinds of setting. */
export const parse = {
  integer(min: number, max: number) {
    return (raw: string): number => {
      if (!/^-?\d+$/.test(raw)) throw new Error('must be a whole number');
      const value = Number(raw);
      if (value < min || value > max) throw new Error(`must be between ${min} and ${max}`);
      return value;
    };
  },
  port(raw: string): number {
    return parse.integer(0, 65535)(raw);
  },
  host(raw: string): string {
    if (!/^[A-Za-z0-9.:[\]-]{1,253}$/.test(raw)) throw new Error('must be a host name or IP address');
    return raw;
  },
  /**
   * The listen address of a port that serves internal endpoints: loopback, a
   * private address, a host name or every interface (containers need that;
   * `main.ts` warns) — never a public address.
   */
  internalHost(raw: string): string {
    const host = parse.host(raw);
    if (bindScope(host) === 'public') throw new Error('serves internal endpoints: bind it to loopback or a private address, not a public one');
    return host;
  },
  url(raw: string): string {
    const url = new URL(raw);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('must be an http(s) URL');
    return raw.replace(/\/+$/, '');
  },
  urlList(raw: string): string[] {
    const urls = raw.split(',').map((item) => item.trim()).filter(Boolean);
    if (urls.length === 0) throw new Error('must list at least one URL');
    return urls.map((item) => parse.url(item));
  },
  secret(raw: string): string {
    if (raw.length < 32) throw new Error('must be at least 32 characters');
    return raw;
  },
  string(raw: string): string {
    return raw;
  },
  boolean(raw: string): boolean {
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    throw new Error('must be true or false');
  },
  oneOf<T extends string>(...values: T[]) {
    return (raw: string): T => {
      if (!(values as string[]).includes(raw)) throw new Error(`must be one of ${values.join(', ')}`);
      return raw as T;
    };
  },
};

/** Log levels pino knows. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** `redis://` or `rediss://` URLs only. */
function parseRedisUrl(raw: string): string {
  const url = new URL(raw);
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new Error('must be a redis:// or rediss:// URL');
  return raw;
}

/** One `host:port` of a Redis Sentinel. */
export interface RedisAddress {
  host: string;
  port: number;
}

/** `host:port,host:port,…`: at least one; IPv6 addresses in brackets (`[::1]:26379`). */
function parseRedisAddressList(raw: string): RedisAddress[] {
  const items = raw.split(',').map((item) => item.trim()).filter(Boolean);
  if (items.length === 0) throw new Error('must list at least one host:port');
  return items.map((item) => {
    const match = /^(\[[^\]]+\]|[^:[\]]+):(\d+)$/.exec(item);
    if (match === null) throw new Error(`${JSON.stringify(item.slice(0, 60))} is not host:port`);
    const host = parse.host(match[1] ?? '').replace(/^\[(.*)\]$/, '$1');
    const port = parse.integer(1, 65535)(match[2] ?? '');
    return { host, port };
  });
}

/** A Sentinel master name: what `sentinel monitor NAME …` names. */
function parseRedisMasterName(raw: string): string {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(raw)) throw new Error('must be 1 to 64 letters, digits, dots, dashes or underscores');
  return raw;
}

/** The settings every role reads (the first rows of the README's table). */
export interface CommonConfig {
  /**
   * `PARLEY_REDIS_URL`: Redis holding the BullMQ queue and the registry. With
   * `PARLEY_REDIS_SENTINELS` set only its user name, password, database number
   * and `rediss:` are used; the Sentinels name the primary.
   * @default 'redis://127.0.0.1:6379'
   */
  redisUrl: string;
  /**
   * `PARLEY_REDIS_SENTINELS`: `host:port,…` of the Redis Sentinels; set, every
   * connection asks them for the current primary and follows failovers. Empty
   * means the single Redis at `PARLEY_REDIS_URL`.
   * @default []
   */
  redisSentinels: readonly RedisAddress[];
  /** `PARLEY_REDIS_MASTER`: the master name the Sentinels monitor. @default 'parley' */
  redisMaster: string;
  /** `PARLEY_REDIS_PREFIX`: prefix of Parley's Redis keys; BullMQ's prefix is this plus `bull`. @default 'parley:' */
  redisPrefix: string;
  /** `PARLEY_SECRET`: HMAC secret of internal requests, at least 32 characters. Required. */
  secret: string;
  /** `PARLEY_LOG_LEVEL`: pino level. @default 'info' */
  logLevel: LogLevel;
  /**
   * `PARLEY_METRICS_TOKEN`: when set, `GET /metrics` needs `Authorization:
   * Bearer <token>`; empty leaves it open (it is served on internal ports only).
   * @default ''
   */
  metricsToken: string;
}

/** Schema of `CommonConfig`; each role spreads it into its own. */
export const commonConfigSchema: ConfigSchema<CommonConfig> = Object.freeze({
  redisUrl: { env: 'PARLEY_REDIS_URL', default: 'redis://127.0.0.1:6379', parse: parseRedisUrl },
  redisSentinels: { env: 'PARLEY_REDIS_SENTINELS', default: [], parse: parseRedisAddressList },
  redisMaster: { env: 'PARLEY_REDIS_MASTER', default: 'parley', parse: parseRedisMasterName },
  redisPrefix: { env: 'PARLEY_REDIS_PREFIX', default: DEFAULT_REDIS_PREFIX, parse: parse.string },
  secret: { env: 'PARLEY_SECRET', parse: parse.secret },
  logLevel: {
    env: 'PARLEY_LOG_LEVEL',
    default: 'info',
    parse: parse.oneOf<LogLevel>('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
  },
  metricsToken: { env: 'PARLEY_METRICS_TOKEN', default: '', parse: parse.string },
});

/**
 * Settings several roles read that must agree across the cluster: each role
 * takes the fields it needs from `clusterConfigSchema`, so the variable, its
 * default and its bounds are written once.
 */
export interface ClusterConfig {
  /**
   * `PARLEY_PRESENCE_TIMEOUT_MS`: a session not seen observing a room for this
   * long leaves it (a `leave` event, by the worker's sweeper). Keep it well
   * above the chatservers' 30 s refresh of parked observes, which see them
   * again every min(30 s, timeout / 4); tests use 2 s with short polls.
   * @default 120000
   */
  presenceTimeoutMs: number;
  /**
   * `PARLEY_WEB_URLS`: web base URLs for signed internal requests (chatserver
   * gap repair and catch-up, the worker's presence sweeper), tried in turn.
   * @default ['http://127.0.0.1:3000']
   */
  webUrls: string[];
  /**
   * `PARLEY_NOTIFY_ATTEMPTS`: BullMQ attempts of a notify job (exponential
   * backoff from 200 ms). The producer (web) sets it on each job; the worker
   * reads it only to say so in its start line, so a cluster's processes can be
   * checked to agree.
   * @default 8
   */
  notifyAttempts: number;
}

/** Schema of `ClusterConfig`; each role picks the fields it reads. */
export const clusterConfigSchema: ConfigSchema<ClusterConfig> = Object.freeze({
  // Below 1 s a session between two short polls would already look gone.
  presenceTimeoutMs: { env: 'PARLEY_PRESENCE_TIMEOUT_MS', default: 120_000, parse: parse.integer(1000, 86_400_000) },
  webUrls: { env: 'PARLEY_WEB_URLS', default: ['http://127.0.0.1:3000'], parse: parse.urlList },
  notifyAttempts: { env: 'PARLEY_NOTIFY_ATTEMPTS', default: 8, parse: parse.integer(1, 100) },
});
