import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger, type Logger } from '@parley/protocol';
import { killLeftovers } from './leftovers.js';
import { findFreePort, waitForPort } from './ports.js';
import { SupervisedProcess } from './supervised-process.js';
import { sleep } from './wait.js';

/** The template shipped in the repository (`nginx/parley.conf.template`). */
export const DEFAULT_NGINX_TEMPLATE = fileURLToPath(new URL('../../../nginx/parley.conf.template', import.meta.url));

/** Options of `renderNginxConfig`. */
export interface NginxConfigOptions {
  /** Absolute directory for nginx's pid, logs and temp files. */
  runDir: string;
  /** Port nginx listens on. */
  publicPort: number;
  /** @default '127.0.0.1' */
  publicHost?: string;
  /** Ports of the web processes on 127.0.0.1, or `host:port` addresses elsewhere (at least one). */
  webPorts: readonly UpstreamAddress[];
  /** Public (observe) ports of the chatservers on 127.0.0.1, or `host:port` addresses (at least one). */
  chatPorts: readonly UpstreamAddress[];
  /**
   * Says go to the first web process, the others standing by (`backup`):
   * SQLite has one writer at a time. `false` spreads them over every web
   * process, as everything else is (PostgreSQL takes any write anywhere).
   * @default true
   */
  singleSayWriter?: boolean;
  /** @default 1 */
  workerProcesses?: number | 'auto';
  /**
   * Connections per nginx worker; a parked observe takes two.
   * @default the open-file limit less 200 (`nginxCapacity()`)
   */
  workerConnections?: number;
  /** `worker_rlimit_nofile`. @default the hard open-file limit (`nginxCapacity()`) */
  workerRlimitNofile?: number;
  /**
   * Concurrent API requests (not observes) of one client address; more get
   * 429 `rate_limited`.
   * @default 256
   */
  requestsPerAddress?: number;
  /**
   * Concurrent parked observes of one client address; more get 429.
   * @default 10000 (a load generator on one address must reach 9,000)
   */
  observesPerAddress?: number;
  /**
   * `user` directive. Only meaningful when nginx starts as root, where it would
   * otherwise drop its workers to `nobody`, who cannot enter a private run dir.
   * @default `user <current user>;` when running as root, else nothing
   */
  userDirective?: string;
  /** @default DEFAULT_NGINX_TEMPLATE */
  templatePath?: string;
}

/** A port on 127.0.0.1, or `host:port` (another host: a network namespace of the multihost cluster). */
export type UpstreamAddress = number | string;

function upstreamLines(ports: readonly UpstreamAddress[], what: string, backupAfterFirst = false): string {
  if (ports.length === 0) throw new Error(`nginx needs at least one ${what} port`);
  // max_fails=1 + fail_timeout=2s: a dead process is skipped for 2 s after one
  // connection error, short enough that a restarted one is back quickly.
  return ports
    .map((port, index) => {
      const backup = backupAfterFirst && index > 0 ? ' backup' : '';
      const address = typeof port === 'number' ? `127.0.0.1:${port}` : port;
      return `server ${address} max_fails=1 fail_timeout=2s${backup};`;
    })
    .join('\n        ');
}

function defaultUserDirective(): string {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return '';
  return `user ${userInfo().username};`;
}

// Descriptors a worker keeps for itself: listening sockets, log files, temp
// files of buffered bodies, the channel to the master.
const RESERVED_DESCRIPTORS = 200;

/** How many connections one nginx worker can hold here, from the open-file limit. */
export interface NginxCapacity {
  /** `worker_rlimit_nofile`: the hard limit (a worker may raise its soft limit up to it). */
  workerRlimitNofile: number;
  /** `worker_connections`: the limit less RESERVED_DESCRIPTORS. */
  workerConnections: number;
}

/**
 * The hard open-file limit of this process (`ulimit -Hn`, which Node cannot
 * read directly), or `fallback` when the shell cannot tell.
 */
