import type { ChatEvent, RoomName, Seq } from '@parley/protocol';

/** What `RoomBuffer#append` did with an event. */
export type AppendOutcome = 'appended' | 'duplicate' | 'held';

/**
 * One room as a chatserver knows it: `head` is the highest seq up to which it
 * has every event (contiguous), the last `capacity` of those events are kept
 * as JSON text serialised once at insertion, and events that arrived beyond a
 * gap are held aside until the gap is filled. Observers are only ever answered
 * up to `head`, so an answer never has a hole.
 */
export class RoomBuffer {
  readonly name: RoomName;
  readonly capacity: number;
  /** Highest seq known without a gap. */
  head: Seq;
  /** Times an event at or below `head` was offered again (dropped). */
  duplicates = 0;
  /** Epoch ms of the last event appended or observe that used the room (or of creation). */
  lastActiveAt: number;
  // Ring of serialised events: seq s lives at slot s % capacity, valid for
  // seqs in [oldestBufferedSeq, head]. Contiguity makes the slot arithmetic exact.
  // Allocated with the first event: a room that is only observed (or does not
  // exist at all) costs a few hundred bytes, not `capacity` slots.
  private ring: Array<string | undefined> | undefined;
  // First seq ever appended to the ring; the buffer never reaches below it.
  private firstBufferedSeq: Seq;
  // Events beyond a gap, by seq; drained as soon as head catches up to them.
  private readonly held = new Map<Seq, string>();

  /**
   * @param head seq the room is known to have reached; the buffer starts
   *   empty right after it (a room first seen through a notify of event s
   *   starts at head s - 1: its buffer simply does not reach back).
   */
  constructor(name: RoomName, capacity: number, head: Seq, now: number = Date.now()) {
    this.name = name;
    this.capacity = capacity;
    this.head = head;
    this.firstBufferedSeq = head + 1;
    this.lastActiveAt = now;
  }

  /** Lowest seq still in the ring; `head + 1` when it holds nothing. */
  get oldestBufferedSeq(): Seq {
    return Math.max(this.firstBufferedSeq, this.head - this.capacity + 1);
  }

  /** Number of events held aside beyond a gap. */
  get heldCount(): number {
    return this.held.size;
  }

  /** Highest seq held aside, or `head` when nothing is held. */
  get highestKnownSeq(): Seq {
    let highest = this.head;
    for (const seq of this.held.keys()) if (seq > highest) highest = seq;
    return highest;
  }

  /**
   * Offers one event (of this room). At or below `head`: a duplicate, dropped.
   * `head + 1`: appended, and any held events that now follow are appended too.
   * Beyond: held aside (the caller repairs the gap). `json` is the event's
   * serialisation when the caller already has it.
   */
  append(event: ChatEvent, now: number = Date.now(), json: string = JSON.stringify(event)): AppendOutcome {
    const seq = event.seq;
    if (seq <= this.head || this.held.has(seq)) {
      this.duplicates++;
      return 'duplicate';
    }
    if (seq > this.head + 1) {
      this.hold(seq, json);
      return 'held';
    }
    this.push(json, now);
    for (let next = this.held.get(this.head + 1); next !== undefined; next = this.held.get(this.head + 1)) {
      this.held.delete(this.head + 1);
      this.push(next, now);
    }
    return 'appended';
  }

  /**
   * The serialised events after `cursor` up to `head` (at most `limit`), or
   * `undefined` when the ring no longer reaches back to `cursor + 1`.
   */
  eventsAfter(cursor: Seq, limit: number): string[] | undefined {
    if (cursor >= this.head) return [];
    if (cursor + 1 < this.oldestBufferedSeq) return undefined;
    const last = Math.min(this.head, cursor + limit);
    const events: string[] = [];
    const ring = this.ring as Array<string | undefined>;
    for (let seq = cursor + 1; seq <= last; seq++) events.push(ring[seq % this.capacity] as string);
    return events;
  }

  /** Does the room have no event at all (head 0, nothing held)? Most often it does not exist. */
  get isEmpty(): boolean {
    return this.head === 0 && this.held.size === 0;
  }

  /** Marks the room as used now (an observe read it), which keeps it from idling out. */
  touch(now: number = Date.now()): void {
    this.lastActiveAt = now;
  }

  private push(json: string, now: number): void {
    this.head++;
    this.ring ??= new Array<string | undefined>(this.capacity);
    this.ring[this.head % this.capacity] = json;
    this.lastActiveAt = now;
  }

  private hold(seq: Seq, json: string): void {
    this.held.set(seq, json);
    // Bounded like the ring: drop the farthest; the repair fetches it again.
    if (this.held.size > this.capacity) this.held.delete(this.highestKnownSeq);
  }
}
