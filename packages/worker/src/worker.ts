import { performance } from 'node:perf_hooks';
import { NOTIFY_QUEUE_NAME, type Logger, type NotifyJobData } from '@parley/protocol';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { createChatserverClient } from './chatserver-client.js';
import type { WorkerConfig } from './config.js';
import { NotifyError } from './notify-error.js';
import { createRegistryReader } from './registry-reader.js';
import type { WorkerMetrics } from './metrics.js';

/** The settings `createWorker` uses (a subset of `WorkerConfig`). */
export type NotifyWorkerConfig = Pick<WorkerConfig, 'redisPrefix' | 'secret' | 'concurrency' | 'notifyTimeoutMs'> &
  Partial<Pick<WorkerConfig, 'notifyBatchEvents'>>;

/** Dependencies of `createWorker`. */
export interface CreateWorkerOptions {
  /**
   * The Redis connection, built by the caller with `maxRetriesPerRequest: null`
   * (BullMQ requires it). It stays the caller's: `close()` does not quit it.
   */
  connection: Redis;
  log: Logger;
  config: Readonly<NotifyWorkerConfig>;
  /**
   * Longest `close()` waits for running jobs before abandoning them (their
   * locks expire and another worker runs them again).
   * @default 10000
   */
  closeTimeoutMs?: number;
  /** Where job and POST outcomes are counted. @default none */
  metrics?: WorkerMetrics;
}

/** The retryable failure of a job that found no live chatserver in the registry. */
export const NO_LIVE_CHATSERVER = 'no live chatserver in the registry';

/** A running notify worker. */
export interface NotifyWorker {
  /** Stops taking jobs, waits (bounded) for running ones, closes the chatserver pools. */
  close(): Promise<void>;
}

/** What a completed notify job returns (kept by BullMQ with the job). */
export interface NotifyJobResult {
  /** How many chatservers acknowledged the events. */
  chatservers: number;
}

/**
 * Starts a BullMQ worker on the notify queue. Each job's events go to every
 * live chatserver in the registry at once; one slow or dead chatserver never
 * delays the others. The job completes when all acknowledged, is retried when
 * the registry is empty (`NO_LIVE_CHATSERVER`), is retried by BullMQ when any failed transiently (network, timeout,
 * 5xx; chatservers drop duplicates), and fails for good when the only
 * failures were refusals (4xx).
 */
export function createWorker(options: CreateWorkerOptions): NotifyWorker {
  const { connection, config } = options;
  const log = options.log.child({ component: 'notify-worker' });
  const closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
  const registry = createRegistryReader({ redis: connection, prefix: config.redisPrefix });
  const client = createChatserverClient({
    secret: config.secret,
    timeoutMs: config.notifyTimeoutMs,
    log,
    ...(config.notifyBatchEvents === undefined ? {} : { maxBatchEvents: config.notifyBatchEvents }),
  });
  const metrics = options.metrics;
  // Timed for /metrics: from hand-over to the chatserver's answer, waiting behind a POST in flight included.
  async function send(url: string, events: NotifyJobData['events']): Promise<void> {
    if (metrics === undefined) return client.send(url, events);
    const startedAt = performance.now();
    let ok = false;
    try {
      await client.send(url, events);
      ok = true;
    } finally {
      metrics.postFinished((performance.now() - startedAt) / 1000, ok);
    }
  }

  async function notifyChatservers(job: Job<NotifyJobData, NotifyJobResult>): Promise<NotifyJobResult> {
    const events = job.data?.events;
    if (!Array.isArray(events)) throw new UnrecoverableError('job data has no events array');
    if (events.length === 0) return { chatservers: 0 };
    const targets = await registry.live();
    client.markLive(targets);
    // An empty registry is not "nobody to tell": right after a Redis failover
    // the new primary's entries may have expired (or been lost) until each
    // chatserver's next beat. Fail retryably; BullMQ's backoff outlasts a beat.
    if (targets.length === 0) throw new Error(NO_LIVE_CHATSERVER);

    const results = await Promise.allSettled(targets.map((url) => send(url, events)));
    const failures: NotifyError[] = [];
    for (const [index, result] of results.entries()) {
      if (result.status === 'fulfilled') continue;
      const url = targets[index] ?? '';
      const failure =
        result.reason instanceof NotifyError
          ? result.reason
          : new NotifyError(url, String(result.reason), { retryable: true, cause: result.reason });
      failures.push(failure);
      log.warn(
        { jobId: job.id ?? '', attempt: job.attemptsMade + 1, url, status: failure.status ?? 0, error: failure.message },
        'chatserver notify failed',
      );
    }
    if (failures.length === 0) return { chatservers: targets.length };
    const summary = `${failures.length} of ${targets.length} chatservers failed: ${failures
      .map((failure) => `${failure.url} ${failure.message}`)
      .join('; ')}`;
    if (failures.some((failure) => failure.retryable)) throw new Error(summary);
    // Only refusals: the same request would be refused again, retrying only delays the log line.
    throw new UnrecoverableError(summary);
  }

  const worker = new Worker<NotifyJobData, NotifyJobResult>(NOTIFY_QUEUE_NAME, notifyChatservers, {
    connection,
    prefix: `${config.redisPrefix}bull`,
    concurrency: config.concurrency,
  });

  worker.on('error', (error) => {
    log.error({ err: error }, 'notify worker error');
  });
  worker.on('completed', () => metrics?.jobFinished('completed'));
  worker.on('failed', (job, error) => {
    metrics?.jobFinished('failed');
    if (job === undefined) {
      log.error({ err: error }, 'notify job failed');
      return;
    }
    const attempts = job.opts.attempts ?? 1;
    const final = error instanceof UnrecoverableError || error.name === 'UnrecoverableError' || job.attemptsMade >= attempts;
    const fields = { jobId: job.id ?? '', attemptsMade: job.attemptsMade, attempts, err: error };
    if (final) log.error(fields, 'notify job gave up');
    else log.warn(fields, 'notify job failed, will retry');
  });

  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), closeTimeoutMs);
        });
        // pause() stops fetching and waits for running jobs; a second close() call
        // would not turn a waiting close into a forced one, hence pause, then force.
        const outcome = await Promise.race([worker.pause().then(() => 'paused' as const), timedOut]);
        clearTimeout(timer);
        if (outcome === 'timeout') log.warn({ closeTimeoutMs }, 'notify jobs still running at close: abandoning them');
        await worker.close(true).catch((error: unknown) => {
          log.warn({ err: error }, 'notify worker close failed');
        });
        await client.close();
      })();
      return closing;
    },
  };
}
