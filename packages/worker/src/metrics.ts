import type { ServerResponse } from 'node:http';
import { NOTIFY_QUEUE_NAME } from '@parley/protocol';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { METRICS_PREFIX } from '@parley/protocol/node';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { liveChatservers } from './registry-reader.js';

const PREFIX = METRICS_PREFIX;

// A notify POST on one machine takes about a millisecond; the timeout (2 s by
// default) is the top bucket that matters.
const POST_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

// A scrape must answer even while Redis is down: a Redis read that has not
// answered by then is reported as unknown (parley_queue_up 0).
const SCRAPE_REDIS_TIMEOUT_MS = 1000;

const QUEUE_STATES = ['waiting', 'active', 'delayed'] as const;

/** Options of `WorkerMetrics`. */
export interface WorkerMetricsOptions {
  registry: Registry;
  /**
   * Redis the queue depth and registry size are read from at scrape time: a
   * fail-fast connection (`enableOfflineQueue: false`), so an outage answers
   * at once instead of queueing reads. The caller owns it.
   */
  redis: Redis;
  /** `PARLEY_REDIS_PREFIX`. */
  prefix: string;
}

/** The worker's metrics: job and POST outcomes counted as they happen, Redis state read at scrape time. */
export class WorkerMetrics {
  readonly registry: Registry;
  private readonly jobs: Counter<'result'>;
  private readonly postDuration: Histogram<'result'>;
  private readonly queue: Queue;

  constructor(options: WorkerMetricsOptions) {
    const registers = [options.registry];
    this.registry = options.registry;
    this.jobs = new Counter({
      name: `${PREFIX}notify_jobs_total`,
      help: 'Notify jobs finished, by result: completed, or failed (an attempt that will be retried, or the last one).',
      labelNames: ['result'],
      registers,
    });
    this.postDuration = new Histogram({
      name: `${PREFIX}notify_post_duration_seconds`,
      help: 'Time from handing events to a chatserver to its answer (ok) or the failure (failed), per chatserver.',
      labelNames: ['result'],
      buckets: POST_BUCKETS_SECONDS,
      registers,
    });
    // Zero series from the start, so rate() and alerts see every result.
    for (const result of ['completed', 'failed'] as const) this.jobs.labels(result).inc(0);
    for (const result of ['ok', 'failed'] as const) this.postDuration.zero({ result });
    this.queue = new Queue(NOTIFY_QUEUE_NAME, { connection: options.redis, prefix: `${options.prefix}bull` });
    this.queue.on('error', () => undefined); // a scrape during an outage reports it through parley_queue_up
    const queue = this.queue;
    const { redis, prefix } = options;
    // prom-client starts every collect() of a scrape in the same tick: the two
    // queue gauges share one read, so they never disagree.
    let reading: Promise<Record<string, number> | undefined> | undefined;
    const readCounts = (): Promise<Record<string, number> | undefined> =>
      (reading ??= withTimeout(queue.getJobCounts(...QUEUE_STATES)).finally(() => {
        reading = undefined;
      }));
    new Gauge({
      name: `${PREFIX}queue_up`,
      help: 'Whether this scrape could read the queue from Redis (1) or not (0).',
      registers,
      async collect() {
        this.set((await readCounts()) === undefined ? 0 : 1);
      },
    });
    new Gauge({
      name: `${PREFIX}queue_jobs`,
      help: 'Notify jobs in the queue by state (waiting, active, delayed), read at scrape time; absent when Redis did not answer.',
      labelNames: ['state'],
      registers,
      async collect() {
        const counts = await readCounts();
        this.reset();
        if (counts === undefined) return;
        for (const state of QUEUE_STATES) this.labels(state).set(counts[state] ?? 0);
      },
    });
    new Gauge({
      name: `${PREFIX}registry_chatservers`,
      help: 'Chatservers whose registry heartbeat is live (the fan-out width), read at scrape time; NaN when Redis did not answer.',
      registers,
      async collect() {
        const live = await withTimeout(liveChatservers(redis, prefix));
        this.set(live === undefined ? Number.NaN : live.length);
      },
    });
  }

  /** A notify job finished (`completed`) or an attempt failed (`failed`). */
  jobFinished(result: 'completed' | 'failed'): void {
    this.jobs.labels(result).inc();
  }

  /** A send to one chatserver ended after `seconds`. */
  postFinished(seconds: number, ok: boolean): void {
    this.postDuration.labels(ok ? 'ok' : 'failed').observe(seconds);
  }

  /** `GET /metrics` of the health server: Prometheus text format. */
  async answer(res: ServerResponse): Promise<void> {
    const text = await this.registry.metrics();
    res.writeHead(200, { 'content-type': this.registry.contentType, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  /** Closes the scrape-time queue handle (not the caller's Redis connection). */
  async close(): Promise<void> {
    await this.queue.close().catch(() => undefined);
  }
}

/** The value, or undefined when `promise` fails or takes longer than a scrape may wait. */
async function withTimeout<T>(promise: Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), SCRAPE_REDIS_TIMEOUT_MS);
  });
  try {
    return await Promise.race([promise.catch(() => undefined), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
