import type { ChatEvent, DeleteEvent, EditEvent, RoomAccessKind, RoomDetail, RoomName, RoomSummary, RoomVisibility, Seq } from '@parley/protocol';

/** What one `purgeIdleSessions` call did. */
export interface PurgeResult {
  /** Sessions ended. */
  ended: number;
  /** The leave events of those that were in rooms, one write (and outbox row) per session. */
  writes: StoredWrite[];
}

/** A session as the store keeps it. The token itself is never stored, only its hash. */
export interface SessionRecord {
  /** Internal id (random, not the bearer token). */
  id: string;
  nickname: string;
  createdAt: number;
  /** Last time the session was seen (refreshed at most once a minute). */
  lastSeenAt: number;
  /** The account signed in with this session, or `null` for a guest. */
  username: string | null;
  /** The name of the bot token this session is, or `null` for a person's session. Bot sessions never expire. */
  botName: string | null;
}

/** An account as the store keeps it. */
export interface AccountRecord {
  username: string;
  /** The nickname a new sign-in starts with. */
  nickname: string;
  /** The argon2id hash (PHC string) of its password. */
  passwordHash: string;
  createdAt: number;
}

/** One of an account's bot tokens, as listed (the token itself is never stored). */
export interface BotTokenRecord {
  id: string;
  name: string;
  createdAt: number;
  lastSeenAt: number;
}

/** Who may read a room and who owns it. */
export interface RoomInfo {
  name: RoomName;
  visibility: RoomVisibility;
  /** The account that created a private room and manages its members; `null` for public rooms and DMs. */
  owner: string | null;
}

/** What `revokeBotToken` ended. */
export interface RevokedToken {
  /** The hash of the revoked token, so chatservers can forget it. */
  tokenHash: string;
  /** Its leave events (a bot may have entered rooms). */
  write: StoredWrite;
}

/** Events appended by one write, and the outbox row that carries them to the chatservers. */
export interface StoredWrite {
  /** The appended events, in commit order (empty when the write changed nothing). */
  events: ChatEvent[];
  /** The outbox row holding exactly those events, or `undefined` when there are none. */
  outboxId: number | undefined;
}

/** A row of the outbox: events committed but not yet handed to the queue. */
export interface OutboxEntry {
  id: number;
  events: ChatEvent[];
  createdAt: number;
}

/** Result of a `say`. */
export interface SayResult extends StoredWrite {
  /** The message event: new, or the one stored earlier with the same `(session, clientId)`. */
  event: ChatEvent;
  /** True when `(session, clientId)` had been said before and nothing was appended. */
  duplicate: boolean;
}

/** Input of one `say`. */
export interface SayInput {
  sessionId: string;
  room: RoomName;
  text: string;
  clientId?: string;
  now: number;
}

/** The outcome of one say of a `sayMany` group: its result, or the error that refused it. */
export type SayOutcome = { ok: true; result: SayResult } | { ok: false; error: unknown };

/** Result of `sayMany`. */
export interface SayGroupResult {
  /** One outcome per input, in input order. */
  outcomes: SayOutcome[];
  /**
   * Every event the group appended, in commit order, and the ONE outbox row
   * holding them all (`undefined` when nothing was appended). The results in
   * `outcomes` carry no outbox row of their own (`outboxId` undefined, `events` empty):
   * the group's row is published once, not once per say.
   */
  write: StoredWrite;
}

/** Input of `editMessage`: the session changes the message at `target` to `text`. */
export interface EditInput {
  sessionId: string;
  room: RoomName;
  target: Seq;
  text: string;
  now: number;
}

/** Input of `deleteMessage`. */
export interface DeleteInput {
  sessionId: string;
  room: RoomName;
  target: Seq;
  now: number;
}

/** Result of `editMessage`: the `edit` event, appended with its outbox row. */
export interface EditResult extends StoredWrite {
  event: EditEvent;
}

/** Result of `deleteMessage`: the `delete` event, or `undefined` (nothing appended) when the message was deleted already. */
export interface DeleteResult extends StoredWrite {
  event: DeleteEvent | undefined;
}

/** A full-text search of one room's messages. */
export interface SearchQuery {
  /** The words to find; each must start a word of the message (case-insensitive, any order). At least one. */
  words: readonly string[];
  limit: number;
}

/** Result of `enterRoom`. */
export interface EnterResult extends StoredWrite {
  room: RoomDetail;
  /** The latest events of the room (at most `recentLimit`), ascending, including the enter event. */
  recent: ChatEvent[];
}

/** Which page of a room's history to read. */
export type HistoryQuery =
  | { after: Seq; limit: number }
  | { before: Seq; limit: number }
  | { latest: true; limit: number };

