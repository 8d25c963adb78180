import type { ChatEvent, RoomName } from '@parley/protocol';
import { ParleyError } from './errors.js';

/** Reads up to `limit` events of `room` after `afterSeq`, ascending (`api.history(room, { after, limit })`). */
export type HistoryReader = (room: RoomName, afterSeq: number, limit: number) => Promise<ChatEvent[]>;

/** Options of `InOrderDelivery`. */
export interface InOrderDeliveryOptions {
  /** Receives one room's new events at a time, in seq order, each exactly once. */
  onEvents: (events: ChatEvent[]) => void;
  /** Fills holes; without it a hole is skipped (the events after it are handed on). @default none */
  history?: HistoryReader;
  /** First retry delay of a failed hole fill; doubles per failure. @default 500 */
  minRetryMs?: number;
  /** @default 15000 */
  maxRetryMs?: number;
}

// The web tier's largest history page.
const HISTORY_PAGE_LIMIT = 200;

/**
 * Hands on events per room strictly after a per-room cursor: repeats are
 * dropped, and when events arrive after a hole (a tab of a shared observe
 * whose leader polls from further ahead) the missing ones are read with
 * `history` first, so the consumer still sees every event once and in order.
 * Events of a room that arrive while its hole is being filled wait behind it.
 */
export class InOrderDelivery {
  /** Per room, the last seq handed on (`null`: from now, nothing yet). Rooms absent here are ignored. */
  readonly cursor = new Map<RoomName, number | null>();
  private readonly waiting = new Map<RoomName, ChatEvent[]>();
  private closed = false;

  constructor(private readonly options: InOrderDeliveryOptions) {}

  /** Stops filling holes; events still waiting are dropped. */
  close(): void {
    this.closed = true;
    this.waiting.clear();
  }

  /** Takes events of any rooms (each room's in ascending seq, as the server sends them). */
  deliver(events: ChatEvent[]): void {
    const byRoom = new Map<RoomName, ChatEvent[]>();
    for (const event of events) {
      const list = byRoom.get(event.room);
      if (list === undefined) byRoom.set(event.room, [event]);
      else list.push(event);
    }
    for (const [room, roomEvents] of byRoom) {
      const queued = this.waiting.get(room);
      if (queued !== undefined) queued.push(...roomEvents);
      else this.handOn(room, roomEvents);
    }
  }

  /** Hands on what follows the cursor without a hole; starts a fill when there is one. */
  private handOn(room: RoomName, events: ChatEvent[]): void {
    const seen = this.cursor.get(room);
    if (seen === undefined) return;
    const fresh = freshEvents(events, seen);
    if (fresh.length === 0) return;
    if (seen !== null && firstHole(fresh, seen) >= 0 && this.options.history !== undefined && !this.closed) {
      this.waiting.set(room, fresh);
      void this.fill(room, this.options.history);
      return;
    }
    this.emit(room, fresh);
  }

  private emit(room: RoomName, fresh: ChatEvent[]): void {
    if (fresh.length === 0) return;
    this.cursor.set(room, (fresh[fresh.length - 1] as ChatEvent).seq);
    this.options.onEvents(fresh);
  }

  /** Moves the cursor over a hole, unless it moved (or the room was unwatched) while we waited. */
  private skipHole(room: RoomName, after: number, nextKnown: number): void {
    if (this.cursor.get(room) === after) this.cursor.set(room, nextKnown - 1);
  }

  /** Reads the holes of `room` from `history` until what waits follows the cursor, then hands it on. */
  private async fill(room: RoomName, history: HistoryReader): Promise<void> {
    const { minRetryMs = 500, maxRetryMs = 15_000 } = this.options;
    let failures = 0;
    for (;;) {
      const queued = this.waiting.get(room);
      const seen = this.cursor.get(room);
      if (this.closed || queued === undefined) return;
      if (seen === undefined) {
        this.waiting.delete(room); // unwatched meanwhile
        return;
      }
      const fresh = freshEvents(queued, seen);
      const holeAt = seen === null ? -1 : firstHole(fresh, seen);
      if (holeAt < 0) {
        this.waiting.delete(room);
        this.emit(room, fresh);
        return;
      }
      if (holeAt > 0) {
        // What precedes the hole is in order already: show it now.
        this.waiting.set(room, fresh.slice(holeAt));
        this.emit(room, fresh.slice(0, holeAt));
        continue;
      }
      const after = seen as number;
      const nextKnown = (fresh[0] as ChatEvent).seq;
      try {
        const missing = await history(room, after, Math.min(HISTORY_PAGE_LIMIT, nextKnown - after - 1));
        if (missing.length === 0) {
          // The server has nothing there (it never leaves holes, so the cursor
          // came from another history): skip the hole rather than stall the room.
          this.skipHole(room, after, nextKnown);
        } else {
          this.waiting.get(room)?.push(...missing);
        }
        failures = 0;
      } catch (error) {
        if (error instanceof ParleyError && !error.retryable) {
          // A final refusal: skip the hole instead of stalling the room forever.
          this.skipHole(room, after, nextKnown);
          continue;
        }
        failures++;
        const backoff = Math.min(maxRetryMs, minRetryMs * 2 ** (failures - 1));
        // A 429 or 503 says how long to stay away (Retry-After); never come back sooner.
        const advised = error instanceof ParleyError ? (error.retryAfterSeconds ?? 0) * 1000 : 0;
        await new Promise((resolve) => setTimeout(resolve, Math.max(backoff, advised)));
      }
    }
  }
}

/** The events after `seen`, sorted by seq, each seq once. */
function freshEvents(events: ChatEvent[], seen: number | null): ChatEvent[] {
  const bySeq = new Map<number, ChatEvent>();
  for (const event of events) if (seen === null || event.seq > seen) bySeq.set(event.seq, event);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/** Index of the first event not directly following its predecessor (the first after `seen`), or -1. */
function firstHole(fresh: ChatEvent[], seen: number): number {
  let expected = seen + 1;
  for (let index = 0; index < fresh.length; index++) {
    const event = fresh[index] as ChatEvent;
    if (event.seq !== expected) return index;
    expected++;
  }
  return -1;
}
