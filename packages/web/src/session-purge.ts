import type { Logger } from '@parley/protocol';
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
 * once is harmless (each delete re-checks in its own transaction). The timer
 * is unref'd.
 */
export class SessionPurger {
  readonly #options: SessionPurgerOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;
  #stopped = true;

  constructor(options: SessionPurgerOptions) {
    this.#options = options;
  }

  /** Starts the periodic purges. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule();
  }

  /** Stops the purges and waits for the one running, if any. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => undefined);
  }

  /** One purge of every expired session, batch by batch; resolves to how many were ended. Failures are logged. */
  runOnce(): Promise<number> {
    this.#running ??= this.#purge().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.runOnce().finally(() => this.#schedule());
    }, this.#options.intervalMs ?? 300_000);
    this.#timer.unref();
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
    } catch (error) {
      log.warn({ err: error }, 'session purge failed');
    }
    if (ended > 0) log.info({ sessions: ended }, 'expired sessions ended');
    return ended;
  }
}
