import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { silentLogger, type Logger } from '@parley/protocol';
import { killLeftovers } from './leftovers.js';
import { findFreePort } from './ports.js';
import { SupervisedProcess } from './supervised-process.js';
import { sleep } from './wait.js';

const execFileAsync = promisify(execFile);

/** The role (superuser) and database every private PostgreSQL of Parley has. */
export const POSTGRES_USER = 'parley';
/** @see POSTGRES_USER */
export const POSTGRES_DATABASE = 'parley';

/** A private PostgreSQL started by Parley, never the machine's own. */
export interface PostgresServerHandle {
  readonly port: number;
  /** `postgres://parley@127.0.0.1:PORT/parley` (trust authentication on loopback; no password). */
  readonly url: string;
  /** The data directory actually used (see `PostgresServerOptions.dir`). */
  readonly dataDir: string;
  /** pid of the postmaster; `undefined` while it is down. */
  readonly pid: number | undefined;
  /** Starts it again on the same port and data directory (after `stop`, `stopImmediate` or `kill`). */
  start(): Promise<void>;
  /** Fast shutdown (SIGINT: open transactions roll back, a checkpoint is written); waits for the exit. */
  stop(): Promise<void>;
  /** `pg_ctl -m immediate` (SIGQUIT): no checkpoint; the next start replays the WAL. A deliberate stop too. */
  stopImmediate(): Promise<void>;
  /** `kill -9` of the postmaster: a crash, restarted by itself when `restartOnCrash` is on. */
  kill(): Promise<void>;
}

/** Options of `startPostgresServer`. */
export interface PostgresServerOptions {
  /**
   * Directory for the data directory (`DIR/data`) and the log (`DIR/postgres.log`).
   * As root PostgreSQL runs as an unprivileged user, who must be able to reach
   * it: when a folder above `dir` is closed to that user (a clone under
   * `/root`), the data directory goes under the system temp directory instead,
   * named after `dir`, so the same `dir` always finds the same data.
   */
  dir: string;
  /** @default a free port */
  port?: number;
  /** Listen address besides nothing else (a network namespace's own address in the multihost cluster). @default '127.0.0.1' */
  host?: string;
  /** Run inside this network namespace (`nsenter --net`), as root would anyway. @default the current one */
  netns?: string;
  /** Networks (CIDR) whose clients are trusted without a password, besides loopback: the multihost subnet. @default none */
  trustNetworks?: readonly string[];
  /**
   * `fsync`, `synchronous_commit` and `full_page_writes` on. Tests that never
   * crash the machine turn it off for speed; a crash of PostgreSQL alone loses
   * nothing either way. @default true
   */
  durable?: boolean;
  /** Own process group (a terminal's Ctrl-C reaches only the parent). @default false */
  detached?: boolean;
  /** Extra `-c name=value` settings. @default {} */
  settings?: Readonly<Record<string, string>>;
  /**
   * Restart it after an exit nobody asked for (the cluster's supervisor),
   * once the dead postmaster's backends are gone. @default false
   */
  restartOnCrash?: boolean;
  /** Its starts, crashes and restarts. @default silentLogger */
  log?: Logger;
  /** Called with the new postmaster pid on every start and `null` on every exit. @default none */
  onPidChange?: (pid: number | null) => void;
}

/** Where PostgreSQL's programs are, and who runs them. */
export interface PostgresInstallation {
  /** Directory holding `initdb`, `postgres`, `pg_isready`, `createdb`. */
  binDir: string;
  /** uid/gid to run as (only when we are root: PostgreSQL refuses to run as root). */
  runAs: { uid: number; gid: number; name: string } | undefined;
}

/**
 * Finds PostgreSQL's server programs: Debian keeps them in
 * `/usr/lib/postgresql/<major>/bin` (the newest major wins), other systems on
 * `PATH`. Throws a message saying what to install when there are none.
 */
export function findPostgresInstallation(): PostgresInstallation {
  const binDir = debianBinDir() ?? pathBinDir();
  if (binDir === undefined) {
    throw new Error('PostgreSQL is not installed: install it (Debian: apt-get install -y postgresql)');
  }
  return { binDir, runAs: isRoot() ? unprivilegedUser() : undefined };
}