export function openFileLimit(fallback = 4096): number {
  try {
    const text = execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
    if (text === 'unlimited') return 1_048_576;
    const limit = Number(text);
    return Number.isSafeInteger(limit) && limit > 0 ? limit : fallback;
  } catch {
    return fallback;
  }
}

/**
 * Sizes nginx from the open-file limit: every client and upstream connection
 * is a descriptor, so `worker_connections` can be as large as the limit
 * allows. Under this machine's 20,000 that is 19,800 connections, 9,900
 * parked observes per worker.
 */
export function nginxCapacity(fileLimit = openFileLimit()): NginxCapacity {
  const workerRlimitNofile = Math.max(fileLimit, 1024);
  return { workerRlimitNofile, workerConnections: Math.max(workerRlimitNofile - RESERVED_DESCRIPTORS, 512) };
}

/** Renders the nginx configuration text; throws if a placeholder is left unfilled. */
export function renderNginxConfig(options: NginxConfigOptions): string {
  const template = readFileSync(options.templatePath ?? DEFAULT_NGINX_TEMPLATE, 'utf8');
  const capacity = options.workerConnections !== undefined && options.workerRlimitNofile !== undefined ? undefined : nginxCapacity();
  const values: Record<string, string> = {
    RUN_DIR: resolve(options.runDir),
    PUBLIC_HOST: options.publicHost ?? '127.0.0.1',
    PUBLIC_PORT: String(options.publicPort),
    WEB_UPSTREAMS: upstreamLines(options.webPorts, 'web'),
    // SQLite: says go to one web process, the others standing by (see the template).
    SAY_UPSTREAMS: upstreamLines(options.webPorts, 'web', options.singleSayWriter ?? true),
    CHAT_UPSTREAMS: upstreamLines(options.chatPorts, 'chatserver'),
    WORKER_PROCESSES: String(options.workerProcesses ?? 1),
    WORKER_CONNECTIONS: String(options.workerConnections ?? capacity?.workerConnections),
    WORKER_RLIMIT_NOFILE: String(options.workerRlimitNofile ?? capacity?.workerRlimitNofile),
    REQUESTS_PER_ADDRESS: String(options.requestsPerAddress ?? 256),
    OBSERVES_PER_ADDRESS: String(options.observesPerAddress ?? 10_000),
    USER_DIRECTIVE: options.userDirective ?? defaultUserDirective(),
  };
  const rendered = template.replace(/\{\{([A-Z_]+)\}\}/g, (match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`nginx template: unknown placeholder ${match}`);
    return value;
  });
  return rendered;
}

/** Options of `startNginx`: the config options plus how to run it. */
export interface NginxOptions extends Omit<NginxConfigOptions, 'publicPort'> {
  /** @default 0: a free port */
  publicPort?: number;
  /** @default 'nginx' */
  binary?: string;
  /** How long to wait for the port to accept connections. @default 10000 */
  startTimeoutMs?: number;
  /** Own process group: a terminal's Ctrl-C reaches only the parent. @default false */
  detached?: boolean;
  /**
   * Restart it after an exit nobody asked for, on the same port and config,
   * once the dead master's workers (which keep its port) are killed. @default false
   */
  restartOnCrash?: boolean;
  /** Its starts, crashes and restarts. @default silentLogger */
  log?: Logger;
  /** Called with the new master pid on every start and `null` on every exit. @default none */
  onPidChange?: (pid: number | null) => void;
}

/** A private nginx started by Parley. */
export interface NginxHandle {
  /** pid of the nginx master; `undefined` while it is down. */
  readonly pid: number | undefined;
  readonly port: number;
  /** `http://HOST:PORT` */
  readonly url: string;
  readonly configPath: string;
  /** Fast shutdown (SIGTERM), bounded; SIGKILL after `timeoutMs`. @default timeoutMs 5000 */
  stop(timeoutMs?: number): Promise<void>;
  /**
   * Rewrites the config with new upstreams and reloads it (SIGHUP): new
   * connections use them, requests in flight finish on the old workers.
   */
  reload(upstreams: Pick<NginxConfigOptions, 'webPorts' | 'chatPorts'>): void;
}

