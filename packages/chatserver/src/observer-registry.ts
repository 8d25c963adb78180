import type { RoomName, Seq } from '@parley/protocol';

/** A cursor whose rooms are all resolved to a seq (bare rooms became the head). */
export type ResolvedCursor = Map<RoomName, Seq>;

/** Why a parked observe ends. */
export type FinishReason = 'wake' | 'timeout' | 'closed' | 'shutdown';

/** A parked observe request, as the registry sees it. */
export interface ParkedObserver {
  readonly cursor: ResolvedCursor;
  /** `formatCursor(cursor)`: observers with the same text can share one answer. */
  readonly cursorText: string;
  /** Token hash of the observing session, if any (a session that ends is answered at once). */
  readonly sessionHash?: string | undefined;
  /**
   * The one cleanup path: unparks the observer and answers it (or not, when
   * the client closed). Safe to call more than once; only the first counts.
   * `shared` holds answers already built during the same wake-up, by cursor text.
   */
  finish(reason: FinishReason, shared?: Map<string, Promise<string>>): void;
}

/**
 * The parked observes, indexed by room so an event wakes only the observers
 * of its room.
 */
export class ObserverRegistry {
  private readonly byRoom = new Map<RoomName, Set<ParkedObserver>>();
  private parked = 0;

  /** Number of parked observes. */
  get count(): number {
    return this.parked;
  }

  /** Indexes `observer` under each of its rooms. */
  park(observer: ParkedObserver): void {
    for (const room of observer.cursor.keys()) {
      let set = this.byRoom.get(room);
      if (set === undefined) {
        set = new Set();
        this.byRoom.set(room, set);
      }
      set.add(observer);
    }
    this.parked++;
  }

  /** Removes `observer` from the index (called from its `finish`). */
  unpark(observer: ParkedObserver): void {
    let found = false;
    for (const room of observer.cursor.keys()) {
      const set = this.byRoom.get(room);
      if (set === undefined) continue;
      found = set.delete(observer) || found;
      if (set.size === 0) this.byRoom.delete(room);
    }
    if (found) this.parked--;
  }

  /** The rooms someone is parked on. */
  observedRooms(): IterableIterator<RoomName> {
    return this.byRoom.keys();
  }

  /** Is anyone parked on `room`? */
  isObserved(room: RoomName): boolean {
    return this.byRoom.has(room);
  }

  /**
   * Answers every parked observe of the session `sessionHash` now, with no
   * events: the session ended, and its next observe is checked afresh.
   */
  finishSession(sessionHash: string): void {
    const seen = new Set<ParkedObserver>();
    for (const set of this.byRoom.values()) {
      for (const observer of set) if (observer.sessionHash === sessionHash) seen.add(observer);
    }
    for (const observer of seen) observer.finish('timeout');
  }

  /**
   * Finishes every observer of `room` with `wake`. Observers at the same
   * cursor share one answer body, built once.
   */
  wakeRoom(room: RoomName): void {
    const set = this.byRoom.get(room);
    if (set === undefined) return;
    const shared = new Map<string, Promise<string>>();
    for (const observer of [...set]) observer.finish('wake', shared);
  }

  /** Finishes every parked observer with `reason` (shutdown). */
  finishAll(reason: FinishReason): void {
    const all = new Set<ParkedObserver>();
    for (const set of this.byRoom.values()) for (const observer of set) all.add(observer);
    for (const observer of all) observer.finish(reason);
  }
}
