import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { closeSync, createWriteStream, openSync, type WriteStream } from 'node:fs';
import type { Logger } from '@parley/protocol';
import { forEachLine, type LineSink } from './line-splitter.js';
import { settlesWithin } from './wait.js';

/** First restart delay after an unexpected exit. */
export const RESTART_INITIAL_DELAY_MS = 250;
/** Longest restart delay: a crash loop costs one start every 10 s, no more. */
export const RESTART_MAX_DELAY_MS = 10_000;
// A process that stayed up this long is considered healthy again, so its next
// crash restarts it quickly instead of after the previous, long, delay.
const STABLE_UPTIME_MS = 10_000;

/** Options of a `SupervisedProcess`. */
export interface SupervisedProcessOptions {
  /** Role and index, e.g. `web-1`; prefixes every output line. */
  name: string;
  command: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Per-process log file; appended to across restarts. */
  logFile: string;
  /**
   * `'pipe'`: every stdout and stderr line goes to `logFile` and, prefixed
   * with the name, to `output`. `'file'`: the child writes to `logFile`
   * itself (servers with their own log, whose output nobody reads line by
   * line). @default 'pipe'
   */
  stdio?: 'pipe' | 'file';
  /** Receives `name | line` for every output line (`stdio: 'pipe'` only). @default none */
  output?: LineSink | undefined;
  log: Logger;
  /** Own process group: a terminal's Ctrl-C reaches only the supervisor. @default false */
  detached?: boolean;
  /** Run the child as this user (PostgreSQL refuses to run as root). @default the supervisor's own */
  user?: { uid: number; gid: number } | undefined;
  /** The signal of a graceful stop (PostgreSQL's fast shutdown is SIGINT). @default 'SIGTERM' */
  stopSignal?: NodeJS.Signals;
  /**
   * Resolves once the freshly spawned child `pid` serves. Check that it is
   * this child that answers, not just that something does: on a shared
   * machine another program may bind a port we picked as free, and our
   * server then fails while the port still answers. `signal` aborts when
   * the child exits, so the check can give up at once. `start()` resolves
   * after it; a restart logs when it fails.
   * @default none: spawned means ready
   */
  ready?: (signal: AbortSignal, pid: number) => Promise<void>;
  /**
   * Restart the child after an exit nobody asked for (`stop()` is the only
   * way to end it for good). Helpers that tests drive by hand turn it off:
   * a killed server then stays down until `start()`. @default true
   */
  restartOnCrash?: boolean;
  /**
   * Runs after every exit, before any restart: cleans up what the process
   * left behind (nginx workers outlive a SIGKILLed master and keep its
   * port). @default none
   */
  afterExit?: () => void;
  /** Called with the new pid on every start and with `null` on every exit. */
  onPidChange: (pid: number | null) => void;
}

/**
 * One child process that is restarted when it dies unexpectedly, with
 * exponential backoff (250 ms doubling to 10 s, back to 250 ms after 10 s
 * up). `stop()` ends it until the next `start()`; an exit between the two is
 * a deliberate outage, not a crash.
 */
export class SupervisedProcess {
  readonly name: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  /** Readiness of the current child (resolved when there is no check). */
  private readiness: Promise<void> = Promise.resolve();
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private consecutiveCrashes = 0;
  private startedAt = 0;
  private logStream: WriteStream | undefined;

  constructor(private readonly options: SupervisedProcessOptions) {
    this.name = options.name;
  }

  /** pid of the running child, or `undefined` while it is down. */
  get pid(): number | undefined {
    const child = this.child;
    return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
  }

  /**
   * Spawns the child unless it runs (first start, or after `stop()` or a
   * crash: a pending restart happens now instead), and resolves once it is
   * ready. Rejects when the child exits or fails its readiness check first.
   */
  start(): Promise<void> {
    this.stopping = false;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    if (this.pid === undefined) this.spawnChild();
    return this.readiness;
  }

  /** Sends `signal` to the child by pid; an unexpected exit is followed by a restart. */
  kill(signal: NodeJS.Signals): boolean {
    const pid = this.pid;
    if (pid === undefined) return false;
    process.kill(pid, signal);
    return true;
  }

  /** Resolves when the current child has exited (at once when none runs). */
  waitForExit(timeoutMs: number): Promise<boolean> {
    return settlesWithin(this.exited, timeoutMs);
  }

