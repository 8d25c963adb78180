import type { RoomName } from '@parley/protocol';

/** One serialised observe answer, and once a JSON observer needed it, its complete raw HTTP answer. */
export interface CachedAnswer {
  json: string;
  raw?: Buffer;
  /** The `Date` header of `raw`; a raw answer of an older second is rebuilt. */
  rawDate?: string;
}

// Distinct cursors with answers held at once. Observers of a room sit at a
// handful of cursors (the head and a few behind), so this is far above need;
// past it everything is dropped and rebuilt on demand.
const MAX_ENTRIES = 10_000;

/**
 * Observe answers by cursor text, each serialised once and shared by every
 * observe at that cursor until one of its rooms advances. An answer depends
 * only on the cursor and the heads of its rooms, so dropping a room's entries
 * when it advances (`invalidate`) keeps every cached answer exact.
 */
export class AnswerCache {
  private readonly byCursor = new Map<string, CachedAnswer & { rooms: RoomName[] }>();
  private readonly cursorsByRoom = new Map<RoomName, Set<string>>();

  /** The answer cached for `cursorText`, if any. */
  get(cursorText: string): CachedAnswer | undefined {
    return this.byCursor.get(cursorText);
  }

  /** Caches `json` as the answer of `cursorText`, whose rooms are `rooms`, and returns the entry. */
  set(cursorText: string, rooms: Iterable<RoomName>, json: string): CachedAnswer {
    if (this.byCursor.size >= MAX_ENTRIES) this.clear();
    const entry = { json, rooms: [...rooms] };
    this.byCursor.set(cursorText, entry);
    for (const room of entry.rooms) {
      let cursors = this.cursorsByRoom.get(room);
      if (cursors === undefined) {
        cursors = new Set();
        this.cursorsByRoom.set(room, cursors);
      }
      cursors.add(cursorText);
    }
    return entry;
  }

  /** Drops every answer that involves `room` (its head moved). */
  invalidate(room: RoomName): void {
    const cursors = this.cursorsByRoom.get(room);
    if (cursors === undefined) return;
    this.cursorsByRoom.delete(room);
    for (const cursorText of cursors) {
      const entry = this.byCursor.get(cursorText);
      this.byCursor.delete(cursorText);
      // A cursor of several rooms is indexed under each: unindex it from the others too.
      for (const other of entry?.rooms ?? []) if (other !== room) this.cursorsByRoom.get(other)?.delete(cursorText);
    }
  }

  /** Number of cached answers. */
  get size(): number {
    return this.byCursor.size;
  }

  clear(): void {
    this.byCursor.clear();
    this.cursorsByRoom.clear();
  }
}
