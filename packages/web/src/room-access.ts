import { createHash } from 'node:crypto';
import { ChatError, DM_ROOM_PREFIX, isDirectRoomName, type RoomName } from '@parley/protocol';
import type { ChatStore } from '@parley/store';
import type { AuthenticatedSession } from './auth.js';

/**
 * Who may see which room, decided in one place for every web route. A
 * private room is invisible to a non-member: every route that names it
 * answers exactly as for a room that does not exist (404 `room_not_found`).
 */

/** The refusal of a room the caller may not see, worded like that of a missing room. */
export function roomNotFound(room: RoomName): ChatError {
  return new ChatError('room_not_found', `room ${room} does not exist`);
}

/** Throws `room_not_found` unless `username` (`null`: a guest or anonymous) may read `room`. */
export async function requireVisibleRoom(store: ChatStore, room: RoomName, username: string | null): Promise<void> {
  const access = (await store.roomAccess([room], username)).get(room);
  if (access === 'hidden') throw roomNotFound(room);
  // A direct-message room is only ever made by POST /api/dm: one that does not exist is missing, never created.
  if (isDirectRoomName(room) && access !== 'member') throw roomNotFound(room);
}

/** The account of a session, or 403 `forbidden` for a guest. */
export function requireAccount(session: AuthenticatedSession, what: string): string {
  if (session.username === null) throw new ChatError('forbidden', `${what} needs an account: sign up or sign in`);
  return session.username;
}

/** The account of a person's session (not a bot token), or 403 `forbidden`. */
export function requirePersonAccount(session: AuthenticatedSession, what: string): string {
  const username = requireAccount(session, what);
  if (session.botName !== null) throw new ChatError('forbidden', `${what} is not allowed with a bot token`);
  return username;
}

/**
 * The name of the one direct-message room of two accounts, the same whoever
 * asks: `dm-` and 40 hex digits of the SHA-256 of both names in order (a
 * name holds no newline, so the pair is unambiguous). 43 characters, a valid room name.
 */
export function directRoomName(a: string, b: string): RoomName {
  const [first, second] = [a, b].sort();
  return `${DM_ROOM_PREFIX}${createHash('sha256').update(`${first}\n${second}`).digest('hex').slice(0, 40)}`;
}
