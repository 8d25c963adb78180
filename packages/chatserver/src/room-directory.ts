import { ChatError, type ChatEvent, type Logger, type RoomName } from '@parley/protocol';
import { RoomBuffer } from './room-buffer.js';
import { SingleFlight } from './single-flight.js';
import { WEB_EVENTS_LIMIT, type WebClient } from './web-client.js';

/** Options of `RoomDirectory`. */
export interface RoomDirectoryOptions {
  /** Events kept per room. */
  capacity: number;
  web: WebClient;
  log: Logger;
  /** Called once per batch (a notify, a repair step) after a room's head advanced. */
  onAdvance: (room: RoomBuffer) => void;
  /** Told every batch of events that arrives (notified or repaired), before anyone is woken by it. */
  onEvents?: (events: readonly ChatEvent[]) => void;
  /** Called after rooms were dropped to stay under `maxRooms` (cached answers may name them). @default none */
  onDrop?: () => void;
  /**
   * How long a gap may stay open before the web tier is asked: workers deliver
   * notify jobs concurrently, so seq N+1 often arrives just before seq N; a
   * short grace lets the late one fill the gap without a request.
   * @default 100
   */
  gapGraceMs?: number;
  /** Longest pause between repair attempts of a gap the web tier could not fill. @default 10000 */
  maxRepairDelayMs?: number;
  /**
   * Rooms held; past it the least recently used unobserved ones are dropped.
   * @default 100000
   */
  maxRooms?: number;
  /** Is somebody parked on the room? (Observed rooms are never dropped.) @default never */
  isObserved?: (room: RoomName) => boolean;
}

/** Thrown by `ensureAll` when the bound on rooms is reached and every room is observed. */
export class TooManyRoomsError extends ChatError {
  constructor() {
    super('unavailable', 'this chatserver holds as many rooms as it may; retry shortly', { retryAfterSeconds: 5 });
  }
}

// When the bound is reached, drop this share of it at once: one sort per many
// new rooms rather than one per room.
const EVICT_SHARE = 0.1;

/** What `applyEvents` did. */
export interface ApplyResult {
  appended: number;
  duplicates: number;
  held: number;
}

// One repair run fetches at most this many pages (20 × 500 events), so a
// chatserver far behind catches up in bounded steps instead of one long loop.
const MAX_REPAIR_PAGES = 20;

/**
 * Every room this chatserver knows, created lazily: from the web tier's head
 * when an observe asks for an unknown room, or from the first notified event.
 * Repairs gaps and lag by reading the web tier (single-flight per room).
 */
export class RoomDirectory {
  private readonly rooms = new Map<RoomName, RoomBuffer>();
  private readonly loads = new SingleFlight<RoomName, RoomBuffer>();
  private readonly repairs = new SingleFlight<RoomName, void>();
  private readonly repairTimers = new Map<RoomName, NodeJS.Timeout>();
  private readonly repairDelays = new Map<RoomName, number>();
  private readonly gapGraceMs: number;
  private readonly maxRepairDelayMs: number;
  private readonly maxRooms: number;
  private closed = false;
  /** Reads sent to the web tier by `repair`, and those that moved a head (for /metrics). */
  readonly repairCounts = { requests: 0, advanced: 0 };

  constructor(private readonly options: RoomDirectoryOptions) {
    this.gapGraceMs = options.gapGraceMs ?? 100;
    this.maxRepairDelayMs = options.maxRepairDelayMs ?? 10_000;
    this.maxRooms = options.maxRooms ?? 100_000;
  }

  /** Number of rooms in memory. */
  get size(): number {
    return this.rooms.size;
  }

  /** The room, if known. */
  get(room: RoomName): RoomBuffer | undefined {
    return this.rooms.get(room);
  }

  /**
   * The room, loading its head from the web tier when it is not known yet.
   * Rejects with `WebTierUnavailableError` when no web process answers.
   */
  async ensure(room: RoomName): Promise<RoomBuffer> {
    const known = this.rooms.get(room);
    if (known !== undefined) return known;
    return this.loads.run(room, async () => {
      this.makeRoomFor(1);
      const { seq } = await this.options.web.roomEvents(room);
      return this.adopt(room, seq);
    });
  }

