import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
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
  /** Receives `name | line` for every output line. @default none */
  output?: LineSink | undefined;
  log: Logger;
  /** Own process group: a terminal's Ctrl-C reaches only the supervisor. @default false */
  detached?: boolean;
  /** Called with the new pid on every start and with `null` on every exit. */
  onPidChange: (pid: number | null) => void;
}

/**
 * One child process that is restarted when it dies unexpectedly, with
 * exponential backoff (250 ms doubling to 10 s). Only `stop()` ends it for good.
 */
export class SupervisedProcess {
  readonly name: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private consecutiveCrashes = 0;
  private startedAt = 0;
  private readonly logStream: WriteStream;

  constructor(private readonly options: SupervisedProcessOptions) {
    this.name = options.name;
    this.logStream = createWriteStream(options.logFile, { flags: 'a' });
    this.logStream.on('error', (error) => options.log.error({ process: this.name, err: error.message }, 'log file error'));
  }

  /** pid of the running child, or `undefined` while it is down. */
  get pid(): number | undefined {
    const child = this.child;
    return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
  }

  /** Spawns the child (first start). */
  start(): void {
    this.spawnChild();
  }

  /** Sends `signal` to the child by pid; an unexpected exit is followed by a restart. */
  kill(signal: NodeJS.Signals): boolean {
    const pid = this.pid;
    if (pid === undefined) return false;
    process.kill(pid, signal);
    return true;
  }

  /**
   * Ends the child for good: SIGTERM, then SIGKILL if it is still alive after
   * `timeoutMs`. Cancels a pending restart.
   */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    if (this.pid !== undefined) {
      this.kill('SIGTERM');
      const stopped = await settlesWithin(this.exited, timeoutMs);
      if (!stopped && this.pid !== undefined) {
        this.options.log.warn({ process: this.name, timeoutMs }, 'process ignored SIGTERM; killing');
        this.kill('SIGKILL');
        await settlesWithin(this.exited, 5000);
      }
    }
    await new Promise<void>((resolve) => this.logStream.end(resolve));
  }

  private spawnChild(): void {
    const { options } = this;
    const child = spawn(options.command, [...options.args], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: options.detached ?? false,
    });
    this.child = child;
    this.startedAt = Date.now();
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const onLine = (line: string): void => {
      this.logStream.write(`${line}\n`);
      options.output?.write(`${this.name} | ${line}\n`);
    };
    if (child.stdout) forEachLine(child.stdout, onLine);
    if (child.stderr) forEachLine(child.stderr, onLine);
    child.once('error', (error) => options.log.error({ process: this.name, err: error.message }, 'process spawn failed'));
    child.once('exit', (code, signal) => this.onExit(code, signal));
    if (child.pid !== undefined) {
      options.log.info({ process: this.name, childPid: child.pid }, 'process started');
      options.onPidChange(child.pid);
    }
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.options.onPidChange(null);
    if (this.stopping) {
      this.options.log.info({ process: this.name, code, signal }, 'process stopped');
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
