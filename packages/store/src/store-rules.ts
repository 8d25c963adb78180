import { ChatError, type ChatEvent, type ChatEventType, type RoomName, type Seq } from '@parley/protocol';
import type { NewSessionInput, SayInput, SayResult, SessionRecord, StoredWrite } from './chat-store.js';
import type { EventAuthor } from './event-rows.js';
import { newId } from './ids.js';

/**
 * The rules every `ChatStore` applies the same way, whatever its SQL: when a
 * session's last use is refreshed, how a say is decided, which refusal a
 * caller gets, how a bad limit is read. Each implementation only finds the facts.
 */

// "Refreshed at most once a minute": reading a session must not turn every request into a write.
const SESSION_TOUCH_INTERVAL_MS = 60_000;

/**
 * What `findSession` answers for the session `row` found by its token: its
 * record, refreshed (`touch`, which writes `last_seen_at = now` where it is
 * still before `seenBefore`) when it was last seen over a minute ago — but
 * never one idle longer than `maxIdleMs` (an expired session stays expired).
 */
export async function sessionInUse(
  row: SessionRow | undefined,
  now: number,
  maxIdleMs: number,
  touch: (id: string, seenBefore: number) => unknown,
): Promise<SessionRecord | undefined> {
  if (row === undefined) return undefined;
  const idleMs = now - row.last_seen_at;
  if (idleMs <= SESSION_TOUCH_INTERVAL_MS || idleMs > maxIdleMs) return toSessionRecord(row);
  await touch(row.id, now - SESSION_TOUCH_INTERVAL_MS);
  return { ...toSessionRecord(row), lastSeenAt: now };
}

/** The record of a session created at `now`: a fresh id, last seen at its creation. */
export function newSessionRecord(input: NewSessionInput): SessionRecord {
  return {
    id: newId(),
    nickname: input.nickname,
    createdAt: input.now,
    lastSeenAt: input.now,
    username: input.username ?? null,
    botName: input.botName ?? null,
  };
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
    // An edited or deleted message no longer holds the text it was said with: the room must match.
    const sameText = earlier.type === 'message' && ('deleted' in earlier || earlier.edited === true || earlier.text === input.text);
    if (earlier.room !== input.room || !sameText) {
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

/**
 * Who asks to change a message: the session, and its account (`null` for a
 * guest, or when the session is unknown).
 */
export interface Actor {
  sessionId: string;
  username?: string | null;
}

/** What a store reads about the target of an edit or delete, under the room's lock. */
export interface TargetFacts {
  type: ChatEventType;
  /** The session that said it (`null` for events nobody said). */
  authorSessionId: string | null;
  deleted: boolean;
  /** The owner (account) of the message's room, `null` for a room nobody owns. */
  roomOwner?: string | null;
}

/** A change of a stored message. */
export type MessageChange = 'edit' | 'delete';

export function messageNotFound(room: RoomName, seq: Seq): ChatError {
  return new ChatError('message_not_found', `room ${room} has no message ${seq}`);
}

/**
 * The one place that decides who may change a message: its author may edit
 * and delete it; the owner of its room (an account) may delete any message of
 * the room (issue 16), but edit none but their own. Throws `forbidden`.
 */
export function authorizeMessageChange(change: MessageChange, actor: Actor, target: TargetFacts): void {
  if (target.authorSessionId !== null && target.authorSessionId === actor.sessionId) return;
  const owner = target.roomOwner ?? null;
  if (change === 'delete' && owner !== null && actor.username != null && actor.username === owner) return;
  throw new ChatError('forbidden', change === 'edit' ? 'only its author may edit a message' : 'only its author or the room owner may delete a message');
}

/**
 * Decides an edit or delete of the event at `seq` from its facts (`undefined`
 * when the room has no such event), in this order: a message that exists
 * (`message_not_found`; an edit of a deleted one too), the actor's session
 * (`unauthorized`), then `authorizeMessageChange` (`forbidden`). Returns
 * `false` for a delete of a message already deleted (nothing to append: a
 * repeated DELETE is not an error), else `true`.
 */
export function decideMessageChange(
  change: MessageChange,
  where: { room: RoomName; seq: Seq },
  actor: Actor & { nickname: string | undefined },
  target: TargetFacts | undefined,
): boolean {
  if (target === undefined || target.type !== 'message' || (change === 'edit' && target.deleted)) {
    throw messageNotFound(where.room, where.seq);
  }
  if (actor.nickname === undefined) throw unknownSession();
  authorizeMessageChange(change, actor, target);
  return !target.deleted;
}

/** A `sessions` row as both stores read it (joined with its account and bot token). */
export interface SessionRow {
  id: string;
  nickname: string;
  created_at: number;
  last_seen_at: number;
  username: string | null;
  bot_name: string | null;
}

export function toSessionRecord(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    nickname: row.nickname,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    username: row.username,
    botName: row.bot_name,
  };
}
