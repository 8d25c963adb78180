import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { silentLogger, type Logger } from '@parley/protocol';
import { findFreePort, waitForPort } from './ports.js';
import { SupervisedProcess } from './supervised-process.js';

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
    ready: (signal) => waitForPort(port, READY_TIMEOUT_MS, '127.0.0.1', signal),
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
