import type Router from '@koa/router';
import type { Middleware } from 'koa';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { ChatError } from '@parley/protocol';
import { METRICS_PATH, METRICS_PREFIX, isMetricsScrapeAllowed } from '@parley/protocol/node';
import type { ChatStore } from '@parley/store';

const PREFIX = METRICS_PREFIX;

// A say is one SQLite transaction (well under 10 ms here); the upper buckets
// show a web tier that queues behind a busy database or event loop.
const SAY_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

const SAY_PATH = /^\/api\/rooms\/[^/]+\/say$/;

/** How a say ended, by status class: `ok` 2xx, `refused` 4xx, `failed` 5xx. */
export type SayAnswerClass = 'ok' | 'refused' | 'failed';

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** Options of `WebMetrics`. */
export interface WebMetricsOptions {
  registry: Registry;
  /** Read at scrape time for the outbox depth. */
  store: Pick<ChatStore, 'outboxDepth'>;
  /**
   * `PARLEY_METRICS_TOKEN`. Empty: `/metrics` is not served at all (404). The
   * web port is the one nginx proxies to, so metrics there always need a
   * credential: one proxy rule forgotten must not make them public.
   */
  token: string;
}

/** The web tier's metrics and the middleware that records and serves them. */
export class WebMetrics {
  private readonly registry: Registry;
  private readonly token: string;
  private readonly sayDuration: Histogram<'outcome'>;
  private readonly says: Counter<'outcome'>;
  private readonly enqueueFailures: Counter;
  private readonly responses: Counter<'class'>;

  constructor(options: WebMetricsOptions) {
    const registers = [options.registry];
    this.registry = options.registry;
    this.token = options.token;
    this.sayDuration = new Histogram({
      name: `${PREFIX}say_duration_seconds`,
      help: 'Time from a say request to its answer, by outcome (ok 2xx, refused 4xx, failed 5xx).',
      labelNames: ['outcome'],
      buckets: SAY_BUCKETS_SECONDS,
      registers,
    });
    this.says = new Counter({ name: `${PREFIX}says_total`, help: 'Say requests answered, by outcome.', labelNames: ['outcome'], registers });
    this.enqueueFailures = new Counter({
      name: `${PREFIX}notify_enqueue_failures_total`,
      help: 'Notify jobs the request path could not queue (Redis down); the outbox relay queues them later.',
      registers,
    });
    this.responses = new Counter({ name: `${PREFIX}http_responses_total`, help: 'HTTP answers by status class.', labelNames: ['class'], registers });
    const store = options.store;
    new Gauge({
      name: `${PREFIX}outbox_depth`,
      help: 'Outbox rows not yet handed to the queue (committed writes waiting for Redis).',
      registers,
      async collect() {
        this.set(await store.outboxDepth());
      },
    });
    // Zero series from the start, so rate() and alerts see every outcome and class.
    for (const outcome of ['ok', 'refused', 'failed'] as const) {
      this.says.labels(outcome).inc(0);
      this.sayDuration.zero({ outcome });
    }
    for (const statusClass of STATUS_CLASSES) this.responses.labels(statusClass).inc(0);
  }

  /** A notify job could not be queued (the notifier calls this). */
  enqueueFailed(): void {
    this.enqueueFailures.inc();
  }

  /** `GET /metrics`: Prometheus text behind the bearer token; without a token configured, no route (404). */
  registerRoute(router: Router): void {
    if (this.token === '') return;
    router.get(METRICS_PATH, async (ctx) => {
      if (!isMetricsScrapeAllowed(ctx.get('authorization') || undefined, this.token)) {
        throw new ChatError('unauthorized', 'metrics need the bearer token');
      }
      ctx.set('cache-control', 'no-store');
      ctx.type = this.registry.contentType;
      ctx.body = await this.registry.metrics();
    });
  }

  /**
   * The outermost middleware (outside the error middleware, so it sees final
   * statuses): counts every answer by status class and times every say.
   */
  middleware(): Middleware {
    return async (ctx, next) => {
      const startedAt = process.hrtime.bigint();
      try {
        await next();
      } finally {
        const status = ctx.status;
        this.responses.labels(STATUS_CLASSES[Math.floor(status / 100) - 1] ?? '5xx').inc();
        if (ctx.method === 'POST' && SAY_PATH.test(ctx.path)) {
          const outcome: SayAnswerClass = status < 400 ? 'ok' : status < 500 ? 'refused' : 'failed';
          this.says.labels(outcome).inc();
          this.sayDuration.labels(outcome).observe(Number(process.hrtime.bigint() - startedAt) / 1e9);
        }
      }
    };
  }
}
