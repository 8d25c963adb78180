import type { Logger } from '../logger.js';

/** Options of `createPeriodicTask`. */
export interface PeriodicTaskOptions<T> {
  /** Named in the task's log lines as `task` (`'outbox relay'`). */
  name: string;
  /** Time from the end of one run to the start of the next; the first run comes one interval after `start()`. */
  intervalMs: number;
  /** One run. A rejection is a failure: logged once per outage, retried next interval. */
  run: () => Promise<T>;
  log: Logger;
}

/** Background work repeated on a timer (outbox relay, session purge, catch-up, presence sweep, heartbeat). */
export interface PeriodicTask<T> {
  /** Starts the timer (unref'd: it never keeps a process alive). Starting a started task does nothing. */
  start(): void;
  /**
   * One run now, shared with a run already under way (runs never overlap).
   * Rejects when the run failed; the failure is logged like a timer run's.
   */
  runOnce(): Promise<T>;
  /** Stops the timer and waits for a run under way, if any. Never rejects. */
  stop(): Promise<void>;
}

/**
 * The one way Parley repeats background work. Runs never overlap; the timer
 * is unref'd; a failing task logs one warning when an outage begins (with
 * `{ err }`) and one line when a run succeeds again, however many runs
 * failed in between — not a line per retry.
 */
export function createPeriodicTask<T>(options: PeriodicTaskOptions<T>): PeriodicTask<T> {
  const { name, intervalMs, run, log } = options;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<T> | undefined;
  let started = false;
  // Since when runs fail, and how many did: the recovery line reports both.
  let failingSince: number | undefined;
  let failedRuns = 0;

  function runOnce(): Promise<T> {
    running ??= run()
      .then(
        (result) => {
          if (failingSince !== undefined) {
            log.info({ task: name, failedRuns, outageMs: Date.now() - failingSince }, 'periodic task recovered');
            failingSince = undefined;
            failedRuns = 0;
          }
          return result;
        },
        (error: unknown) => {
          if (failingSince === undefined) {
            failingSince = Date.now();
            log.warn({ task: name, err: error, retryMs: intervalMs }, 'periodic task failing');
          }
          failedRuns++;
          throw error;
        },
      )
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  function schedule(): void {
    if (!started) return;
    timer = setTimeout(() => {
      timer = undefined;
      // The failure is logged above; the next run is scheduled either way.
      void runOnce()
        .catch(() => undefined)
        .then(schedule);
    }, intervalMs);
    timer.unref();
  }

  return {
    start() {
      if (started) return;
      started = true;
      schedule();
    },
    runOnce,
    async stop() {
      started = false;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await running?.catch(() => undefined);
    },
  };
}
