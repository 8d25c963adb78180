import type { ChatEvent, RoomName } from '@parley/protocol';
import type { ParleyApi } from './api.js';
import { InOrderDelivery } from './in-order-delivery.js';
import { ObserveLoop, type ConnectionState, type ObserveLoopOptions } from './observe-loop.js';

/** Messages between the tabs of one origin. */
type TabMessage =
  | { kind: 'rooms'; tab: string; rooms: Array<[RoomName, number | null]> }
  | { kind: 'events'; events: ChatEvent[] }
  | { kind: 'state'; state: ConnectionState }
  | { kind: 'bye'; tab: string }
  | { kind: 'hello-leader' };

/** Options of `SharedObserve`. */
export interface SharedObserveOptions extends Omit<ObserveLoopOptions, 'onEvents' | 'onState' | 'onReset'> {
  /** Channel and lock name; tabs with the same name share one connection. @default 'parley-observe' */
  name?: string;
  /** Receives one room's new events at a time, in seq order, each exactly once. */
  onEvents: (events: ChatEvent[]) => void;
  /** Connection state changes (a follower tab hears the leader's). */
  onState?: (state: ConnectionState) => void;
  /**
   * Reads the events a tab missed: the shared poll may run ahead of this
   * tab's cursor (another tab asked for a room from later on), and the missing
   * events are read with `api.history` before the later ones are handed on.
   * Without it such a hole is skipped. @default none
   */
  api?: Pick<ParleyApi, 'history'>;
}

// Followers re-announce their rooms this often, so a new leader learns them quickly.
const ANNOUNCE_EVERY_MS = 5_000;
// A tab silent for three announcements is gone (crashed without 'bye').
const TAB_EXPIRES_MS = 3 * ANNOUNCE_EVERY_MS;

/**
 * Observes rooms with ONE long-poll for all tabs of an origin. One tab leads
 * (it holds a Web Lock; when it closes, the lock passes to the next tab),
 * polls for the union of every tab's rooms and broadcasts what arrives; every
 * tab filters by its own cursor so it sees each event once, in order. Without
 * Web Locks or BroadcastChannel every tab simply polls for itself.
 */
export class SharedObserve {
  private readonly tab = Math.random().toString(36).slice(2);
  private readonly delivery: InOrderDelivery;
  /** This tab's rooms and the last seq handed on in each (the delivery's cursor). */
  private readonly mine: Map<RoomName, number | null>;
  private lastState: ConnectionState | undefined;
  private readonly others = new Map<string, { rooms: Map<RoomName, number | null>; seenAt: number }>();
  private readonly channel: BroadcastChannel | undefined;
  private loop: ObserveLoop | undefined;
  private announceTimer: ReturnType<typeof setInterval> | undefined;
  private releaseLock: (() => void) | undefined;
  private closed = false;

  constructor(private readonly options: SharedObserveOptions) {
    const { api } = options;
    this.delivery = new InOrderDelivery({
      onEvents: options.onEvents,
      ...(api === undefined ? {} : { history: (room, after, limit) => api.history(room, { after, limit }) }),
    });
    this.mine = this.delivery.cursor;
    const name = options.name ?? 'parley-observe';
    const canShare = typeof BroadcastChannel !== 'undefined' && typeof navigator !== 'undefined' && 'locks' in navigator;
    if (!canShare) {
      this.lead();
      return;
    }
    this.channel = new BroadcastChannel(name);
    this.channel.onmessage = (message: MessageEvent<TabMessage>) => this.receive(message.data);
    this.announceTimer = setInterval(() => this.announce(), ANNOUNCE_EVERY_MS);
    void navigator.locks.request(name, () => {
      if (this.closed) return undefined;
      this.lead();
      return new Promise<void>((resolve) => {
        this.releaseLock = resolve;
      });
    });
  }

  /** True while this tab runs the shared poll. */
  get leading(): boolean {
    return this.loop !== undefined;
  }

  /** Watches `room` after `afterSeq` (omit: from now). */
  watch(room: RoomName, afterSeq: number | null = null): void {
    const current = this.mine.get(room);
    if (current !== undefined && (afterSeq === null || (current !== null && current >= afterSeq))) return;
    this.mine.set(room, afterSeq);
    this.loop?.watch(room, afterSeq);
    this.announce();
  }

  /** Stops watching `room` in this tab. */
  unwatch(room: RoomName): void {
    if (!this.mine.delete(room)) return;
    this.syncLoopRooms();
    this.announce();
  }

  /** Leaves: hands leadership to another tab. */
  close(): void {
    this.closed = true;
    this.delivery.close();
    clearInterval(this.announceTimer);
    this.loop?.stop();
    this.loop = undefined;
    this.channel?.postMessage({ kind: 'bye', tab: this.tab } satisfies TabMessage);
    this.channel?.close();
    this.releaseLock?.();
  }

  private lead(): void {
    this.loop = new ObserveLoop({
      ...this.options,
      onEvents: (events) => {
        this.channel?.postMessage({ kind: 'events', events } satisfies TabMessage);
        this.deliver(events);
      },
      onState: (state) => {
        this.lastState = state;
        this.channel?.postMessage({ kind: 'state', state } satisfies TabMessage);
        this.options.onState?.(state);
      },
      onReset: (room) => {
        if (this.mine.has(room)) this.mine.set(room, null);
      },
    });
    this.syncLoopRooms();
    this.channel?.postMessage({ kind: 'hello-leader' } satisfies TabMessage);
    this.loop.start();
  }

  /** The leader's loop watches the union of all tabs' rooms, each from the earliest seq anyone needs. */
  private syncLoopRooms(): void {
    if (this.loop === undefined) return;
    const wanted = new Map<RoomName, number | null>(this.mine);
    const now = Date.now();
    for (const [tab, other] of this.others) {
      if (now - other.seenAt > TAB_EXPIRES_MS) {
        this.others.delete(tab);
        continue;
      }
      for (const [room, seq] of other.rooms) {
        const current = wanted.get(room);
        if (current === undefined || (seq !== null && (current === null || seq < current))) wanted.set(room, seq);
      }
    }
    for (const [room, seq] of wanted) this.loop.watch(room, seq);
    for (const room of this.loop.rooms()) if (!wanted.has(room)) this.loop.unwatch(room);
  }

  private announce(): void {
    if (this.closed || this.channel === undefined || this.loop !== undefined) return;
    this.channel.postMessage({ kind: 'rooms', tab: this.tab, rooms: [...this.mine] } satisfies TabMessage);
  }

  private receive(message: TabMessage): void {
    switch (message.kind) {
      case 'rooms':
        this.others.set(message.tab, { rooms: new Map(message.rooms), seenAt: Date.now() });
        this.syncLoopRooms();
        // A tab that opened after the loop went live has heard no state yet.
        if (this.lastState !== undefined && this.loop !== undefined) {
          this.channel?.postMessage({ kind: 'state', state: this.lastState } satisfies TabMessage);
        }
        break;
      case 'bye':
        this.others.delete(message.tab);
        this.syncLoopRooms();
        break;
      case 'events':
        this.deliver(message.events);
        break;
      case 'state':
        this.options.onState?.(message.state);
        break;
      case 'hello-leader':
        this.announce();
        break;
    }
  }

  /** Hands on this tab's rooms' events after its own cursor, filling any hole first. */
  private deliver(events: ChatEvent[]): void {
    this.delivery.deliver(events);
  }
}
