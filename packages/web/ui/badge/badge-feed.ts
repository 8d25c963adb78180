import { ObserveLoop, jsonpTransport, type ConnectionState } from '@parley/client';
import type { ChatEvent, RoomDetail } from '@parley/protocol';
import { isApiError, jsonpGet } from './jsonp.js';
import type { BadgeView } from './view.js';

/** What the badge shows for a deleted message. */
const DELETED_TEXT = 'message deleted';

/**
 * Events read to find the latest message: the newest event is often an
 * enter or leave, so one event is not enough to show a message that exists.
 */
export const LATEST_EVENTS_WINDOW = 20;
/** Pause before a failed count read is tried again (the observe loop keeps its own backoff). */
const COUNT_RETRY_MS = 5_000;

/** What the badges of one room show, and the views showing it. */
interface RoomState {
  views: BadgeView[];
  count: number | undefined;
  latest: { seq: number; nickname: string; text: string } | undefined;
  /** A count read is running; `countAgain` asks for one more after it (an event arrived meanwhile). */
  counting: boolean;
  countAgain: boolean;
}

/**
 * Every badge of one Parley deployment on this page: ONE JSONP observe loop
 * over all their rooms, however many badges there are. The loop starts after
 * the page's load event, once the rooms found so far have their first reads,
 * so adding them does not abandon a parked poll; a badge added later joins
 * the running loop.
 */
export class BadgeFeed {
  private readonly rooms = new Map<string, RoomState>();
  private readonly loop: ObserveLoop;
  private readonly firstReads: Array<Promise<void>> = [];
  private state: ConnectionState = 'connecting';
  private starting = false;

  constructor(private readonly base: string) {
    this.loop = new ObserveLoop({
      transport: jsonpTransport({ baseUrl: base }),
      onEvents: (events) => this.apply(events),
      onState: (state) => {
        this.state = state;
        for (const room of this.rooms.values()) for (const view of room.views) view.setState(state);
      },
    });
  }

  /** Shows `room` in `view` from now on. */
  add(room: string, view: BadgeView): void {
    view.setState(this.state);
    const known = this.rooms.get(room);
    if (known !== undefined) {
      known.views.push(view);
      view.setCount(known.count);
      if (known.latest !== undefined) view.setLatest(known.latest.nickname, known.latest.text);
      return;
    }
    const state: RoomState = { views: [view], count: undefined, latest: undefined, counting: false, countAgain: false };
    this.rooms.set(room, state);
    this.firstReads.push(this.firstRead(room, state));
    void this.startWhenRead();
  }

  /** Count and latest message, then the room joins the observe loop right after the seq it was read at. */
  private async firstRead(room: string, state: RoomState): Promise<void> {
    const path = `${this.base}/api/rooms/${encodeURIComponent(room)}`;
    const [detail, latest] = await Promise.allSettled([
      jsonpGet<RoomDetail>(path),
      jsonpGet<{ events: ChatEvent[] }>(`${path}/events?limit=${LATEST_EVENTS_WINDOW}`),
    ]);
    if (latest.status === 'fulfilled' && !isApiError(latest.value)) this.showMessages(state, latest.value.events);
    if (detail.status === 'rejected') {
      // Unreachable for now: watch from the head the loop finds, and read the count again later.
      this.loop.watch(room);
      this.scheduleCountRetry(room, state);
      return;
    }
    // A room that does not exist yet has nobody in it and starts at seq 0.
    const found = isApiError(detail.value) ? undefined : detail.value;
    this.showCount(state, found?.occupants.length ?? 0);
    this.loop.watch(room, found?.seq ?? 0);
  }

  /** Starts the loop once the host page has loaded and every first read so far has finished. */
  private async startWhenRead(): Promise<void> {
    if (this.starting) return;
    this.starting = true;
    // A <script> inserted before the page's load event delays it until it has
    // loaded: a parked long-poll would hold the host page "loading" for a whole
    // hold, and the next poll for another. So the loop waits for load.
    if (document.readyState !== 'complete') {
      await new Promise((resolve) => window.addEventListener('load', resolve, { once: true }));
    }
    // A badge found while waiting adds its read to the list: wait until it stops growing.
    let awaited = 0;
    while (awaited < this.firstReads.length) {
      awaited = this.firstReads.length;
      await Promise.allSettled(this.firstReads.slice());
    }
    this.loop.start();
  }

  private apply(events: ChatEvent[]): void {
    const byRoom = new Map<string, ChatEvent[]>();
    for (const event of events) byRoom.set(event.room, [...(byRoom.get(event.room) ?? []), event]);
    for (const [room, roomEvents] of byRoom) {
      const state = this.rooms.get(room);
      if (state === undefined) continue;
      this.showMessages(state, roomEvents);
      // Presence changed: read the count (O(1) on the server) rather than guess it from events.
      if (roomEvents.some((event) => event.type === 'enter' || event.type === 'leave' || event.type === 'nick')) {
        void this.refreshCount(room, state);
      }
    }
  }

  /** Shows the newest message among `events`, unless a newer one is already shown. */
  private showMessages(state: RoomState, events: ChatEvent[]): void {
    for (const event of events) {
      // An edit or delete of the message shown changes its text.
      if ((event.type === 'edit' || event.type === 'delete') && state.latest?.seq === event.target) {
        state.latest = { ...state.latest, text: event.type === 'edit' && 'text' in event ? event.text : DELETED_TEXT };
        continue;
      }
      if (event.type !== 'message' || (state.latest !== undefined && state.latest.seq >= event.seq)) continue;
      state.latest = { seq: event.seq, nickname: event.nickname, text: 'text' in event ? event.text : DELETED_TEXT };
    }
    const shown = state.latest;
    if (shown !== undefined) for (const view of state.views) view.setLatest(shown.nickname, shown.text);
  }

  private showCount(state: RoomState, count: number): void {
    state.count = count;
    for (const view of state.views) view.setCount(count);
  }

  /** Reads the occupant count; reads run one at a time per room, so an older answer never wins. */
  private async refreshCount(room: string, state: RoomState): Promise<void> {
    if (state.counting) {
      state.countAgain = true;
      return;
    }
    state.counting = true;
    try {
      do {
        state.countAgain = false;
        const answer = await jsonpGet<RoomDetail>(`${this.base}/api/rooms/${encodeURIComponent(room)}`);
        this.showCount(state, isApiError(answer) ? 0 : answer.occupants.length);
      } while (state.countAgain);
    } catch {
      this.scheduleCountRetry(room, state);
    } finally {
      state.counting = false;
    }
  }

  private scheduleCountRetry(room: string, state: RoomState): void {
    setTimeout(() => void this.refreshCount(room, state), COUNT_RETRY_MS);
  }
}
