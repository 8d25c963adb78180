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
}

/** The columns the store selects to rebuild an event, in `EventRow` order. */
export const EVENT_COLUMNS = 'room, seq, id, type, at, nickname, text, from_nick';

/** What a write wants appended; the store adds `seq` and `id`. */
export type EventDraft =
  | { room: RoomName; type: 'message'; at: number; nickname: string; text: string }
  | { room: RoomName; type: 'enter' | 'leave'; at: number; nickname: string }
  | { room: RoomName; type: 'nick'; at: number; nickname: string; from: string };

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
  }
}

/** Rebuilds an event from its row (same shape as `buildEvent`). */
export function rowToEvent(row: EventRow): ChatEvent {
  const { room, seq, at, nickname, id } = row;
  switch (row.type) {
    case 'message':
      return { room, seq, type: 'message', at, nickname, text: row.text ?? '', id };
    case 'nick':
      return { room, seq, type: 'nick', at, from: row.from_nick ?? '', nickname, id };
    case 'enter':
      return { room, seq, type: 'enter', at, nickname, id };
    case 'leave':
      return { room, seq, type: 'leave', at, nickname, id };
  }
}
