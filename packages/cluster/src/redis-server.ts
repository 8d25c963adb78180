import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { silentLogger, type Logger } from '@parley/protocol';
import { findFreePort } from './ports.js';
import { SupervisedProcess } from './supervised-process.js';
import { sleep } from './wait.js';

/** A private redis-server started by Parley, never the system one. */
export interface RedisServerHandle {
  readonly port: number;
  /** `redis://127.0.0.1:PORT` */
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
  /** @default a free port */
  port?: number;
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
  const dir = resolve(options.dir);
  mkdirSync(dir, { recursive: true });
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--save', '',
    '--appendonly', (options.appendOnly ?? true) ? 'yes' : 'no',
    '--appendfsync', 'everysec',
    '--daemonize', 'no',
    '--protected-mode', 'yes',
  ];
  const server = new SupervisedProcess({
    name: 'redis',
    command: options.binary ?? 'redis-server',
    args,
    env: process.env,
    cwd: dir,
    logFile: join(dir, 'redis.log'),
    stdio: 'file',
    log: options.log ?? silentLogger,
    detached: options.detached ?? false,
    restartOnCrash: options.restartOnCrash ?? false,
    ready: (signal, pid) => waitForOwnRedis(port, pid, signal),
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
    url: `redis://127.0.0.1:${port}`,
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
async function waitForOwnRedis(port: number, pid: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    signal.throwIfAborted();
    if ((await answeringPid(port)) === pid) return;
    if (Date.now() > deadline) throw new Error(`redis-server (pid ${pid}) not answering on port ${port} after ${READY_TIMEOUT_MS} ms`);
    await sleep(50);
  }
}

/** The pid of the redis-server answering on `port`, once it has loaded its data; undefined when none answers. */
async function answeringPid(port: number): Promise<number | undefined> {
  // connect() resolves after ioredis's ready check, which waits out the loading of the append-only file.
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 1000 });
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
