import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { ChatError } from '@parley/protocol';
import { METRICS_PREFIX, isMetricsScrapeAllowed } from '@parley/protocol/node';
import { sendError } from './http-util.js';

const PREFIX = METRICS_PREFIX;

// From a same-machine delivery (a few ms) to a chatserver minutes behind: the
// buckets must show both the healthy floor and how bad a backlog got.
const LAG_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

// `"at":123` of an event serialised by JSON.stringify: inside a string value
// every quote is escaped, so this only ever matches the key.
const AT_FIELD = /"at":(\d+)/;

/** What the chatserver's metrics read at scrape time. */
export interface ChatServerMetricSources {
  parkedObservers(): number;
  rooms(): number;
  /** Repair reads sent to the web tier, and those that moved a room's head. */
  repairCounts(): { requests: number; advanced: number };
}

/**
 * The chatserver's own metrics. The request paths only bump plain integer
 * fields (no labels, no prom-client call per observer); `collect()` callbacks
 * copy them into the registry when it is scraped. The delivery-lag histogram
 * is observed once per answer body built, never per observer.
 */
export class ChatServerMetrics {
  private observeAnswers = 0;
  private observesRefused = 0;
  private notifications = 0;
  private answerEvents = 0;
  private readonly deliveryLag: Histogram;

  constructor(registry: Registry, sources: ChatServerMetricSources) {
    // Arrow functions, not methods: prom-client binds `this` to the metric in collect().
    const counts = {
      answers: () => this.observeAnswers,
      refused: () => this.observesRefused,
      notifications: () => this.notifications,
      events: () => this.answerEvents,
    };
    gauge(registry, 'parked_observes', 'Observe long-polls parked on this chatserver now.', sources.parkedObservers);
    gauge(registry, 'rooms', 'Rooms held in this chatserver\'s memory now.', sources.rooms);
    counter(registry, 'observe_answers_total', 'Observe answers written (200, with or without events).', counts.answers);
    counter(registry, 'observes_refused_total', 'Observes answered 503 because the chatserver was full.', counts.refused);
    counter(registry, 'notifications_received_total', 'Notify requests received from workers on the internal port.', counts.notifications);
    counter(registry, 'answer_events_total', 'Events put into observe answer bodies; a body shared by observers at the same cursor counts once.', counts.events);
    counter(registry, 'repair_requests_total', 'Reads of missing events sent to the web tier (gaps, lag).', () => sources.repairCounts().requests);
    counter(registry, 'gaps_repaired_total', 'Repair reads that moved a room\'s head forward.', () => sources.repairCounts().advanced);
    this.deliveryLag = new Histogram({
      name: `${PREFIX}delivery_lag_seconds`,
      help: 'Now minus the event\'s "at" (web accepted it) for the oldest event of each answer body built.',
      buckets: LAG_BUCKETS_SECONDS,
      registers: [registry],
    });
  }

  /** An observe answer was written (once per observer). */
  answerWritten(): void {
    this.observeAnswers++;
  }

  /** An observe was refused with 503 (too many parked). */
  observeRefused(): void {
    this.observesRefused++;
  }

  /** A notify request arrived. */
  notificationReceived(): void {
    this.notifications++;
  }

  /**
   * An answer body was built from these per-room serialised events (once per
   * body, however many observers share it): counts its events and observes
   * the lag of its oldest one.
   */
  bodyBuilt(perRoom: readonly (readonly string[])[], now: number = Date.now()): void {
    let events = 0;
    let oldestAt = Infinity;
    for (const room of perRoom) {
      events += room.length;
      const first = room[0];
      if (first === undefined) continue;
      const at = Number(AT_FIELD.exec(first)?.[1]);
      if (at < oldestAt) oldestAt = at;
    }
    this.answerEvents += events;
    if (oldestAt !== Infinity) this.deliveryLag.observe(Math.max(0, now - oldestAt) / 1000);
  }
}

function gauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name: `${PREFIX}${name}`,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

function counter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name: `${PREFIX}${name}`,
    help,
    registers: [registry],
    collect() {
      // The running total lives in a plain field; hand it over as is.
      this.reset();
      this.inc(read());
    },
  });
}

/**
 * `GET /metrics` in Prometheus text format (`text/plain; version=0.0.4`),
 * behind `Authorization: Bearer <token>` when a token is configured.
 */
export function serveMetrics(req: IncomingMessage, res: ServerResponse, registry: Registry, token: string): void {
  if (req.method !== 'GET') {
    sendError(res, new ChatError('method_not_allowed', 'only GET is allowed here'), { allow: 'GET' });
    return;
  }
  if (!isMetricsScrapeAllowed(req.headers.authorization, token)) {
    sendError(res, new ChatError('unauthorized', 'metrics need the bearer token'));
    return;
  }
  registry.metrics().then(
    (text) => {
      if (res.headersSent || res.destroyed) return;
      res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store', 'content-length': String(Buffer.byteLength(text)) });
      res.end(text);
    },
    (error: unknown) => sendError(res, new ChatError('internal', `metrics failed: ${(error as Error).message}`)),
  );
}
