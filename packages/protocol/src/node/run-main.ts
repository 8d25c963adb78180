import type { Logger } from '../logger.js';
import { ConfigError } from './config.js';

/** What a process's `start` hands back to `runMain` once it is up. */
export interface RunningProcess {
  /** Where `runMain` logs the shutdown. */
  log: Logger;
  /** Closes everything the process opened (servers first, connections last). */
  stop(): Promise<void>;
}

/** What `start` may look at while it starts. */
export interface StartContext {
  /** Aborted when SIGINT or SIGTERM came: `runMain` stops the process as soon as `start` returns. */
  stopping: AbortSignal;
}

/** Options of `runMain`. */
export interface RunMainOptions {
  /** The role, named on stderr when the start fails (`'web'`). */
  name: string;
  /**
   * A shutdown not finished this long after the signal is stuck (a hung socket
   * or Redis): exiting beats a process its supervisor cannot replace. The
   * supervisor waits 10 s at most.
   * @default 10000
   */
  forcedExitMs?: number;
  /**
   * Log an uncaught exception and stop everything, exiting 1 (the supervisor:
   * its children would outlive it).
   * @default false
   */
  stopOnUncaughtException?: boolean;
}

/**
 * The one `main()` of every Parley process. Runs `start`; an invalid
 * configuration (`ConfigError`) prints its problems on stderr and exits 1, any
 * other failure to start prints its stack and exits 1 (0 when a signal came
 * during the start). SIGINT and SIGTERM stop the process once: `stop()`, then
 * exit 0; a failed stop exits 1, and so does a stop still running after
 * `forcedExitMs`.
 */
export function runMain(start: (context: StartContext) => Promise<RunningProcess>, options: RunMainOptions): void {
  const forcedExitMs = options.forcedExitMs ?? 10_000;
  const stopping = new AbortController();
  let running: RunningProcess | undefined;
  const starting = start({ stopping: stopping.signal }).then((process) => {
    running = process;
    return process;
  });

  function fail(message: string, fields: object): void {
    if (running === undefined) process.stderr.write(`${options.name}: ${message}\n`);
    else running.log.error(fields, message);
  }

  async function shutdown(reason: string, exitCode: number): Promise<void> {
    if (stopping.signal.aborted) return;
    stopping.abort();
    setTimeout(() => {
      fail('shutdown timed out; forcing exit', { timeoutMs: forcedExitMs });
      process.exit(1);
    }, forcedExitMs).unref();
    // A signal during the start: let the start finish (bounded above), then stop it all.
    const started = await starting.catch(() => undefined);
    if (started === undefined) process.exit(exitCode);
    started.log.info({ reason }, 'shutting down');
    await started.stop();
    started.log.info({}, 'stopped');
    process.exit(exitCode);
  }

  function stopOn(reason: string, exitCode: number): void {
    shutdown(reason, exitCode).catch((error: unknown) => {
      fail('shutdown failed', { err: error });
      process.exit(1);
    });
  }

  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stopOn(signal, 0));
  if (options.stopOnUncaughtException === true) {
    process.on('uncaughtException', (error) => {
      fail('uncaught exception', { err: error });
      stopOn('uncaught exception', 1);
    });
  }

  starting.catch((error: unknown) => {
    if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
    else if (!stopping.signal.aborted) process.stderr.write(`${options.name} failed to start: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(stopping.signal.aborted ? 0 : 1);
  });
}
