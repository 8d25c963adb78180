import type { RoomName } from '@parley/protocol';

/**
 * The room column of SQLite's search index: one token that is the room name
 * and nothing else (`r` + its bytes in hex), so a search matches one room
 * exactly through the index (a room name such as `my-room` would otherwise
 * be the two words `my` and `room`).
 */
export function searchRoomKey(room: RoomName): string {
  return `r${Buffer.from(room, 'utf8').toString('hex')}`;
}

/**
 * The words of a search reduced to letters and digits (the web tier's
 * `parseSearchWords` gives only such words; any other caller's are cleaned
 * here, so no text is ever read as query syntax). Empty: nothing to find.
 */
export function searchableWords(words: readonly string[]): string[] {
  return words.map((word) => word.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '')).filter((word) => word.length > 0);
}

/**
 * The FTS5 query of a search: the room's key, and every word as a prefix. The
 * words hold only letters and digits (`parseSearchWords`), so quoting them is
 * enough: no user text is ever read as FTS5 syntax.
 */
export function sqliteSearchQuery(room: RoomName, words: readonly string[]): string {
  return `room_key : ${searchRoomKey(room)} AND text : (${words.map((word) => `"${word}"*`).join(' AND ')})`;
}

/** The `to_tsquery('simple', …)` text of a search: every word as a prefix. */
export function pgSearchQuery(words: readonly string[]): string {
  return words.map((word) => `${word}:*`).join(' & ');
}
