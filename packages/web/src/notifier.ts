import type { BulkJobOptions } from 'bullmq';
import type { ChatEvent, Logger } from '@parley/protocol';
import type { ChatStore } from '@parley/store';
import type { NotifyQueue } from './notify-queue.js';

/** Name of every notify job. */
export const NOTIFY_JOB_NAME = 'notify';

/**
 * The BullMQ job id of an outbox row: named after the row's first event id
 * (96 random bits after the clock), not the row number, so a database that was reset while
 * Redis kept its completed jobs can never have a new row mistaken for an old
 * job and silently deduplicated away.
 */
export function notifyJobId(events: readonly ChatEvent[]): string {
  return `notify-${events[0]?.id ?? 'empty'}`;
}

/**
 * Options of the notify job of an outbox row (the shared wire contract). The
 * jobId makes a re-queue by the relay a no-op while the first job is still
 * kept; completed jobs are kept an hour for exactly that.
 */
export function notifyJobOptions(events: readonly ChatEvent[], attempts: number): BulkJobOptions {
  return {
    jobId: notifyJobId(events),
    attempts,
    backoff: { type: 'exponential', delay: 200 },
    removeOnComplete: { age: 3600, count: 10_000 },
    removeOnFail: { age: 86_400 },
  };
}

/** Options of `createNotifier`. */
export interface NotifierOptions {
  store: ChatStore;
  queue: NotifyQueue;
  log: Logger;
  /** BullMQ attempts of each job. @default 8 */
  attempts?: number;
  /** Called when a job could not be queued (metrics). @default none */
  onEnqueueFailure?: () => void;
}

/** Hands committed events to the queue after the answer. */
export interface Notifier {
  /**
   * Adds the job of outbox row `outboxId` without the caller waiting; on
   * success the row is acknowledged, on failure (Redis down) it stays for the
   * outbox relay. Never throws or rejects.
   */
  publish(outboxId: number, events: ChatEvent[]): void;
  /** Waits for the publishes in flight (shutdown). */
  drain(): Promise<void>;
}

/** Longest an acknowledgement waits to be written with others. */
const ACKNOWLEDGE_DELAY_MS = 20;

interface PendingRow {
  outboxId: number;
  events: ChatEvent[];
}

/**
 * Creates the request path's notifier. Rows published in the same turn of
 * the event loop go to Redis in one `addBulk` (one round trip) and are
 * acknowledged together at most every ACKNOWLEDGE_DELAY_MS: under load that
 * is one Redis call per turn and a few commits a second, instead of a Redis
 * call and a commit per write.
 */
export function createNotifier(options: NotifierOptions): Notifier {
  const { store, queue, log } = options;
  const attempts = options.attempts ?? 8;
  const inFlight = new Set<Promise<void>>();
  let pending: PendingRow[] = [];
  let toAcknowledge: number[] = [];

  const acknowledge = async (): Promise<void> => {
    const outboxIds = toAcknowledge;
    toAcknowledge = [];
    if (outboxIds.length === 0) return;
    try {
      await store.acknowledgeOutbox(outboxIds);
    } catch (error) {
      // The jobs are queued; the relay will queue them again under the same jobIds, which are deduplicated.
      log.warn({ err: error, outboxIds }, 'outbox rows not acknowledged');
    }
  };

  const send = async (rows: PendingRow[]): Promise<void> => {
    const outboxIds = rows.map((row) => row.outboxId);
    try {
      await queue.addBulk(
        rows.map((row) => ({
          name: NOTIFY_JOB_NAME,
          data: { outboxId: row.outboxId, events: row.events },
          opts: notifyJobOptions(row.events, attempts),
        })),
      );
    } catch (error) {
      // One count per job not queued, as before the jobs of a turn were added together.
      for (let row = 0; row < rows.length; row++) options.onEnqueueFailure?.();
      log.warn({ err: error, outboxIds }, 'notify jobs not queued; the outbox relay will retry');
      return;
    }
    // Acknowledgements wait a little to share one write transaction: each is a
    // turn of the write lock the web processes contend for. The relay only
    // takes rows older than seconds, so the wait never re-queues a row.
    const first = toAcknowledge.length === 0;
    toAcknowledge.push(...outboxIds);
    if (first) track(new Promise<void>((resolve) => setTimeout(resolve, ACKNOWLEDGE_DELAY_MS)).then(acknowledge));
  };

  const track = (task: Promise<void>): void => {
    inFlight.add(task);
    void task.finally(() => inFlight.delete(task));
  };

  return {
    publish(outboxId, events) {
      pending.push({ outboxId, events });
      if (pending.length > 1) return;
      // The first row of this turn schedules the send of all of them.
      track(
        new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
          const rows = pending;
          pending = [];
          return send(rows);
        }),
      );
    },
    async drain() {
      while (inFlight.size > 0) await Promise.all(inFlight);
    },
  };
}