/** What `createSession` stores: the token's hash, the nickname, and the account (and bot token name) if any. */
export interface NewSessionInput {
  tokenHash: string;
  nickname: string;
  now: number;
  username?: string;
  botName?: string;
}

/**
 * Everything Parley persists. Implementations: SQLite (`SqliteStore`, one
 * machine) and PostgreSQL (`PgStore`, any number of web processes on any
 * hosts); both run the conformance suite.
 *
 * Guarantees every implementation gives:
 * - Per-room `seq` starts at 1 and has no gaps; it is assigned inside the
 *   write's transaction, so concurrent writers from several processes never
 *   share or skip a seq.
 * - Every method that appends events appends them together with one outbox
 *   row holding them, atomically: either both are durable or neither is.
 *   Nothing is appended for a write that changes nothing (entering a room
 *   one is already in, leaving one is not in, keeping the same nickname).
 * - `say` is idempotent per `(sessionId, clientId)`: a repeat returns the first
 *   event with `duplicate: true` and appends nothing.
 * - Methods throw `ChatError` (`room_not_found`, `not_in_room`, `unauthorized`,
 *   `client_id_conflict`) for refused writes, and change nothing then. A
 *   database that cannot be reached rejects with `ChatError` `unavailable`
 *   (503, retry later); any other failure rejects with the driver's error.
 * - Every method returns a Promise; no connection or transaction type crosses
 *   this interface.
 */
export interface ChatStore {
  /**
   * Creates a session for `nickname` under the hash of its bearer token: a
   * guest's, an account's (`username`), or an account's bot token (`username`
   * and `botName`).
   */
  createSession(input: NewSessionInput): Promise<SessionRecord>;
  /** Creates an account. Throws `username_taken` when the username exists. */
  createAccount(input: { username: string; passwordHash: string; nickname: string; now: number }): Promise<void>;
  /** The account, or `undefined`. */
  findAccount(username: string): Promise<AccountRecord | undefined>;
  /** The account's bot tokens, oldest first. */
  listBotTokens(username: string): Promise<BotTokenRecord[]>;
  /**
   * Ends the bot token `id` of `username` exactly as `deleteSession` would;
   * `undefined` when the account has no such token.
   */
  revokeBotToken(username: string, id: string, now: number): Promise<RevokedToken | undefined>;

  /**
   * Creates an empty room. A private room's `owner` is the account that
   * manages its members, and is its first member. Throws `room_exists`.
   */
  createRoom(input: { room: RoomName; visibility: RoomVisibility; owner: string | null; now: number }): Promise<RoomSummary>;
  /** The room's visibility and owner, or `undefined` when it does not exist. */
  roomInfo(room: RoomName): Promise<RoomInfo | undefined>;
  /**
   * How each of `rooms` may be read by `username` (`null`: a guest or nobody):
   * `public` for a public room, `missing` for one that does not exist,
   * `member` for a private room the account belongs to, `hidden` for any
   * other private room.
   */
  roomAccess(rooms: readonly RoomName[], username: string | null): Promise<Map<RoomName, RoomAccessKind>>;
  /** Makes `username` a member of a private room (nothing when it is one already). Throws `not_found` for an unknown account. */
  addMember(room: RoomName, username: string, now: number): Promise<void>;
  /**
   * Removes `username` from a private room's members: a `kick` event by the
   * session `bySessionId`, and every session of that account leaves the room
   * (no leave events: the kick says it). Nothing is written when it was no member.
   */
  removeMember(input: { room: RoomName; username: string; bySessionId: string; now: number }): Promise<StoredWrite>;
  /**
   * Ensures the direct-message room `room` of accounts `a` and `b` exists:
   * private, no owner, exactly those two members. Idempotent.
   */
  ensureDirectRoom(input: { room: RoomName; a: string; b: string; now: number }): Promise<void>;
  /** Members of a private room, by username. */
  roomMembers(room: RoomName): Promise<string[]>;
  /**
   * The session with this token hash, or `undefined`; refreshes `lastSeenAt`
   * when it is over a minute old — unless it is over `maxIdleMs` old: an
   * expired session is returned as it is, never revived, so the caller sees
   * `now - lastSeenAt > maxIdleMs` and refuses it.
   */
  findSession(tokenHash: string, now: number, maxIdleMs?: number): Promise<SessionRecord | undefined>;
  /** Ends a session: leaves every room it is in (one `leave` event each) and forgets it. */
  deleteSession(sessionId: string, now: number): Promise<StoredWrite>;
  /**
   * Ends up to `limit` sessions (never bot tokens) last seen before `idleSince`, each exactly as
   * `deleteSession` would (its leave events and outbox row), oldest first.
   * Returns how many were ended and the writes of those that were in a room.
   */
  purgeIdleSessions(input: { idleSince: number; limit: number; now: number }): Promise<PurgeResult>;
  /** Rooms the session is in, by name. */
  sessionRooms(sessionId: string): Promise<RoomName[]>;
  /** Changes the nickname; one `nick` event in every room the session is in. */
  changeNickname(sessionId: string, nickname: string, now: number): Promise<StoredWrite>;

