import type { ChatEvent, ChatEventType, RoomName, Seq } from '@parley/protocol';

/** An `events` row as selected by the store (the columns that make up the event). */
export interface EventRow {
  room: RoomName;
  seq: Seq;
  id: string;
  type: ChatEventType;
  at: number;
  nickname: string;
  text: string | null;
  from_nick: string | null;
  /** The author's account, or `null` for a guest (and for events stored before accounts existed). */
  username: string | null;
  /** 1 when written with a bot token (SQLite integer, PostgreSQL boolean read as such). */
  bot: number | boolean | null;
  /** A kick's removed username. */
  target: string | null;
}

/** The columns the store selects to rebuild an event, in `EventRow` order. */
export const EVENT_COLUMNS = 'room, seq, id, type, at, nickname, text, from_nick, username, bot, target';

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
  }
}

/** Rebuilds an event from its row (same shape as `buildEvent`). */
export function rowToEvent(row: EventRow): ChatEvent {
  const author: EventAuthor = { nickname: row.nickname, user: row.username ?? null, bot: row.bot === true || row.bot === 1 };
  const base = { room: row.room, at: row.at, ...author };
  switch (row.type) {
    case 'message':
      return buildEvent({ ...base, type: 'message', text: row.text ?? '' }, row.seq, row.id);
    case 'nick':
      return buildEvent({ ...base, type: 'nick', from: row.from_nick ?? '' }, row.seq, row.id);
    case 'kick':
      return buildEvent({ ...base, type: 'kick', target: row.target ?? '' }, row.seq, row.id);
    case 'enter':
    case 'leave':
      return buildEvent({ ...base, type: row.type }, row.seq, row.id);
  }
}

/** The columns of an event that are not in every event: its text, nick's `from`, kick's `target`. */
export function eventExtras(event: ChatEvent): { text: string | null; from: string | null; target: string | null } {
  return {
    text: event.type === 'message' ? event.text : null,
    from: event.type === 'nick' ? event.from : null,
    target: event.type === 'kick' ? event.target : null,
  };
}
