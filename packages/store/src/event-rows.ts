import type { ChatEvent, ChatEventType, RoomName, Seq } from '@parley/protocol';

/** An `events` row as selected by the store (the columns that make up the event). */
export interface EventRow {
  room: RoomName;
  seq: Seq;
  id: string;
  type: ChatEventType;
  at: number;
  nickname: string;
  /** `null` for events without text, and for a deleted message and its edits (the text is erased). */
  text: string | null;
  from_nick: string | null;
  /** The seq an `edit` or `delete` acts on. */
  target: Seq | null;
  /** A message edited since it was said (SQLite 0/1, PostgreSQL boolean). */
  edited: boolean | number;
  /** A deleted message, or an edit of one (SQLite 0/1, PostgreSQL boolean). */
  deleted: boolean | number;
  /** The author's account, or `null` for a guest (and for events stored before accounts existed). */
  username: string | null;
  /** 1 when written with a bot token (SQLite integer, PostgreSQL boolean read as such). */
  bot: number | boolean | null;
  /** A kick's removed username. */
  kicked: string | null;
}

/** The columns the store selects to rebuild an event, in `EventRow` order. */
export const EVENT_COLUMNS = 'room, seq, id, type, at, nickname, text, from_nick, target, edited, deleted, username, bot, kicked';

/** Who caused an event: the session's nickname, its account (`null` for a guest), and whether it is a bot token. */
export interface EventAuthor {
  nickname: string;
  user: string | null;
  bot: boolean;
}

/** What a write wants appended; the store adds `seq` and `id`. */
export type EventDraft = EventAuthor &
  (
    | { room: RoomName; type: 'message'; at: number; text: string }
    | { room: RoomName; type: 'enter' | 'leave'; at: number }
    | { room: RoomName; type: 'nick'; at: number; from: string }
    | { room: RoomName; type: 'kick'; at: number; target: string }
    | { room: RoomName; type: 'edit'; at: number; target: Seq; text: string }
    | { room: RoomName; type: 'delete'; at: number; target: Seq }
  );

/**
 * Builds the event object with exactly the keys of its type, in the order the
 * wire format shows them, and no `undefined` values: every tier serializes
 * what the store returns, so the shape is fixed here once. `bot` appears only
 * when true.
 */
export function buildEvent(draft: EventDraft, seq: Seq, id: string): ChatEvent {
  const { room, at, nickname, user } = draft;
  const bot = draft.bot ? ({ bot: true } as const) : {};
  switch (draft.type) {
    case 'message':
      return { room, seq, type: 'message', at, nickname, user, ...bot, text: draft.text, id };
    case 'nick':
      return { room, seq, type: 'nick', at, from: draft.from, nickname, user, ...bot, id };
    case 'kick':
      return { room, seq, type: 'kick', at, nickname, user, ...bot, target: draft.target, id };
    case 'enter':
      return { room, seq, type: 'enter', at, nickname, user, ...bot, id };
    case 'leave':
      return { room, seq, type: 'leave', at, nickname, user, ...bot, id };
    case 'edit':
      return { room, seq, type: 'edit', at, nickname, user, ...bot, target: draft.target, text: draft.text, id };
    case 'delete':
      return { room, seq, type: 'delete', at, nickname, user, ...bot, target: draft.target, id };
  }
}

/** The text column of an event (`null` for events that have none, and for an erased one). */
export function textOf(event: ChatEvent): string | null {
  return (event.type === 'message' || event.type === 'edit') && 'text' in event ? event.text : null;
}

/** The target column of an event (`null` unless it is an edit or a delete). */
export function targetOf(event: ChatEvent): Seq | null {
  return event.type === 'edit' || event.type === 'delete' ? event.target : null;
}

/** Rebuilds an event from its row (same shape as `buildEvent`), as it is now: edited or deleted. */
export function rowToEvent(row: EventRow): ChatEvent {
  const { room, seq, at, nickname, id } = row;
  const user = row.username ?? null;
  const bot = row.bot === true || row.bot === 1 ? ({ bot: true } as const) : {};
  const author: EventAuthor = { nickname, user, bot: row.bot === true || row.bot === 1 };
  const base = { room, at, ...author };
  const deleted = Boolean(row.deleted);
  switch (row.type) {
    case 'message':
      if (deleted) return { room, seq, type: 'message', at, nickname, user, ...bot, deleted: true, id };
      if (row.edited) return { room, seq, type: 'message', at, nickname, user, ...bot, text: row.text ?? '', edited: true, id };
      return buildEvent({ ...base, type: 'message', text: row.text ?? '' }, seq, id);
    case 'nick':
      return buildEvent({ ...base, type: 'nick', from: row.from_nick ?? '' }, seq, id);
    case 'kick':
      return buildEvent({ ...base, type: 'kick', target: row.kicked ?? '' }, seq, id);
    case 'enter':
    case 'leave':
      return buildEvent({ ...base, type: row.type }, seq, id);
    case 'edit': {
      const target = row.target ?? 0;
      if (deleted) return { room, seq, type: 'edit', at, nickname, user, ...bot, target, deleted: true, id };
      return buildEvent({ ...base, type: 'edit', target, text: row.text ?? '' }, seq, id);
    }
    case 'delete':
      return buildEvent({ ...base, type: 'delete', target: row.target ?? 0 }, seq, id);
  }
}

/** The columns of an event that are not in every event: its text (see `textOf`), nick's `from`, kick's removed username. */
export function eventExtras(event: ChatEvent): { text: string | null; from: string | null; kicked: string | null } {
  return {
    text: textOf(event),
    from: event.type === 'nick' ? event.from : null,
    kicked: event.type === 'kick' ? event.target : null,
  };
}
