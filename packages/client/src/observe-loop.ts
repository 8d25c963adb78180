import { formatCursor, readCursor, type ChatEvent, type Cursor, type RoomName } from '@parley/protocol';
import { ParleyError } from './errors.js';
import type { ObserveTransport } from './transports.js';

/** The hold the loop asks for; see `ObserveLoopOptions.waitSeconds`. */
const DEFAULT_WAIT_SECONDS = 5;

/** What a person should see about the live connection. */
export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'offline';

/** Options of `ObserveLoop`. */
export interface ObserveLoopOptions {
  transport: ObserveTransport;
  /** Receives new events, per room in seq order, each exactly once. */
  onEvents: (events: ChatEvent[]) => void;
  /** Connection state changes. */
  onState?: (state: ConnectionState) => void;
  /** A room's cursor was refused (the server lost history): the room restarts from now. */
  onReset?: (room: RoomName) => void;
  /**
   * Server hold time, seconds (the first poll after a (re)connect asks for 0).
   * Short on purpose: Parley's nginx carries any hold in hops of at most 6 s
   * and replays one that stays silent for 8 s (a frozen chatserver) on
   * another, so 5 s is one hop; and a proxy without the hops (the Kubernetes
   * ingress) still sees a poll end within seconds.
   * @default 5
   */
  waitSeconds?: number;
  /** First retry delay; doubles per failure. @default 500 */
  minBackoffMs?: number;
  /** @default 30000 */
  maxBackoffMs?: number;
  /** @default Math.random */
  random?: () => number;
}

/**
 * One observe loop for any number of rooms: keeps one cursor, resumes from it
 * after any failure with jittered exponential backoff (never sooner than the
 * server's `Retry-After`), and hands on only events after the cursor, so
 * nothing is shown twice or out of order.
 */
export class ObserveLoop {
  private readonly cursor: Cursor = new Map();
  private controller: AbortController | undefined;
  private running = false;
  private failures = 0;
  private state: ConnectionState | undefined;
  private wakeUp: (() => void) | undefined;

  constructor(private readonly options: ObserveLoopOptions) {}

  /** The cursor as the server reads it (`lobby:41,dev`). */
  get cursorText(): string {
    return formatCursor(this.cursor);
  }

  /** The rooms watched, in the order they were added. */
  rooms(): RoomName[] {
    return [...this.cursor.keys()];
  }

  /** Last seq handed on for `room` (`null`: watching from now, nothing yet; `undefined`: not watched). */
  lastSeq(room: RoomName): number | null | undefined {
    return this.cursor.get(room);
  }

  /** Starts watching `room` after `afterSeq` (omit: from now). Restarts the poll in flight. */
  watch(room: RoomName, afterSeq: number | null = null): void {
    const current = this.cursor.get(room);
    if (current !== undefined && (afterSeq === null || (current !== null && current >= afterSeq))) return;
    this.cursor.set(room, afterSeq);
    this.restartPoll();
  }

  /** Stops watching `room`. */
  unwatch(room: RoomName): void {
    if (this.cursor.delete(room)) this.restartPoll();
  }

  /** Starts the loop (idempotent). */
  start(): void {
    if (this.running) return;
    this.running = true;
    if (typeof window !== 'undefined') window.addEventListener('offline', this.onOffline);
    void this.run();
  }

  /** Stops the loop and abandons the poll in flight. */
  stop(): void {
    this.running = false;
    if (typeof window !== 'undefined') window.removeEventListener('offline', this.onOffline);
    this.controller?.abort();
    this.wakeUp?.();
  }

  // A poll parked on a dead network can hang until TCP gives up: when the
  // browser says it is offline, say so at once and drop the poll; the retry
  // fails fast and backs off until the 'online' event wakes it.
  private readonly onOffline = (): void => {
    this.setState('offline');
    this.controller?.abort();
  };

  private restartPoll(): void {
    this.controller?.abort();
    this.wakeUp?.();
  }

  private setState(state: ConnectionState): void {
    if (state === this.state) return;
    this.state = state;
    this.options.onState?.(state);
  }

  private async run(): Promise<void> {
    this.setState('connecting');
    while (this.running) {
      if (this.cursor.size === 0) {
        await this.sleep(60_000);
        continue;
      }
      const controller = new AbortController();
      this.controller = controller;
      const asked = this.cursorText;
      // Until a poll has succeeded, ask without a hold: the answer comes at
      // once, so "live" shows in a moment (not after a whole quiet hold) and a
      // "from now" cursor is pinned to the room's head before anything happens.
      const waitSeconds = this.state === 'live' ? (this.options.waitSeconds ?? DEFAULT_WAIT_SECONDS) : 0;
      try {
        const answer = await this.options.transport(asked, waitSeconds, controller.signal);
        if (controller.signal.aborted) continue;
        this.failures = 0;
        this.setState('live');
        this.accept(answer.events, answer.cursor);
      } catch (error) {
        if (controller.signal.aborted && this.running) continue;
        if (!this.running) break;
        await this.recover(error);
      }
    }
  }

  /** Hands on events strictly after the cursor, then advances it. */
  private accept(events: ChatEvent[], answeredCursor: string): void {
    const fresh: ChatEvent[] = [];
    for (const event of events) {
      const seen = this.cursor.get(event.room);
      if (seen === undefined) continue; // unwatched meanwhile
      if (seen !== null && event.seq !== seen + 1) continue; // a repeat (or a hole the server never sends)
      this.cursor.set(event.room, event.seq);
      fresh.push(event);
    }
    // Pins each "from now" room to the head the server answered with. An
    // unreadable cursor pins nothing: the events were still good, and the
    // next answer pins the room. The server answers for the rooms asked, so
    // the loop's own room count is not bounded here.
    for (const [room, seq] of readCursor(answeredCursor, Number.MAX_SAFE_INTEGER) ?? []) {
      if (seq !== null && this.cursor.get(room) === null) this.cursor.set(room, seq);
    }
    if (fresh.length > 0) this.options.onEvents(fresh);
  }

  private async recover(error: unknown): Promise<void> {
    const failure = error instanceof ParleyError ? error : new ParleyError('network', 0, String(error));
    if (failure.code === 'invalid_cursor') {
      // The server no longer knows our place (its history was reset): restart every room from now.
      for (const room of this.cursor.keys()) {
        this.cursor.set(room, null);
        this.options.onReset?.(room);
      }
    }
    const offline = typeof navigator !== 'undefined' && navigator.onLine === false;
    this.setState(offline ? 'offline' : 'reconnecting');
    this.failures++;
    const { minBackoffMs = 500, maxBackoffMs = 30_000, random = Math.random } = this.options;
    const ceiling = Math.min(maxBackoffMs, minBackoffMs * 2 ** (this.failures - 1));
    // "Full jitter" between half and all of the ceiling, so clients dropped together do not return together.
    const backoff = ceiling * (0.5 + random() / 2);
    const advised = (failure.retryAfterSeconds ?? 0) * 1000;
    await this.sleep(Math.max(backoff, advised));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const onOnline = (): void => done();
      function done(): void {
        clearTimeout(timer);
        if (typeof window !== 'undefined') window.removeEventListener('online', onOnline);
        resolve();
      }
      this.wakeUp = done;
      if (typeof window !== 'undefined') window.addEventListener('online', onOnline);
    });
  }
}