  /**
   * Ends the child until the next `start()`: `signal` (the stop signal by
   * default), then SIGKILL if it is still alive after `timeoutMs`. Cancels a
   * pending restart.
   */
  async stop(timeoutMs: number, signal: NodeJS.Signals = this.options.stopSignal ?? 'SIGTERM'): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    if (this.pid !== undefined) {
      this.kill(signal);
      const stopped = await settlesWithin(this.exited, timeoutMs);
      if (!stopped && this.pid !== undefined) {
        this.options.log.warn({ process: this.name, timeoutMs, signal }, 'process ignored its stop signal; killing');
        this.kill('SIGKILL');
        await settlesWithin(this.exited, 5000);
      }
    }
    const stream = this.logStream;
    this.logStream = undefined;
    if (stream) await new Promise<void>((resolve) => stream.end(resolve));
  }

  private openLog(): WriteStream {
    if (!this.logStream) {
      const stream = createWriteStream(this.options.logFile, { flags: 'a' });
      stream.on('error', (error) => this.options.log.error({ process: this.name, err: error }, 'log file error'));
      this.logStream = stream;
    }
    return this.logStream;
  }

  private spawnChild(): void {
    const { options } = this;
    const piped = (options.stdio ?? 'pipe') === 'pipe';
    // A server writing its own log gets the file itself: nothing of ours sits in its output path.
    const logFd = piped ? undefined : openSync(options.logFile, 'a');
    const stdio: StdioOptions = logFd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', logFd, logFd];
    let child: ChildProcess;
    try {
      child = spawn(options.command, [...options.args], {
        cwd: options.cwd,
        env: options.env,
        stdio,
        detached: options.detached ?? false,
        ...(options.user === undefined ? {} : { uid: options.user.uid, gid: options.user.gid }),
      });
    } finally {
      if (logFd !== undefined) closeSync(logFd);
    }
    this.child = child;
    this.startedAt = Date.now();
    const gone = new AbortController();
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        gone.abort();
        resolve();
      }),
    );
    if (piped) {
      const logStream = this.openLog();
      const onLine = (line: string): void => {
        logStream.write(`${line}\n`);
        options.output?.write(`${this.name} | ${line}\n`);
      };
      if (child.stdout) forEachLine(child.stdout, onLine);
      if (child.stderr) forEachLine(child.stderr, onLine);
    }
    child.once('error', (error) => {
      options.log.error({ process: this.name, err: error }, 'process spawn failed');
      // A child that never ran (ENOENT, EACCES) emits no 'exit': its readiness fails here.
      if (child.pid === undefined) gone.abort();
    });
    child.once('exit', (code, signal) => this.onExit(code, signal));
    if (child.pid !== undefined) {
      options.log.info({ process: this.name, childPid: child.pid }, 'process started');
      options.onPidChange(child.pid);
    }
    this.readiness = this.checkReady(child, gone.signal);
    // A restart has no caller to tell: its failure is logged by checkReady, not thrown.
    this.readiness.catch(() => undefined);
  }

  private async checkReady(child: ChildProcess, gone: AbortSignal): Promise<void> {
    const exitedEarly = (): Error => new Error(`${this.name} exited before it was ready; see ${this.options.logFile}`);
    if (gone.aborted) throw exitedEarly();
    const { ready } = this.options;
    if (ready === undefined) return;
    const aborted = new Promise<never>((_resolve, reject) => gone.addEventListener('abort', () => reject(exitedEarly()), { once: true }));
    aborted.catch(() => undefined);
    try {
      await Promise.race([ready(gone, child.pid ?? -1), aborted]);
    } catch (error) {
      if (!gone.aborted) {
        this.options.log.warn({ process: this.name, childPid: child.pid ?? null, err: error }, 'process not ready');
      }
      throw error;
    }
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.options.afterExit?.();
    this.options.onPidChange(null);
    if (this.stopping) {
      this.options.log.info({ process: this.name, code, signal }, 'process stopped');
      return;
    }
    if (this.options.restartOnCrash === false) {
      this.options.log.warn({ process: this.name, code, signal }, 'process exited unexpectedly');
      return;
    }
    if (Date.now() - this.startedAt >= STABLE_UPTIME_MS) this.consecutiveCrashes = 0;
    const delayMs = Math.min(RESTART_INITIAL_DELAY_MS * 2 ** this.consecutiveCrashes, RESTART_MAX_DELAY_MS);
    this.consecutiveCrashes++;
    this.options.log.warn({ process: this.name, code, signal, delayMs }, 'process exited unexpectedly; restarting');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.stopping) this.spawnChild();
    }, delayMs);
  }
}
