import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { findFreePort, waitForPort } from './ports.js';

/** A private redis-server started by Parley, never the system one. */
export interface RedisServerHandle {
  readonly port: number;
  /** `redis://127.0.0.1:PORT` */
  readonly url: string;
  /** pid of the running server (changes after `start()`); `undefined` while it is stopped. */
  readonly pid: number | undefined;
  /** Starts it again on the same port and directory (after `stop` or `kill`). */
  start(): Promise<void>;
  /** Stops it gracefully (SIGTERM) and waits for the exit. */
  stop(): Promise<void>;
  /** `kill -9`: no shutdown save. */
  kill(): Promise<void>;
}

/** Options of `startRedisServer`. */
export interface RedisServerOptions {
  /** Directory for its data and log file. */
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
}

/** Starts a private redis-server on loopback and waits until it accepts connections. */
export async function startRedisServer(options: RedisServerOptions): Promise<RedisServerHandle> {
  const port = options.port ?? (await findFreePort());
  const appendOnly = options.appendOnly ?? true;
  mkdirSync(options.dir, { recursive: true });
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async (): Promise<void> => {
    const log = openSync(join(options.dir, 'redis.log'), 'a');
    const args = [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--dir', options.dir,
      '--save', '',
      '--appendonly', appendOnly ? 'yes' : 'no',
      '--appendfsync', 'everysec',
      '--daemonize', 'no',
      '--protected-mode', 'yes',
    ];
    const started = spawn(options.binary ?? 'redis-server', args, {
      stdio: ['ignore', log, log],
      detached: options.detached ?? false,
    });
    child = started;
    exited = new Promise((resolve) => started.once('exit', () => resolve()));
    started.once('error', () => undefined);
    await Promise.race([
      waitForPort(port, 10_000),
      exited.then(() => {
        throw new Error(`redis-server exited at start; see ${join(options.dir, 'redis.log')}`);
      }),
    ]);
  };

  const signal = async (name: NodeJS.Signals): Promise<void> => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill(name);
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    }
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    start,
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
  };
}