function debianBinDir(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const majors = readdirSync(base)
    .filter((name) => /^\d+$/.test(name) && existsSync(join(base, name, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return majors[0] === undefined ? undefined : join(base, majors[0], 'bin');
}

function pathBinDir(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir !== '' && existsSync(join(dir, 'postgres')) && existsSync(join(dir, 'initdb'))) return dir;
  }
  return undefined;
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** The `postgres` system user (Debian's package makes it), else `nobody`. */
function unprivilegedUser(): { uid: number; gid: number; name: string } {
  const passwd = readFileSync('/etc/passwd', 'utf8').split('\n');
  for (const name of ['postgres', 'nobody']) {
    const line = passwd.find((entry) => entry.startsWith(`${name}:`));
    const fields = line?.split(':');
    if (fields?.[2] !== undefined && fields[3] !== undefined) return { uid: Number(fields[2]), gid: Number(fields[3]), name };
  }
  throw new Error('running as root, but there is neither a postgres nor a nobody user to run PostgreSQL as');
}

/** Whether every folder from `/` down to `dir` can be entered by `uid` (other-execute, or owned by it). */
function reachableBy(dir: string, uid: number): boolean {
  for (let current = resolve(dir); ; current = dirname(current)) {
    if (existsSync(current)) {
      const stats = statSync(current);
      const searchable = stats.uid === uid ? (stats.mode & 0o100) !== 0 : (stats.mode & 0o001) !== 0;
      if (!searchable) return false;
    }
    if (dirname(current) === current) return true;
  }
}

/** The data directory for `dir`, moved under the temp directory when `runAs` cannot reach `dir`. */
function dataDirFor(dir: string, runAs: PostgresInstallation['runAs']): string {
  const wanted = join(resolve(dir), 'data');
  if (runAs === undefined || reachableBy(dir, runAs.uid)) return wanted;
  const name = createHash('sha256').update(resolve(dir)).digest('hex').slice(0, 16);
  const relocated = join(tmpdir(), `parley-postgres-${name}`);
  forgetWithItsDirectory(resolve(dir), relocated);
  return join(relocated, 'data');
}

/** Data directories moved out of reach of their `dir`, by that `dir`. */
const relocatedDataDirs = new Map<string, string>();

/**
 * A moved data directory lives as long as the directory it stands for: when
 * this process ends and `dir` is gone (a test removed its temporary cluster),
 * the moved copy goes too, instead of leaving ~40 MB in the temp directory per
 * run. A `dir` that still exists (`npm start`'s `.run/`) keeps its data.
 */
function forgetWithItsDirectory(dir: string, relocated: string): void {
  if (relocatedDataDirs.size === 0) {
    process.once('exit', () => {
      for (const [original, moved] of relocatedDataDirs) {
        if (!existsSync(original)) rmSync(moved, { recursive: true, force: true });
      }
    });
  }
  relocatedDataDirs.set(dir, relocated);
}

function spawnOptions(runAs: PostgresInstallation['runAs']): { uid?: number; gid?: number } {
  return runAs === undefined ? {} : { uid: runAs.uid, gid: runAs.gid };
}

/** Makes `dir` (and missing parents) and hands it to `runAs`, who must own a data directory. */
function ownedDirectory(dir: string, runAs: PostgresInstallation['runAs']): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (runAs !== undefined) chownSync(dir, runAs.uid, runAs.gid);
}

/** Runs `initdb` once: a data directory that already has `PG_VERSION` is kept as it is. */
async function initDataDir(install: PostgresInstallation, dataDir: string): Promise<void> {
  if (existsSync(join(dataDir, 'PG_VERSION'))) return;
  ownedDirectory(dirname(dataDir), install.runAs);
  ownedDirectory(dataDir, install.runAs);
  await execFileAsync(
    join(install.binDir, 'initdb'),
    // trust on loopback only (listen_addresses below): the server is private to this machine.
    ['-D', dataDir, '-A', 'trust', '-U', POSTGRES_USER, '-E', 'UTF8', '--locale=C', '--no-instructions'],
    { ...spawnOptions(install.runAs), cwd: dirname(dataDir), timeout: 60_000 },
  );
}

/**
 * Starts a private PostgreSQL on `127.0.0.1` (no Unix socket), creating its
 * data directory and the `parley` database on first use, and resolves once it
 * accepts connections. As root it runs as the `postgres` (or `nobody`) user.
 */
export async function startPostgresServer(options: PostgresServerOptions): Promise<PostgresServerHandle> {
  const install = findPostgresInstallation();
  const port = options.port ?? (await findFreePort());
  const host = options.host ?? '127.0.0.1';
  const dataDir = dataDirFor(options.dir, install.runAs);
  mkdirSync(options.dir, { recursive: true });
  const logFile = join(options.dir, 'postgres.log');
  await initDataDir(install, dataDir);
  trustNetworks(dataDir, options.trustNetworks ?? []);
  const durable = options.durable ?? true;
  const settings: Record<string, string> = {
    listen_addresses: host,
    unix_socket_directories: '',
    // Durable keeps the defaults, commit_delay 0 included: a delay to share WAL
    // flushes measured no gain (docs/SCALING.md, "PostgreSQL server settings").
    ...(durable ? {} : { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' }),
    ...options.settings,
  };
  const args = ['-D', dataDir, '-p', String(port), ...Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`])];

  // In a namespace: nsenter enters it as root, then becomes the unprivileged user and execs postgres (same pid).
  const inNamespace = options.netns === undefined ? undefined : netnsCommand(options.netns, install.runAs);
  const server = new SupervisedProcess({
    name: 'postgres',
    command: inNamespace?.[0] ?? join(install.binDir, 'postgres'),
    args: inNamespace === undefined ? args : [...inNamespace.slice(1), join(install.binDir, 'postgres'), ...args],
    env: process.env,
    cwd: dirname(dataDir),
    logFile,
    stdio: 'file',
    // Fast shutdown: open transactions roll back, a checkpoint is written.
    stopSignal: 'SIGINT',
    user: inNamespace === undefined ? install.runAs : undefined,
    log: options.log ?? silentLogger,
    detached: options.detached ?? false,
    restartOnCrash: options.restartOnCrash ?? false,
    // Backends of a SIGKILLed postmaster hold its shared memory until they
    // notice; a new postmaster refuses to start while they do. They all run
    // in the data directory.
    afterExit: () => void killLeftovers({ comm: 'postgres', cwd: dataDir }),
    ready: (signal, pid) => waitUntilReady(dataDir, pid, signal, logFile),
    onPidChange: options.onPidChange ?? (() => undefined),
  });
  // A fast shutdown waits for the checkpoint; 30 s is far above what a test database needs.
  const stopTimeoutMs = 30_000;
  try {
    await server.start();
    await createDatabase(install, host, port, options.netns);
  } catch (error) {
    await server.stop(stopTimeoutMs);
    throw error;
  }
  return {
    port,
    url: `postgres://${POSTGRES_USER}@${host}:${port}/${POSTGRES_DATABASE}`,
    dataDir,
    get pid() {
      return server.pid;
    },
    start: () => server.start(),
    stop: () => server.stop(stopTimeoutMs),
    stopImmediate: () => server.stop(stopTimeoutMs, 'SIGQUIT'),
    kill: async () => {
      if (server.kill('SIGKILL')) await server.waitForExit(stopTimeoutMs);
    },
  };
}

/**
 * Waits until the postmaster `pid` writes "ready" in its own `postmaster.pid`
 * (what `pg_ctl -w` reads): it has bound its port and accepts connections.
 * A probe of the port could be answered by another program's PostgreSQL that
 * took the port meanwhile; this file is ours. Gives up at once when `signal`
 * aborts (it exited).
 */
async function waitUntilReady(dataDir: string, pid: number, signal: AbortSignal, logFile: string): Promise<void> {
  // Crash recovery after `kill -9` replays the WAL first: allow it time.
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (signal.aborted) throw new Error(`postgres exited at start; see ${logFile}`);
    // Lines: pid, data dir, start time, port, socket dir, listen address, shared memory key, status.
    const lines = await readFile(join(dataDir, 'postmaster.pid'), 'utf8').then(
      (text) => text.split('\n'),
      () => [],
    );
    if (Number(lines[0]) === pid && lines[7]?.trim() === 'ready') return;
    if (Date.now() > deadline) throw new Error(`postgres (pid ${pid}) not ready after 60 s; see ${logFile}`);
    await sleep(50);
  }
}

/** `nsenter` into the network namespace `netns`, then as `runAs` (when given). */
function netnsCommand(netns: string, runAs: PostgresInstallation['runAs']): string[] {
  const user = runAs === undefined ? [] : ['--setuid', String(runAs.uid), '--setgid', String(runAs.gid)];
  return ['nsenter', `--net=/run/netns/${netns}`, ...user];
}

/** Appends a `host all all CIDR trust` line to `pg_hba.conf` for each network not listed yet. */
function trustNetworks(dataDir: string, networks: readonly string[]): void {
  if (networks.length === 0) return;
  const hbaFile = join(dataDir, 'pg_hba.conf');
  const hba = readFileSync(hbaFile, 'utf8');
  const missing = networks.filter((network) => !hba.includes(`host all all ${network} trust`));
  if (missing.length > 0) appendFileSync(hbaFile, missing.map((network) => `host all all ${network} trust\n`).join(''));
}

/** Creates the `parley` database unless it exists (a restart on the same data directory). */
async function createDatabase(install: PostgresInstallation, host: string, port: number, netns: string | undefined): Promise<void> {
  const createdb = [join(install.binDir, 'createdb'), '-h', host, '-p', String(port), '-U', POSTGRES_USER, POSTGRES_DATABASE];
  const [command = '', ...args] = netns === undefined ? createdb : [...netnsCommand(netns, undefined), ...createdb];
  try {
    await execFileAsync(command, args, { timeout: 30_000 });
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '');
    if (!stderr.includes('already exists')) throw new Error(`createdb failed: ${stderr.trim() || (error as Error).message}`, { cause: error });
  }
}
