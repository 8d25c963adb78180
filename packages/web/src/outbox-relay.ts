import type { Logger } from '@parley/protocol';
import type { ChatStore, OutboxEntry } from '@parley/store';
import { NOTIFY_JOB_NAME, notifyJobOptions, type NotifyQueue } from './notifier.js';

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
 * down, process crash between commit and `queue.add`). Passes never overlap;
 * the timer is unref'd so it never keeps a process alive. Rows keep their
 * jobId, so a row queued twice still makes one job.
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
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private stopped = true;
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
  }

  /** Starts the periodic passes. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  /** Stops the passes and waits for the one running, if any. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /**
   * One pass: claims due rows, queues them, acknowledges them. Returns how many
   * rows were queued; failures are logged and retried by the next pass (rows
   * that could not be queued are kept while their lease lasts, so the retry
   * does not wait for it to expire). Concurrent calls share the pass in progress.
   */
  runOnce(): Promise<number> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runOnce().finally(() => this.schedule());
    }, this.intervalMs);
    this.timer.unref();
  }

  private async pass(): Promise<number> {
    const now = this.now();
    if (this.unacknowledged.length > 0) {
      try {
        await this.store.acknowledgeOutbox(this.unacknowledged);
        this.unacknowledged = [];
      } catch (error) {
        this.log.warn({ err: error, rows: this.unacknowledged.length }, 'outbox relay could not acknowledge');
        return 0;
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
        this.log.error({ err: error }, 'outbox claim failed');
        return 0;
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
      this.log.warn({ err: error, rows: rows.length }, 'outbox relay could not queue; retrying next pass');
      return 0;
    }
    const ids = rows.map((row) => row.id);
    try {
      await this.store.acknowledgeOutbox(ids);
    } catch (error) {
      // Queued already: only the acknowledgement is retried (a re-queue would be deduplicated anyway).
      this.unacknowledged = ids;
      this.log.warn({ err: error, rows: rows.length }, 'outbox relay could not acknowledge');
      return rows.length;
    }
    this.log.info({ rows: rows.length, firstOutboxId: ids[0] }, 'outbox rows re-queued');
    return rows.length;
  }
}
