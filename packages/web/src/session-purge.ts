import type { Logger } from '@parley/protocol';
import { createPeriodicTask, type PeriodicTask } from '@parley/protocol/node';
import type { ChatStore, StoredWrite } from '@parley/store';

/** Options of `SessionPurger`. */
export interface SessionPurgerOptions {
  store: ChatStore;
  log: Logger;
  /** Sessions unused this long are ended (`PARLEY_SESSION_TTL_MS`). */
  sessionTtlMs: number;
  /** Hands each purge's leave events to the queue (after the commit). */
  publish(write: StoredWrite): void;
  /**
   * Time between purges. Expired sessions are already refused at once; the
   * purge only frees their rows and memberships, so it can be rare.
   * @default 300000 (5 minutes)
   */
  intervalMs?: number;
  /** Sessions ended per transaction, so a purge never holds the write lock long. @default 200 */
  batchSize?: number;
  /** @default Date.now */
  now?: () => number;
}

/**
 * Ends sessions unused for the session TTL, as a logout would: each leaves
 * its rooms with a `leave` event. Every web process runs one; two purging at
 * once is harmless (each delete re-checks in its own transaction). A
 * periodic task: purges never overlap, the timer is unref'd, an outage of the
 * store is logged once.
 */
export class SessionPurger {
  readonly #options: SessionPurgerOptions;
  readonly #task: PeriodicTask<number>;

  constructor(options: SessionPurgerOptions) {
    this.#options = options;
    this.#task = createPeriodicTask({
      name: 'session purge',
      intervalMs: options.intervalMs ?? 300_000,
      run: () => this.#purge(),
      log: options.log,
    });
  }

  /** Starts the periodic purges. */
  start(): void {
    this.#task.start();
  }

  /** Stops the purges and waits for the one running, if any. */
  stop(): Promise<void> {
    return this.#task.stop();
  }

  /**
   * One purge of every expired session, batch by batch (shared with a purge
   * under way); resolves to how many were ended, rejects when the store failed.
   */
  runOnce(): Promise<number> {
    return this.#task.runOnce();
  }

  async #purge(): Promise<number> {
    const { store, log, sessionTtlMs, publish } = this.#options;
    const batchSize = this.#options.batchSize ?? 200;
    const now = (this.#options.now ?? Date.now)();
    let ended = 0;
    try {
      // A short batch means none are left; the bound stops a runaway loop.
      for (let pass = 0; pass < 10_000; pass++) {
        const result = await store.purgeIdleSessions({ idleSince: now - sessionTtlMs, limit: batchSize, now });
        for (const write of result.writes) publish(write);
        ended += result.ended;
        if (result.ended < batchSize) break;
      }
    } finally {
      // Batches committed before a failure count too.
      if (ended > 0) log.info({ sessions: ended }, 'expired sessions ended');
    }
    return ended;
  }
}
