/** A room's name: `[a-z0-9][a-z0-9_-]{0,63}`. */
export type RoomName = string;
/** A room's sequence number: starts at 1, no gaps, assigned in the write transaction. */
export type Seq = number;

/** What every event carries. `at` is epoch milliseconds taken when the web tier accepted the write. */
interface EventBase {
  room: RoomName;
  seq: Seq;
  at: number;
  /** Unique event id (random, URL-safe). */
  id: string;
  /** The nickname of the session that caused the event (the new one, for `nick`). */
  nickname: string;
}

/**
 * A message. History and search give it as it is now: with its latest text
 * and `edited: true` after an `edit`, or with `deleted: true` and no text
 * after a `delete` (its stored text is erased). Live events are the message
 * as said; the edit and delete events that follow it in the seq stream
 * change it.
 */
export type MessageEvent = LiveMessageEvent | DeletedMessageEvent;
/** A message that has its text. */
export interface LiveMessageEvent extends EventBase {
  type: 'message';
  text: string;
  /** Present (true) when the text was edited since it was said. */
  edited?: true;
}
/** A deleted message: its text is gone. */
export interface DeletedMessageEvent extends EventBase {
  type: 'message';
  deleted: true;
}
export interface EnterEvent extends EventBase {
  type: 'enter';
}
export interface LeaveEvent extends EventBase {
  type: 'leave';
}
export interface NickEvent extends EventBase {
  type: 'nick';
  /** The nickname before the change. */
  from: string;
}

/**
 * The author changed the message at seq `target` to `text` (`nickname` is
 * theirs). Once that message is deleted, its edits lose their text too and
 * come back with `deleted: true`.
 */
export type EditEvent = EventBase & { type: 'edit'; target: Seq } & ({ text: string } | { deleted: true });
/** The message at seq `target` was deleted (by `nickname`: its author, or later a room owner). */
export interface DeleteEvent extends EventBase {
  type: 'delete';
  target: Seq;
}

/** One event of a room, as stored, notified and observed. */
export type ChatEvent = MessageEvent | EnterEvent | LeaveEvent | NickEvent | EditEvent | DeleteEvent;
export type ChatEventType = ChatEvent['type'];

/** `GET /api/rooms` entry. */
export interface RoomSummary {
  name: RoomName;
  seq: Seq;
  occupants: number;
}

/** `GET /api/rooms/:room` and the `room` of an enter answer. */
export interface RoomDetail {
  name: RoomName;
  seq: Seq;
  occupants: Array<{ nickname: string }>;
}

/** Path of the chatserver's signed endpoint a worker sends events to (internal port only). */
export const NOTIFY_PATH = '/internal/notify';

/**
 * Body of the signed `POST /internal/notify` a worker sends to a chatserver.
 * Events may belong to several rooms; within a room they are in ascending seq.
 */
export interface NotifyBody {
  events: ChatEvent[];
}

/**
 * Answer of the signed `GET /internal/rooms/:room/events?after=N&limit=L` on a
 * web process: the events after `after` (ascending, at most `limit`) and the
 * room's current head seq (0 for a room that does not exist yet).
 */
export interface RoomEventsInternalAnswer {
  events: ChatEvent[];
  seq: Seq;
}

/** Path of the signed room-heads read a chatserver's catch-up uses. */
export const ROOM_HEADS_PATH = '/internal/heads';
/** Most rooms one `POST /internal/heads` may name. */
export const MAX_ROOM_HEADS = 1000;

/** Body of the signed `POST /internal/heads` (at most `MAX_ROOM_HEADS` distinct rooms). */
export interface RoomHeadsBody {
  rooms: RoomName[];
}

/** Answer of `POST /internal/heads`: each asked room's head seq (0 for a room that does not exist). */
export interface RoomHeadsAnswer {
  heads: Record<RoomName, Seq>;
}

/** The answer of an observe long-poll. */
export interface ObserveAnswer {
  events: ChatEvent[];
  cursor: string;
}

/** Data of one BullMQ notify job: the events of one outbox row. */
export interface NotifyJobData {
  outboxId: number;
  events: ChatEvent[];
}