  private adopt(room: RoomName, head: number): RoomBuffer {
    // A notify may have created the room while the head was loading: keep
    // that one, it already holds events and possibly parked observers.
    const existing = this.rooms.get(room);
    if (existing !== undefined) return existing;
    const buffer = new RoomBuffer(room, this.options.capacity, head);
    this.rooms.set(room, buffer);
    this.options.log.debug({ room, head }, 'room loaded');
    return buffer;
  }

  /**
   * Keeps the number of rooms under `maxRooms` with `count` more: drops the
   * least recently used rooms nobody observes (they load again when asked).
   */
  private makeRoomFor(count: number): void {
    if (this.rooms.size + count <= this.maxRooms) return;
    const isObserved = this.options.isObserved ?? (() => false);
    const droppable = [...this.rooms.values()]
      .filter((buffer) => !isObserved(buffer.name) && !this.repairs.has(buffer.name))
      .sort((a, b) => a.lastActiveAt - b.lastActiveAt);
    const target = Math.max(this.maxRooms - count - Math.floor(this.maxRooms * EVICT_SHARE), 0);
    let dropped = 0;
    for (const buffer of droppable) {
      if (this.rooms.size <= target) break;
      this.rooms.delete(buffer.name);
      this.cancelRepair(buffer.name);
      dropped++;
    }
    if (dropped > 0) this.options.onDrop?.();
    this.options.log.info({ dropped, rooms: this.rooms.size, maxRooms: this.maxRooms }, 'room bound reached; least recently used rooms dropped');
    if (this.rooms.size + count > this.maxRooms) throw new TooManyRoomsError();
  }

  /**
   * Every room of `names`, loading the unknown ones' heads from the web tier
   * in one request (`roomHeads`) however many there are: an observe naming 50
   * rooms that do not exist costs one web request, and nothing afterwards (a
   * room that does not exist is held as an empty buffer at head 0, which a
   * later first event fills like any other). Rejects with
   * `WebTierUnavailableError` when no web process answers, and with
   * `TooManyRoomsError` when the rooms cannot be held.
   */
  async ensureAll(names: readonly RoomName[]): Promise<RoomBuffer[]> {
    const unknown = names.filter((room) => !this.rooms.has(room) && !this.loads.has(room));
    if (unknown.length > 1) {
      this.makeRoomFor(unknown.length);
      const heads = this.options.web.roomHeads(unknown);
      for (const room of unknown) {
        void this.loads.run(room, async () => this.adopt(room, (await heads).get(room) ?? 0)).catch(() => undefined);
      }
    }
    return Promise.all(names.map((room) => this.ensure(room)));
  }

  /**
   * Applies notified events (any rooms, any order): duplicates are dropped,
   * events beyond a gap are held and the gap is repaired from the web tier.
   * `onAdvance` runs once per room whose head moved, after all are applied.
   */
  applyEvents(events: readonly ChatEvent[], now: number = Date.now()): ApplyResult {
    const result: ApplyResult = { appended: 0, duplicates: 0, held: 0 };
    this.options.onEvents?.(events);
    const byRoom = new Map<RoomName, ChatEvent[]>();
    for (const event of events) {
      const list = byRoom.get(event.room);
      if (list === undefined) byRoom.set(event.room, [event]);
      else list.push(event);
    }
    const advanced: RoomBuffer[] = [];
    for (const [room, roomEvents] of byRoom) {
      roomEvents.sort((a, b) => a.seq - b.seq);
      let buffer = this.rooms.get(room);
      if (buffer === undefined) {
        const first = roomEvents[0] as ChatEvent;
        buffer = new RoomBuffer(room, this.options.capacity, first.seq - 1, now);
        this.rooms.set(room, buffer);
      }
      const headBefore = buffer.head;
      for (const event of roomEvents) result[outcomeKey(buffer.append(event, now))]++;
      if (buffer.head > headBefore) advanced.push(buffer);
      if (buffer.heldCount > 0) this.scheduleRepair(room, this.gapGraceMs);
    }
    for (const buffer of advanced) this.options.onAdvance(buffer);
    return result;
  }

