import type { Logger } from '@parley/protocol';
import { createPeriodicTask, type PeriodicTask } from '@parley/protocol/node';
import type { ChatStore, OutboxEntry } from '@parley/store';
import { NOTIFY_JOB_NAME, notifyJobOptions } from './notifier.js';
import type { NotifyQueue } from './notify-queue.js';

/** Options of `OutboxRelay`. */
export interface OutboxRelayOptions {
  store: ChatStore;
  queue: NotifyQueue;
  log: Logger;
  /** Rows older than this were not acknowledged by the request path: re-queue them. @default 3000 */
  olderThanMs?: number;
  /** Time between two passes (measured from the end of the previous one). @default 1000 */
  intervalMs?: number;
  /**
   * How long a claim keeps other relays (other web processes) off the rows;
   * longer than a pass takes, so two relays do not queue the same rows at once.
   * @default 10000
   */
  leaseMs?: number;
  /** Rows per pass. @default 500 */
  batchSize?: number;
  /** BullMQ attempts of each job. @default 8 */
  attempts?: number;
  /** @default Date.now */
  now?: () => number;
}

/**
 * Re-queues outbox rows the request path could not hand to the queue (Redis
 * down, process crash between commit and `queue.add`), as a periodic task:
 * passes never overlap, the timer is unref'd, an outage is logged once. Rows
 * keep their jobId, so a row queued twice still makes one job.
 */
export class OutboxRelay {
  private readonly store: ChatStore;
  private readonly queue: NotifyQueue;
  private readonly log: Logger;
  private readonly olderThanMs: number;
  private readonly intervalMs: number;
  private readonly leaseMs: number;
  private readonly batchSize: number;
  private readonly attempts: number;
  private readonly now: () => number;
  private readonly task: PeriodicTask<number>;
  /** Rows claimed by a pass whose `addBulk` failed, kept for the next pass. */
  private retained: { rows: OutboxEntry[]; claimedAt: number } | undefined;
  /** Ids queued but not acknowledged (store error), acknowledged next pass. */
  private unacknowledged: number[] = [];

  constructor(options: OutboxRelayOptions) {
    this.store = options.store;
    this.queue = options.queue;
    this.log = options.log;
    this.olderThanMs = options.olderThanMs ?? 3000;
    this.intervalMs = options.intervalMs ?? 1000;
    this.leaseMs = options.leaseMs ?? 10_000;
    this.batchSize = options.batchSize ?? 500;
    this.attempts = options.attempts ?? 8;
    this.now = options.now ?? Date.now;
    this.task = createPeriodicTask({ name: 'outbox relay', intervalMs: this.intervalMs, run: () => this.pass(), log: this.log });
  }

  /** Starts the periodic passes. */
  start(): void {
    this.task.start();
  }

  /** Stops the passes and waits for the one running, if any. */
  stop(): Promise<void> {
    return this.task.stop();
  }

  /**
   * One pass: claims due rows, queues them, acknowledges them. Resolves with
   * how many rows were queued; rejects when the store or the queue failed,
   * and the next pass retries (rows that could not be queued are kept while
   * their lease lasts, so the retry does not wait for it to expire).
   * Concurrent calls share the pass in progress.
   */
  runOnce(): Promise<number> {
    return this.task.runOnce();
  }

  private async pass(): Promise<number> {
    const now = this.now();
    if (this.unacknowledged.length > 0) {
      try {
        await this.store.acknowledgeOutbox(this.unacknowledged);
        this.unacknowledged = [];
      } catch (error) {
        throw new Error(`outbox relay could not acknowledge ${this.unacknowledged.length} rows`, { cause: error });
      }
    }
    // Rows that failed to queue last pass are still ours while their lease
    // lasts: retry them now instead of waiting for the lease to run out.
    let claim = this.retained !== undefined && now < this.retained.claimedAt + this.leaseMs ? this.retained : undefined;
    this.retained = undefined;
    if (claim === undefined) {
      try {
        const rows = await this.store.claimOutbox({ olderThan: now - this.olderThanMs, limit: this.batchSize, leaseMs: this.leaseMs, now });
        claim = { rows, claimedAt: now };
      } catch (error) {
        throw new Error('outbox claim failed', { cause: error });
      }
    }
    const { rows } = claim;
    if (rows.length === 0) return 0;
    try {
      await this.queue.addBulk(
        rows.map((row) => ({
          name: NOTIFY_JOB_NAME,
          data: { outboxId: row.id, events: row.events },
          opts: notifyJobOptions(row.events, this.attempts),
        })),
      );
    } catch (error) {
      this.retained = claim;
      throw new Error(`outbox relay could not queue ${rows.length} rows`, { cause: error });
    }
    const ids = rows.map((row) => row.id);
    try {
      await this.store.acknowledgeOutbox(ids);
    } catch (error) {
      // Queued already: only the acknowledgement is retried (a re-queue would be deduplicated anyway).
      this.unacknowledged = ids;
      throw new Error(`outbox relay queued ${rows.length} rows but could not acknowledge them`, { cause: error });
    }
    this.log.info({ rows: rows.length, firstOutboxId: ids[0] }, 'outbox rows re-queued');
    return rows.length;
  }
}
