import { ChatError, type ChatEvent, type RoomName } from '@parley/protocol';
import type { SayInput, SayResult, StoredWrite } from './chat-store.js';
import type { EventAuthor } from './event-rows.js';

/**
 * The rules every `ChatStore` applies the same way, whatever its SQL: when a
 * session's last use is refreshed, how a say is decided, which refusal a
 * caller gets, how a bad limit is read. Each implementation only finds the facts.
 */

// "Refreshed at most once a minute": reading a session must not turn every request into a write.
export const SESSION_TOUCH_INTERVAL_MS = 60_000;

/**
 * Whether `findSession` refreshes a session last seen at `lastSeenAt`: over a
 * minute ago, but never one idle longer than `maxIdleMs` (an expired session
 * stays expired).
 */
export function shouldTouchSession(lastSeenAt: number, now: number, maxIdleMs: number): boolean {
  const idleMs = now - lastSeenAt;
  return idleMs > SESSION_TOUCH_INTERVAL_MS && idleMs <= maxIdleMs;
}

/** A write that appended nothing; a fresh object each time (callers may extend its array). */
export function nothingWritten(): StoredWrite {
  return { events: [], outboxId: undefined };
}

/** A caller's limit as a row count: whole, at least 0 (SQLite reads a negative LIMIT as "no limit"). */
export function rowLimit(limit: number): number {
  return Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : 0;
}

export function roomNotFound(room: RoomName): ChatError {
  return new ChatError('room_not_found', `room ${room} does not exist`);
}

export function unknownSession(): ChatError {
  return new ChatError('unauthorized', 'unknown session');
}

export function notInRoom(room: RoomName): ChatError {
  return new ChatError('not_in_room', `enter room ${room} before saying something in it`);
}

/** What a store has read about one say, inside the write transaction that would append it. */
export interface SayFacts {
  /** The event stored earlier under the say's `(sessionId, clientId)`, if it has a clientId and there is one. */
  earlier: ChatEvent | undefined;
  roomExists: boolean;
  /** Whether the session is in the room. */
  member: boolean;
  /** The session as an author (nickname, account, bot), or `undefined` when there is no such session. */
  author: EventAuthor | undefined;
}

/** A say's fate: the earlier answer (`duplicate: true`), or the nickname to append it under. */
export type SayDecision = (SayResult & { duplicate: true }) | { duplicate: false; author: EventAuthor };

/**
 * Decides a say from its facts, in this order: an earlier say with the same
 * clientId (its answer, even if the session has left the room since; a
 * different room or text is `client_id_conflict`), then the room
 * (`room_not_found`), membership (`not_in_room`) and session
 * (`unauthorized`). Returns the duplicate's result, or the nickname to append
 * the message under; throws the refusal.
 */
export function decideSay(input: SayInput, facts: SayFacts): SayDecision {
  const { earlier } = facts;
  if (earlier !== undefined) {
    if (earlier.type !== 'message' || earlier.room !== input.room || earlier.text !== input.text) {
      throw new ChatError('client_id_conflict', 'clientId was already used for a different message');
    }
    return { event: earlier, duplicate: true, events: [], outboxId: undefined };
  }
  if (!facts.roomExists) throw roomNotFound(input.room);
  if (!facts.member) throw notInRoom(input.room);
  if (facts.author === undefined) throw unknownSession();
  return { duplicate: false, author: facts.author };
}

/** The author of a session's events: its nickname, its account (`null`: a guest), whether it is a bot token. */
export function sessionAuthor(session: { nickname: string; username: string | null; bot_name: string | null }): EventAuthor {
  return { nickname: session.nickname, user: session.username, bot: session.bot_name !== null };
}

export function roomExists(room: RoomName): ChatError {
  return new ChatError('room_exists', `room ${room} exists already`);
}

export function usernameTaken(username: string): ChatError {
  return new ChatError('username_taken', `username ${username} is taken`);
}

export function unknownAccount(username: string): ChatError {
  return new ChatError('not_found', `no account named ${username}`);
}