  /**
   * Brings a known room up to the web tier's head (fills gaps, catches up
   * when this chatserver lags). Concurrent calls for a room share one run.
   * Rejects with `WebTierUnavailableError` when no web process answers.
   */
  repair(room: RoomName): Promise<void> {
    return this.repairs.run(room, async () => {
      for (let page = 0; page < MAX_REPAIR_PAGES; page++) {
        const buffer = this.rooms.get(room);
        if (buffer === undefined) return;
        const headBefore = buffer.head;
        this.repairCounts.requests++;
        const answer = await this.options.web.roomEvents(room, headBefore, WEB_EVENTS_LIMIT);
        if (this.rooms.get(room) !== buffer) return;
        this.options.onEvents?.(answer.events);
        const now = Date.now();
        for (const event of answer.events) buffer.append(event, now);
        if (buffer.head > headBefore) {
          this.repairCounts.advanced++;
          this.options.log.debug({ room, from: headBefore, to: buffer.head }, 'room repaired');
          this.options.onAdvance(buffer);
        }
        const caughtUp = buffer.head >= answer.seq && buffer.heldCount === 0;
        if (caughtUp || buffer.head === headBefore) return;
      }
    });
  }

  /**
   * Drops rooms that nobody observes and that saw no event or observe for
   * `idleMs` (`emptyIdleMs` for a room without any event: most often one
   * that does not exist); returns how many were dropped.
   */
  sweepIdle(idleMs: number, isObserved: (room: RoomName) => boolean, now: number = Date.now(), emptyIdleMs: number = idleMs): number {
    let dropped = 0;
    for (const [room, buffer] of this.rooms) {
      const limit = buffer.isEmpty ? Math.min(emptyIdleMs, idleMs) : idleMs;
      if (now - buffer.lastActiveAt < limit || isObserved(room) || this.repairs.has(room)) continue;
      this.rooms.delete(room);
      this.cancelRepair(room);
      dropped++;
    }
    return dropped;
  }

  /** Stops scheduled repairs; in-flight ones finish on their own. */
  close(): void {
    this.closed = true;
    for (const room of [...this.repairTimers.keys()]) this.cancelRepair(room);
  }

  private scheduleRepair(room: RoomName, delayMs: number): void {
    if (this.closed || this.repairTimers.has(room)) return;
    const timer = setTimeout(() => {
      this.repairTimers.delete(room);
      // The late event usually fills the gap during the grace: nothing to ask.
      if ((this.rooms.get(room)?.heldCount ?? 0) === 0) {
        this.repairDelays.delete(room);
        return;
      }
      this.repair(room).then(
        () => this.afterRepair(room, false),
        (error: unknown) => {
          this.options.log.warn({ room, err: error }, 'gap repair failed');
          this.afterRepair(room, true);
        },
      );
    }, delayMs);
    this.repairTimers.set(room, timer);
  }

  // A gap still open after a repair (web tier down or behind) is retried with
  // a doubling delay so a long outage costs one request per room per 10 s.
  private afterRepair(room: RoomName, failed: boolean): void {
    const buffer = this.rooms.get(room);
    if (buffer === undefined || buffer.heldCount === 0) {
      this.repairDelays.delete(room);
      return;
    }
    const previous = this.repairDelays.get(room) ?? this.gapGraceMs;
    const next = Math.min(Math.max(previous * 2, 250), this.maxRepairDelayMs);
    this.repairDelays.set(room, next);
    if (!failed) this.options.log.warn({ room, head: buffer.head, held: buffer.heldCount }, 'gap still open after repair');
    this.scheduleRepair(room, next);
  }

  private cancelRepair(room: RoomName): void {
    const timer = this.repairTimers.get(room);
    if (timer !== undefined) clearTimeout(timer);
    this.repairTimers.delete(room);
    this.repairDelays.delete(room);
  }
}

function outcomeKey(outcome: 'appended' | 'duplicate' | 'held'): keyof ApplyResult {
  return outcome === 'duplicate' ? 'duplicates' : outcome;
}
