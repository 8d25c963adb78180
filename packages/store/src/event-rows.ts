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
}

/** The columns the store selects to rebuild an event, in `EventRow` order. */
export const EVENT_COLUMNS = 'room, seq, id, type, at, nickname, text, from_nick, target, edited, deleted';

/** What a write wants appended; the store adds `seq` and `id`. */
export type EventDraft =
  | { room: RoomName; type: 'message'; at: number; nickname: string; text: string }
  | { room: RoomName; type: 'enter' | 'leave'; at: number; nickname: string }
  | { room: RoomName; type: 'nick'; at: number; nickname: string; from: string }
  | { room: RoomName; type: 'edit'; at: number; nickname: string; target: Seq; text: string }
  | { room: RoomName; type: 'delete'; at: number; nickname: string; target: Seq };

/**
 * Builds the event object with exactly the keys of its type, in the order the
 * wire format shows them, and no `undefined` values: every tier serializes
 * what the store returns, so the shape is fixed here once.
 */
export function buildEvent(draft: EventDraft, seq: Seq, id: string): ChatEvent {
  const { room, at, nickname } = draft;
  switch (draft.type) {
    case 'message':
      return { room, seq, type: 'message', at, nickname, text: draft.text, id };
    case 'nick':
      return { room, seq, type: 'nick', at, from: draft.from, nickname, id };
    case 'enter':
      return { room, seq, type: 'enter', at, nickname, id };
    case 'leave':
      return { room, seq, type: 'leave', at, nickname, id };
    case 'edit':
      return { room, seq, type: 'edit', at, nickname, target: draft.target, text: draft.text, id };
    case 'delete':
      return { room, seq, type: 'delete', at, nickname, target: draft.target, id };
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
  const deleted = Boolean(row.deleted);
  switch (row.type) {
    case 'message':
      if (deleted) return { room, seq, type: 'message', at, nickname, deleted: true, id };
      if (row.edited) return { room, seq, type: 'message', at, nickname, text: row.text ?? '', edited: true, id };
      return { room, seq, type: 'message', at, nickname, text: row.text ?? '', id };
    case 'nick':
      return { room, seq, type: 'nick', at, from: row.from_nick ?? '', nickname, id };
    case 'enter':
      return { room, seq, type: 'enter', at, nickname, id };
    case 'leave':
      return { room, seq, type: 'leave', at, nickname, id };
    case 'edit': {
      const target = row.target ?? 0;
      if (deleted) return { room, seq, type: 'edit', at, nickname, target, deleted: true, id };
      return { room, seq, type: 'edit', at, nickname, target, text: row.text ?? '', id };
    }
    case 'delete':
      return { room, seq, type: 'delete', at, nickname, target: row.target ?? 0, id };
  }
}