  /**
   * Enters (and on first use creates, public) a room; an `enter` event unless
   * already in it. A private room the session's account is not a member of
   * is refused with `room_not_found`, exactly like a room that does not exist.
   */
  enterRoom(sessionId: string, room: RoomName, now: number, recentLimit: number): Promise<EnterResult>;
  /** Leaves a room; a `leave` event if the session was in it. Throws `room_not_found`. */
  leaveRoom(sessionId: string, room: RoomName, now: number): Promise<StoredWrite>;
  /**
   * Appends a message. Throws `room_not_found`, or `not_in_room` when the
   * session has not entered the room. With a `clientId` it is idempotent.
   */
  say(input: SayInput): Promise<SayResult>;
  /**
   * Group commit: the says of `inputs` in ONE write transaction, in order, as
   * if said one after the other — a later say sees an earlier one (a repeated
   * `(session, clientId)` in the group is a duplicate of the first). A refused
   * say (the errors of `say`) changes nothing and does not affect the others;
   * its error is in its outcome. Resolves after the commit, so every `ok`
   * outcome is durable; rejects (and appends nothing) only when the
   * transaction itself fails.
   */
  sayMany(inputs: readonly SayInput[]): Promise<SayGroupResult>;

  /**
   * Edits a message: updates its stored text (history then gives it with
   * `edited: true`) and appends an `edit` event `{target, text}` with its
   * outbox row, in one transaction under the room's lock. Throws
   * `room_not_found`, `message_not_found` (no message at `target`, or a
   * deleted one), `unauthorized` (no such session) or `forbidden` (see
   * `authorizeMessageChange`: its author only).
   */
  editMessage(input: EditInput): Promise<EditResult>;
  /**
   * Deletes a message: erases its stored text and that of its edits (from
   * the search index too; history then gives it with `deleted: true`) and
   * appends a `delete` event `{target}` with its outbox row, in one
   * transaction. Deleting a deleted message appends nothing. Throws like
   * `editMessage` (`forbidden`: the author, later room owners, may delete).
   */
  deleteMessage(input: DeleteInput): Promise<DeleteResult>;
  /**
   * The room's messages (as they are now, so never a deleted one) whose text
   * holds every word of `query`, newest first, at most `limit`. Throws `room_not_found`.
   */
  searchMessages(room: RoomName, query: SearchQuery): Promise<ChatEvent[]>;

  /**
   * Public rooms and the private ones `username` is a member of, by occupants
   * (descending) then name, at most `limit`. Occupant counts are O(1) per room.
   */
  listRooms(limit: number, username?: string | null): Promise<RoomSummary[]>;
  /** A room with its occupants, or `undefined`. */
  getRoom(room: RoomName): Promise<RoomDetail | undefined>;
  /**
   * A room's name, head seq and occupant count, or `undefined` when it does not
   * exist. Reads the room's own row only (the count is a counter kept by every
   * enter and leave), so it is O(1) however full the room is: the badge reads it
   * on every image request.
   */
  roomSummary(room: RoomName): Promise<RoomSummary | undefined>;
  /** The room's current seq (0 when it has no events), or `undefined` when it does not exist. */
  roomSeq(room: RoomName): Promise<Seq | undefined>;
  /**
   * The current seq of every room of `rooms` that exists (a room that does
   * not is absent from the map), read at once from one snapshot: the
   * chatservers' catch-up asks for up to 1000 heads per request, which must
   * not cost one database round trip each.
   */
  roomHeads(rooms: readonly RoomName[]): Promise<Map<RoomName, Seq>>;
  /** A page of history, always ascending by seq. Throws `room_not_found`. */
  readEvents(room: RoomName, query: HistoryQuery): Promise<ChatEvent[]>;

  /**
   * Claims up to `limit` outbox rows created at or before `olderThan` and not
   * claimed by anyone in the last `leaseMs`; a claim is a lease, so a relay
   * that dies does not strand rows. Oldest first.
   */
  claimOutbox(input: { olderThan: number; limit: number; leaseMs: number; now: number }): Promise<OutboxEntry[]>;
  /** Removes outbox rows whose events are safely in the queue. Unknown ids are ignored. */
  acknowledgeOutbox(ids: number[]): Promise<void>;
  /** Number of outbox rows not yet acknowledged. */
  outboxDepth(): Promise<number>;

  /** Releases its connections (waits for writes in flight); a second call does nothing. */
  close(): Promise<void>;
}
