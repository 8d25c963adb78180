import type { RoomName } from '@parley/protocol';

/** One serialised observe answer, and once a JSON observer needed it, its complete raw HTTP answer. */
export interface CachedAnswer {
  readonly json: string;
  /** Set through `AnswerCache#setRaw`, which counts its bytes. */
  readonly raw?: Buffer;
  /** The `Date` header of `raw`; a raw answer of an older second is rebuilt. */
  readonly rawDate?: string;
}

interface Entry {
  json: string;
  raw?: Buffer;
  rawDate?: string;
  readonly cursorText: string;
  readonly rooms: RoomName[];
  /** What the entry holds, counted as the JSON text's length plus the raw answer's bytes. */
  bytes: number;
}

/** Options of an `AnswerCache`. */
export interface AnswerCacheOptions {
  /** Bytes of answers held at once; past it the least recently used go. @default 32 MiB */
  maxBytes?: number;
}

/** Default of `maxBytes`: far above what observers at a handful of cursors per room need. */
export const DEFAULT_ANSWER_CACHE_BYTES = 32 * 1024 * 1024;
// One answer above this share of the budget is not cached: an answer of 50
// rooms × 500 events is rare and would push out many shared small ones.
const MAX_ENTRY_SHARE = 32;

/**
 * Observe answers by cursor text, each serialised once and shared by every
 * observe at that cursor until one of its rooms advances. An answer depends
 * only on the cursor and the heads of its rooms, so dropping a room's entries
 * when it advances (`invalidate`) keeps every cached answer exact.
 *
 * Bounded by bytes, least recently used first out: any client can ask for an
 * answer at any cursor, so the cache must not grow with what clients ask for.
 */
export class AnswerCache {
  readonly maxBytes: number;
  private readonly maxEntryBytes: number;
  // Map order is use order: the first entry is the least recently used.
  private readonly byCursor = new Map<string, Entry>();
  private readonly cursorsByRoom = new Map<RoomName, Set<string>>();
  private totalBytes = 0;
  // The entry used last is already at the end: when every observer woken at
  // one cursor reads it in turn, it is moved once, not once per observer.
  private newest: Entry | undefined;

  constructor(options: AnswerCacheOptions = {}) {
    this.maxBytes = options.maxBytes ?? DEFAULT_ANSWER_CACHE_BYTES;
    this.maxEntryBytes = Math.floor(this.maxBytes / MAX_ENTRY_SHARE);
  }

  /** The answer cached for `cursorText`, if any. */
  get(cursorText: string): CachedAnswer | undefined {
    const entry = this.byCursor.get(cursorText);
    if (entry !== undefined && entry !== this.newest) {
      this.byCursor.delete(cursorText);
      this.byCursor.set(cursorText, entry);
      this.newest = entry;
    }
    return entry;
  }

  /**
   * Caches `json` as the answer of `cursorText`, whose rooms are `rooms`, and
   * returns the entry; an answer too large to cache is returned uncached.
   */
  set(cursorText: string, rooms: Iterable<RoomName>, json: string): CachedAnswer {
    const entry: Entry = { json, cursorText, rooms: [...rooms], bytes: json.length };
    if (entry.bytes > this.maxEntryBytes) return entry;
    this.remove(cursorText);
    this.byCursor.set(cursorText, entry);
    this.newest = entry;
    this.totalBytes += entry.bytes;
    for (const room of entry.rooms) {
      let cursors = this.cursorsByRoom.get(room);
      if (cursors === undefined) {
        cursors = new Set();
        this.cursorsByRoom.set(room, cursors);
      }
      cursors.add(cursorText);
    }
    this.evict();
    return entry;
  }

  /** Attaches the raw HTTP answer of `answer` (built at `date`), counting its bytes while it is cached. */
  setRaw(answer: CachedAnswer, raw: Buffer, date: string): void {
    const entry = answer as Entry;
    const cached = this.byCursor.get(entry.cursorText) === entry;
    if (cached) this.totalBytes -= entry.bytes;
    entry.bytes = entry.json.length + raw.length;
    entry.raw = raw;
    entry.rawDate = date;
    if (!cached) return;
    this.totalBytes += entry.bytes;
    if (entry.bytes > this.maxEntryBytes) this.remove(entry.cursorText);
    else this.evict();
  }

  /** Drops every answer that involves `room` (its head moved). */
  invalidate(room: RoomName): void {
    const cursors = this.cursorsByRoom.get(room);
    if (cursors === undefined) return;
    for (const cursorText of cursors) this.remove(cursorText);
  }

  /** Number of cached answers. */
  get size(): number {
    return this.byCursor.size;
  }

  /** Bytes held by cached answers (JSON text length plus raw answer bytes). */
  get bytes(): number {
    return this.totalBytes;
  }

  clear(): void {
    this.byCursor.clear();
    this.cursorsByRoom.clear();
    this.totalBytes = 0;
    this.newest = undefined;
  }

  private evict(): void {
    for (const cursorText of this.byCursor.keys()) {
      if (this.totalBytes <= this.maxBytes) return;
      this.remove(cursorText);
    }
  }

  private remove(cursorText: string): void {
    const entry = this.byCursor.get(cursorText);
    if (entry === undefined) return;
    this.byCursor.delete(cursorText);
    this.totalBytes -= entry.bytes;
    if (this.newest === entry) this.newest = undefined;
    // A cursor of several rooms is indexed under each.
    for (const room of entry.rooms) {
      const cursors = this.cursorsByRoom.get(room);
      cursors?.delete(cursorText);
      if (cursors?.size === 0) this.cursorsByRoom.delete(room);
    }
  }
}
