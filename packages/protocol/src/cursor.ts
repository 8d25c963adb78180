import { ChatError } from './errors.js';
import type { RoomName, Seq } from './events.js';
import { isRoomName } from './validation.js';

/**
 * An observe cursor: for each room, the last seq the client has seen, or
 * `null` for a bare room ("from now"). Insertion order is the client's order.
 */
export type Cursor = Map<RoomName, Seq | null>;

/** Most rooms one observe may watch. */
export const MAX_CURSOR_ROOMS = 50;
// A seq is a safe integer; 15 digits keep it far inside 2^53.
const SEQ = /^(0|[1-9]\d{0,14})$/;

/**
 * Parses `lobby:41,dev:17,news` into a cursor, or throws `invalid_cursor`.
 * Rules: 1..maxRooms comma-separated entries, each a room name optionally
 * followed by `:seq`; a room may appear once.
 */
export function parseCursor(text: unknown, maxRooms: number = MAX_CURSOR_ROOMS): Cursor {
  const cursor = decodeCursor(text, maxRooms);
  if (typeof cursor === 'string') throw new ChatError('invalid_cursor', cursor);
  return cursor;
}

/**
 * Reads a cursor a server wrote (an observe answer's `cursor`) by the same
 * rules as `parseCursor`, or gives `undefined`. For clients: it leaves out the
 * error table, which a browser bundle would otherwise carry.
 */
export function readCursor(text: string, maxRooms: number = MAX_CURSOR_ROOMS): Cursor | undefined {
  const cursor = decodeCursor(text, maxRooms);
  return typeof cursor === 'string' ? undefined : cursor;
}

/** The cursor, or what is wrong with it. */
function decodeCursor(text: unknown, maxRooms: number): Cursor | string {
  if (typeof text !== 'string' || text.length === 0) {
    return 'rooms is required: room:lastSeenSeq pairs separated by commas';
  }
  // Cheap bound before splitting hostile input: a room entry is at most 64 + 1 + 15 chars.
  if (text.length > maxRooms * 81) return `at most ${maxRooms} rooms per observe`;
  const entries = text.split(',');
  if (entries.length > maxRooms) return `at most ${maxRooms} rooms per observe`;
  const cursor: Cursor = new Map();
  for (const entry of entries) {
    const colon = entry.indexOf(':');
    const room = colon === -1 ? entry : entry.slice(0, colon);
    if (!isRoomName(room)) return `invalid room name in cursor: ${JSON.stringify(String(room).slice(0, 70))}`;
    if (cursor.has(room)) return `room ${room} appears twice in cursor`;
    if (colon === -1) {
      cursor.set(room, null);
      continue;
    }
    const seqText = entry.slice(colon + 1);
    if (!SEQ.test(seqText)) return `invalid seq for room ${room}`;
    cursor.set(room, Number(seqText));
  }
  return cursor;
}

/** Formats a cursor as `lobby:41,dev:17` (a bare room stays bare). */
export function formatCursor(cursor: Cursor): string {
  const parts: string[] = [];
  for (const [room, seq] of cursor) parts.push(seq === null ? room : `${room}:${seq}`);
  return parts.join(',');
}
