import { formatCursor, type RoomName, type Seq } from '@parley/protocol';
import type { ResolvedCursor } from './observer-registry.js';
import type { RoomDirectory } from './room-directory.js';
import { WEB_EVENTS_LIMIT, type WebClient } from './web-client.js';

/** Most events of one room in one observe answer; the cursor tells the client to come back for more. */
export const ANSWER_EVENTS_PER_ROOM = WEB_EVENTS_LIMIT;

/** Does any room of `cursor` have events after it (up to its contiguous head)? */
export function hasEventsAfter(cursor: ResolvedCursor, rooms: RoomDirectory): boolean {
  for (const [room, seq] of cursor) {
    const buffer = rooms.get(room);
    if (buffer !== undefined && buffer.head > seq) return true;
  }
  return false;
}

/**
 * The JSON text `{"events":[...],"cursor":"..."}` of an answer with no events:
 * a timeout, a shutdown.
 */
export function emptyAnswer(cursorText: string): string {
  return `{"events":[],"cursor":${JSON.stringify(cursorText)}}`;
}

/** Told once per answer body built (not per observer), for /metrics. */
export interface AnswerTally {
  bodyBuilt(perRoom: readonly (readonly string[])[]): void;
}

/**
 * Builds the answer for `cursor`: per room in cursor order, the events after
 * its seq (ascending, at most `ANSWER_EVENTS_PER_ROOM`), from the room's
 * buffer when it reaches back far enough, else from the web tier. The events
 * are the JSON texts serialised when they entered the buffer, joined, never
 * re-serialised per observer. Each room's new cursor is its seq plus the
 * number of events given, which holds because events are contiguous.
 */
export async function buildAnswer(cursor: ResolvedCursor, rooms: RoomDirectory, web: WebClient, tally?: AnswerTally): Promise<string> {
  const perRoom = await eventsAfterCursor(cursor, rooms, web);
  tally?.bodyBuilt(perRoom);
  return joinAnswer(cursor, perRoom);
}

/**
 * `buildAnswer` without a promise when every room's buffer reaches back to
 * its cursor (the case of every wake-up: the cursor was the head a moment
 * ago), else `undefined`.
 */
export function buildAnswerNow(cursor: ResolvedCursor, rooms: RoomDirectory, tally?: AnswerTally): string | undefined {
  const perRoom = eventsAfterCursorNow(cursor, rooms);
  if (perRoom === undefined) return undefined;
  tally?.bodyBuilt(perRoom);
  return joinAnswer(cursor, perRoom);
}

/**
 * Per room of `cursor` (in its order), the serialised events after its seq
 * (ascending, at most `ANSWER_EVENTS_PER_ROOM`), from the buffers; `undefined`
 * when a buffer does not reach back to its cursor. What every transport frames.
 */
export function eventsAfterCursorNow(cursor: ResolvedCursor, rooms: RoomDirectory): string[][] | undefined {
  const perRoom: string[][] = [];
  for (const [room, seq] of cursor) {
    const buffer = rooms.get(room);
    const events = buffer === undefined ? [] : buffer.eventsAfter(seq, ANSWER_EVENTS_PER_ROOM);
    if (events === undefined) return undefined;
    perRoom.push(events);
  }
  return perRoom;
}

/** `eventsAfterCursorNow`, asking the web tier for rooms whose buffer does not reach back. */
export function eventsAfterCursor(cursor: ResolvedCursor, rooms: RoomDirectory, web: WebClient): Promise<string[][]> {
  return Promise.all([...cursor].map(async ([room, seq]): Promise<string[]> => eventsAfter(room, seq, rooms, web)));
}

function joinAnswer(cursor: ResolvedCursor, perRoom: readonly string[][]): string {
  const parts: string[] = [];
  const next = new Map<RoomName, Seq>();
  let index = 0;
  for (const [room, seq] of cursor) {
    const events = perRoom[index++] as string[];
    if (events.length > 0) parts.push(events.join(','));
    next.set(room, seq + events.length);
  }
  return `{"events":[${parts.join(',')}],"cursor":${JSON.stringify(formatCursor(next))}}`;
}

async function eventsAfter(room: RoomName, seq: Seq, rooms: RoomDirectory, web: WebClient): Promise<string[]> {
  const buffer = rooms.get(room);
  if (buffer === undefined) return [];
  const buffered = buffer.eventsAfter(seq, ANSWER_EVENTS_PER_ROOM);
  if (buffered !== undefined) return buffered;
  // The cursor is older than the buffer: the web tier has every event.
  const answer = await web.roomEvents(room, seq, ANSWER_EVENTS_PER_ROOM);
  return answer.events.map((event) => JSON.stringify(event));
}
