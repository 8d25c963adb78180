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
  /** The account (username) of that session, or `null` for a guest: a guest can never pass as a member. */
  user: string | null;
  /** Present (and `true`) only on events written with an account's bot token. */
  bot?: true;
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

/** The room's owner removed a member: every session of `target` left the room and may not come back. */
export interface KickEvent extends EventBase {
  type: 'kick';
  /** The username removed. */
  target: string;
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
export type ChatEvent = MessageEvent | EnterEvent | LeaveEvent | NickEvent | KickEvent | EditEvent | DeleteEvent;
export type ChatEventType = ChatEvent['type'];

/** Who may read a room: anyone, or only its members (private rooms and direct messages). */
export type RoomVisibility = 'public' | 'private';

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

/** Path of the web tier's signed endpoint that tells a chatserver which rooms a session may observe. */
export const ROOM_ACCESS_PATH = '/internal/access';
/** Most rooms one `POST /internal/access` may name (an observe names at most `MAX_CURSOR_ROOMS`). */
export const MAX_ACCESS_ROOMS = 1000;

/**
 * Body of the signed `POST /internal/access`: the observing session's token
 * hash (`null` when anonymous) and the rooms of its cursor.
 */
export interface RoomAccessBody {
  session: string | null;
  rooms: RoomName[];
}

/**
 * Answer of `POST /internal/access`, per asked room: `public`, `missing` (no
 * such room yet: anyone may wait for it, as for a public one), `member` (a
 * private room the session's account belongs to) or `hidden` (a private room
 * it does not).
 */
export interface RoomAccessAnswer {
  access: Record<RoomName, RoomAccessKind>;
  /**
   * Whether the body's session is a live one. A made-up token is anonymous:
   * it must not lift the anonymous observe's room limit. (Absent from a web
   * tier older than this field: the chatserver then trusts the token.)
   */
  sessionLive?: boolean;
}

/** How a chatserver may serve one room to one session. */
export type RoomAccessKind = 'public' | 'missing' | 'member' | 'hidden';
