import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { silentLogger, type Logger } from '@parley/protocol';
import { findFreePort } from './ports.js';
import { SupervisedProcess } from './supervised-process.js';
import { sleep } from './wait.js';

/** A private redis-server started by Parley, never the system one. */
export interface RedisServerHandle {
  readonly port: number;
  /** The address it listens on. */
  readonly host: string;
  /** `redis://HOST:PORT` */
  readonly url: string;
  /** pid of the running server (changes after a restart); `undefined` while it is down. */
  readonly pid: number | undefined;
  /** Starts it again on the same port and directory (after `stop` or `kill`) and waits until it accepts connections. */
  start(): Promise<void>;
  /** Stops it gracefully (SIGTERM) and waits for the exit: a deliberate outage, never restarted by itself. */
  stop(): Promise<void>;
  /** `kill -9`: no shutdown save. A crash: restarted by itself when `restartOnCrash` is on. */
  kill(): Promise<void>;
}

/** Options of `startRedisServer`. */
export interface RedisServerOptions {
  /** Directory for its data and log file (`redis.log`). */
  dir: string;
  /** Its name in the supervisor's log. @default 'redis' ('sentinel' for a Sentinel) */
  name?: string;
  /** @default a free port */
  port?: number;
  /** Listen address (a network namespace's own address in the multihost cluster). @default '127.0.0.1' */
  host?: string;
  /** Start as a replica of this primary (`--replicaof`). @default a primary */
  replicaOf?: { host: string; port: number };
  /**
   * Runs the server through this command, e.g. `['ip', 'netns', 'exec', 'parley-a']`
   * to start it inside a network namespace. @default none
   */
  commandPrefix?: readonly string[];
  /** Append-only file, so queued jobs survive a restart. @default true */
  appendOnly?: boolean;
  /** @default 'redis-server' */
  binary?: string;
  /**
   * Own process group, so a terminal's Ctrl-C reaches only the parent, which
   * then stops redis last (after the processes that use it). @default false
   */
  detached?: boolean;
  /** Restart it after an exit nobody asked for (the cluster's supervisor). @default false */
  restartOnCrash?: boolean;
  /** Its starts, crashes and restarts. @default silentLogger */
  log?: Logger;
  /** Called with the new pid on every start and `null` on every exit. @default none */
  onPidChange?: (pid: number | null) => void;
}

// Far above a restart's load of an append-only file in tests and `npm start`.
const READY_TIMEOUT_MS = 10_000;

/** Starts a private redis-server on loopback and waits until it accepts connections. */
export async function startRedisServer(options: RedisServerOptions): Promise<RedisServerHandle> {
  const port = options.port ?? (await findFreePort());
  const host = options.host ?? '127.0.0.1';
  const dir = resolve(options.dir);
  mkdirSync(dir, { recursive: true });
  const args = [
    '--port', String(port),
    '--bind', host,
    '--dir', dir,
    '--save', '',
    '--appendonly', (options.appendOnly ?? true) ? 'yes' : 'no',
    '--appendfsync', 'everysec',
    '--daemonize', 'no',
    '--protected-mode', host === '127.0.0.1' ? 'yes' : 'no',
    ...(options.replicaOf === undefined ? [] : ['--replicaof', options.replicaOf.host, String(options.replicaOf.port)]),
  ];
  return superviseRedis('redis', options, host, port, args);
}

/** Options of `startRedisSentinel`. */
export interface RedisSentinelOptions extends Pick<RedisServerOptions, 'dir' | 'name' | 'port' | 'host' | 'binary' | 'detached' | 'restartOnCrash' | 'log' | 'onPidChange' | 'commandPrefix'> {
  /** The monitored primary: its master name and address. */
  master: { name: string; host: string; port: number };
  /** Sentinels that must agree the primary is down. @default 2 */
  quorum?: number;
  /** Unanswered this long, the primary is considered down. @default 1000 */
  downAfterMs?: number;
  /** @default 5000 */
  failoverTimeoutMs?: number;
}

/**
 * Starts a Redis Sentinel (`redis-server CONF --sentinel`) monitoring
 * `master`. Its config file lives in `dir` (Sentinel rewrites it with what
 * it learns), so a restart remembers the current primary.
 */
export async function startRedisSentinel(options: RedisSentinelOptions): Promise<RedisServerHandle> {
  const port = options.port ?? (await findFreePort());
  const host = options.host ?? '127.0.0.1';
  const dir = resolve(options.dir);
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, 'sentinel.conf');
  const { name, host: masterHost, port: masterPort } = options.master;
  writeFileSync(
    configFile,
    [
      `port ${port}`,
      `bind ${host}`,
      `dir ${dir}`,
      'daemonize no',
      'protected-mode no',
      `sentinel monitor ${name} ${masterHost} ${masterPort} ${options.quorum ?? 2}`,
      `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 1000}`,
      `sentinel failover-timeout ${name} ${options.failoverTimeoutMs ?? 5000}`,
      `sentinel parallel-syncs ${name} 1`,
      '',
    ].join('\n'),
  );
  return superviseRedis('sentinel', options, host, port, [configFile, '--sentinel']);
}

async function superviseRedis(
  name: string,
  options: Omit<RedisServerOptions, 'port' | 'host' | 'replicaOf'>,
  host: string,
  port: number,
  redisArgs: readonly string[],
): Promise<RedisServerHandle> {
  const dir = resolve(options.dir);
  const binary = options.binary ?? 'redis-server';
  const prefix = options.commandPrefix ?? [];
  const [command = binary, ...prefixArgs] = prefix.length === 0 ? [binary] : [...prefix, binary];
  const args = prefix.length === 0 ? redisArgs : [...prefixArgs, ...redisArgs];
  const server = new SupervisedProcess({
    name: options.name ?? name,
    command,
    args,
    env: process.env,
    cwd: dir,
    logFile: join(dir, 'redis.log'),
    stdio: 'file',
    log: options.log ?? silentLogger,
    detached: options.detached ?? false,
    restartOnCrash: options.restartOnCrash ?? false,
    ready: (signal, pid) => waitForOwnRedis(host, port, pid, signal),
    onPidChange: options.onPidChange ?? (() => undefined),
  });
  try {
    await server.start();
  } catch (error) {
    await server.stop(5000);
    throw error;
  }
  return {
    port,
    host,
    url: `redis://${host.includes(':') ? `[${host}]` : host}:${port}`,
    get pid() {
      return server.pid;
    },
    start: () => server.start(),
    stop: () => server.stop(READY_TIMEOUT_MS),
    kill: async () => {
      if (server.kill('SIGKILL')) await server.waitForExit(READY_TIMEOUT_MS);
    },
  };
}

/**
 * Waits until the redis-server answering on `port` is the child `pid` (its
 * `INFO server` says so) and has loaded its data. Something else answering
 * the port (another program took it meanwhile) is not ready.
 */
async function waitForOwnRedis(host: string, port: number, pid: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    signal.throwIfAborted();
    if ((await answeringPid(host, port)) === pid) return;
    if (Date.now() > deadline) throw new Error(`redis-server (pid ${pid}) not answering on port ${port} after ${READY_TIMEOUT_MS} ms`);
    await sleep(50);
  }
}

/** The pid of the redis-server answering on `port`, once it has loaded its data; undefined when none answers. */
async function answeringPid(host: string, port: number): Promise<number | undefined> {
  // connect() resolves after ioredis's ready check, which waits out the loading of the append-only file.
  const client = new Redis({ port, host, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 1000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const info = await client.info('server');
    return Number(/^process_id:(\d+)/m.exec(info)?.[1]);
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}