/** Renders the config into `runDir/nginx.conf` and returns that path. */
export function writeNginxConfig(options: NginxConfigOptions): string {
  mkdirSync(options.runDir, { recursive: true });
  const configPath = join(resolve(options.runDir), 'nginx.conf');
  writeFileSync(configPath, renderNginxConfig(options));
  return configPath;
}

/**
 * Renders the config into `runDir/nginx.conf` and starts nginx on it (master in
 * the foreground, `daemon off`, working directory `runDir`), then waits until
 * the public port accepts connections. Output goes to `runDir/error.log` and
 * `runDir/nginx.out`.
 */
export async function startNginx(options: NginxOptions): Promise<NginxHandle> {
  const runDir = resolve(options.runDir);
  const publicPort = options.publicPort && options.publicPort > 0 ? options.publicPort : await findFreePort();
  const configPath = writeNginxConfig({ ...options, runDir, publicPort });
  const errorLog = join(runDir, 'error.log');
  const host = options.publicHost ?? '127.0.0.1';
  const binary = options.binary ?? 'nginx';
  const server = new SupervisedProcess({
    name: 'nginx',
    command: binary,
    // -e: errors before the config is read would otherwise go to /var/log/nginx.
    args: ['-p', `${runDir}/`, '-c', configPath, '-e', errorLog, '-g', 'daemon off;'],
    env: process.env,
    // Its workers inherit it: how killLeftovers tells this nginx's orphans from any other nginx.
    cwd: runDir,
    logFile: join(runDir, 'nginx.out'),
    stdio: 'file',
    // SIGTERM is nginx's fast shutdown; SIGQUIT would wait for parked long-polls.
    stopSignal: 'SIGTERM',
    log: options.log ?? silentLogger,
    detached: options.detached ?? false,
    restartOnCrash: options.restartOnCrash ?? false,
    // The kernel names a process after the first 15 bytes of its program's file name.
    afterExit: () => void killLeftovers({ comm: basename(binary).slice(0, 15), cwd: runDir }),
    ready: (signal, pid) => waitForOwnNginx(runDir, pid, publicPort, host === '0.0.0.0' ? '127.0.0.1' : host, options.startTimeoutMs ?? 10_000, signal),
    onPidChange: options.onPidChange ?? (() => undefined),
  });
  try {
    await server.start();
  } catch (error) {
    await server.stop(5000, 'SIGKILL');
    throw new Error(`nginx did not start: ${(error as Error).message}\n${tail(errorLog)}`, { cause: error });
  }

  return {
    get pid() {
      return server.pid;
    },
    port: publicPort,
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${publicPort}`,
    configPath,
    stop: (timeoutMs = 5000) => server.stop(timeoutMs),
    reload(upstreams) {
      writeNginxConfig({ ...options, ...upstreams, runDir, publicPort });
      if (!server.kill('SIGHUP')) throw new Error('nginx is not running: nothing to reload');
    },
  };
}

/**
 * Waits until the master `pid` has written `nginx.pid` (nginx does once it has
 * bound its ports) and the public port accepts connections. The port alone
 * could be answered by another program that took it meanwhile, or by the
 * workers of a master that was killed.
 */
async function waitForOwnNginx(runDir: string, pid: number, port: number, host: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await readFile(join(runDir, 'nginx.pid'), 'utf8').catch(() => '')).trim() !== String(pid)) {
    signal.throwIfAborted();
    if (Date.now() > deadline) throw new Error(`nginx (pid ${pid}) wrote no nginx.pid within ${timeoutMs} ms`);
    await sleep(20);
  }
  await waitForPort(port, Math.max(deadline - Date.now(), 0), host, signal);
}

function tail(path: string, lines = 10): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return `(no ${path})`;
  }
}
