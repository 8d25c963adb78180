import type { ChatEventType, RoomName, Seq } from '@parley/protocol';
import { EVENT_COLUMNS, type EventRow } from './event-rows.js';

/**
 * A named statement: PostgreSQL parses and plans it once per connection,
 * then only binds values (`pg` remembers which connection prepared which name).
 */
export interface PgStatement {
  readonly name: string;
  readonly text: string;
}

function statement(name: string, text: string): PgStatement {
  return { name: `parley_${name}`, text };
}

/** A `sessions` row as the store reads it. */
export type { SessionRow as PgSessionRow } from './store-rules.js';

/** What a write reads of the session that causes it. */
export interface PgAuthorRow {
  nickname: string;
  username: string | null;
  bot_name: string | null;
}

/** A `rooms` row (or its head) as the store reads it. */
export interface PgRoomRow {
  name: RoomName;
  seq: Seq;
  occupants: number;
}

/** A locked room: its name and head. */
export interface PgRoomHeadRow {
  name: RoomName;
  seq: Seq;
}

/**
 * What `sayGroup` answers for the say at `ord` (1-based) of a group: the
 * facts it decided on, and where it stored the say (`seq`, `null` when it
 * did not), with the group's outbox row.
 */
export interface PgSayRow {
  ord: number;
  /** `null` when the session does not exist. */
  nickname: string | null;
  username: string | null;
  bot_name: string | null;
  room_exists: boolean;
  member: boolean;
  /** The columns of the event stored earlier under the say's (session, clientId): all `null` when there is none. */
  earlier_room: RoomName | null;
  earlier_seq: Seq | null;
  earlier_id: string | null;
  earlier_type: ChatEventType | null;
  earlier_at: number | null;
  earlier_nickname: string | null;
  earlier_text: string | null;
  earlier_from_nick: string | null;
  earlier_edited: boolean | null;
  earlier_deleted: boolean | null;
  earlier_username: string | null;
  earlier_bot: boolean | null;
  earlier_kicked: string | null;
  /** The seq the say was stored at; `null` when it was not. */
  seq: Seq | null;
  /** The group's outbox row (the same on every row); `null` when nothing was stored. */
  outbox_id: number | null;
}

/** What an edit or delete reads about its target, and who asks (`nickname` null: no such session). */
export interface PgTargetRow {
  type: ChatEventType | null;
  session_id: string | null;
  deleted: boolean | null;
  nickname: string | null;
  /** The acting session's account (`null`: a guest, or no such session). */
  username: string | null;
  bot_name: string | null;
  /** The locked room's owner. */
  owner: string | null;
  /** The locked room's head seq. */
  head: Seq;
}

/** An `outbox` row as the store reads it. */
export interface PgOutboxRow {
  id: number;
  events_json: string;
  created_at: number;
}

export type { EventRow };

/**
 * Every statement of `PgStore`. Several rooms are always locked by
 * `lockRooms` or `lockRoomsOfSession`, which lock in name order (`ORDER BY` runs
 * before `FOR NO KEY UPDATE` takes the row locks), after the session row if
 * the write takes one: that one order everywhere is what keeps concurrent
 * writers from deadlocking.
 */
export const PG_SQL = {
  insertSession: statement(
    'insert_session',
    `INSERT INTO sessions (id, token_hash, nickname, created_at, last_seen_at, username, bot_name)
     VALUES ($1, $2, $3, $4, $4, $5, $6)`,
  ),
  // The sessions of many tokens at once: every request of one event-loop turn (createTurnLookup).
  sessionsByTokenHash: statement(
    'sessions_by_token_hash',
    'SELECT token_hash, id, nickname, created_at, last_seen_at, username, bot_name FROM sessions WHERE token_hash = ANY($1::text[])',
  ),
  insertAccount: statement(
    'insert_account',
    `INSERT INTO accounts (username, password_hash, nickname, created_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (username) DO NOTHING RETURNING username`,
  ),
  accountByName: statement(
    'account_by_name',
    'SELECT username, password_hash, nickname, created_at FROM accounts WHERE username = $1',
  ),
  botTokensOf: statement(
    'bot_tokens_of',
    `SELECT id, bot_name, created_at, last_seen_at FROM sessions
     WHERE username = $1 AND bot_name IS NOT NULL ORDER BY created_at, id`,
  ),
  botTokenHash: statement(
    'bot_token_hash',
    'SELECT token_hash FROM sessions WHERE username = $1 AND id = $2 AND bot_name IS NOT NULL',
  ),
  insertRoomAs: statement(
    'insert_room_as',
    `INSERT INTO rooms (name, seq, occupants, created_at, visibility, owner) VALUES ($1, 0, 0, $2, $3, $4)
     ON CONFLICT (name) DO NOTHING RETURNING name`,
  ),
  roomInfo: statement('room_info', 'SELECT name, visibility, owner FROM rooms WHERE name = $1'),
  /** Per asked room that exists: its visibility and whether account $2 is a member. */
  roomAccess: statement(
    'room_access',
    `SELECT r.name, r.visibility,
            EXISTS (SELECT 1 FROM room_members rm WHERE rm.room = r.name AND rm.username = $2) AS member
     FROM rooms r WHERE r.name = ANY($1::text[])`,
  ),
  /** Whether session $2 may enter room $1 (which exists): public, or its account is a member. */
  enterAllowed: statement(
    'enter_allowed',
    `SELECT r.visibility = 'public' OR EXISTS (
              SELECT 1 FROM room_members rm JOIN sessions s ON s.username = rm.username
              WHERE rm.room = r.name AND s.id = $2) AS allowed
     FROM rooms r WHERE r.name = $1`,
  ),
  insertRoomMember: statement(
    'insert_room_member',
    'INSERT INTO room_members (room, username, added_at) VALUES ($1, $2, $3) ON CONFLICT (room, username) DO NOTHING',
  ),
  deleteRoomMember: statement(
    'delete_room_member',
    'DELETE FROM room_members WHERE room = $1 AND username = $2 RETURNING username',
  ),
  membersOf: statement('members_of', 'SELECT username FROM room_members WHERE room = $1 ORDER BY added_at, username'),
  /** Every session of account $2 leaves room $1; returns one row per session that was in it. */
  deleteMembershipsOfUser: statement(
    'delete_memberships_of_user',
    `DELETE FROM memberships m USING sessions s
     WHERE m.room = $1 AND s.id = m.session_id AND s.username = $2
     RETURNING m.session_id`,
  ),
  visibleRoomsByOccupants: statement(
    'visible_rooms_by_occupants',
    `SELECT name, seq, occupants FROM rooms
     WHERE visibility = 'public' OR name IN (SELECT room FROM room_members WHERE username = $1)
     ORDER BY occupants DESC, name LIMIT $2`,
  ),
  touchSession: statement('touch_session', 'UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $3'),
  /**
   * Takes the session row for a nickname change (blocks enters of the same
   * session, which share-lock it, so no room is entered half-way through).
   */
  lockSessionForNick: statement(
    'lock_session_for_nick',
    'SELECT nickname, username, bot_name FROM sessions WHERE id = $1 FOR NO KEY UPDATE',
  ),
  /** Takes the session row to end it, only while it is last seen before $2 (the purge re-checks under the lock). */
  lockSessionToEnd: statement(
    'lock_session_to_end',
    'SELECT nickname, username, bot_name FROM sessions WHERE id = $1 AND last_seen_at < $2 FOR UPDATE',
  ),
  /** Share-locks the session an enter is for: a concurrent nick change or delete finishes first. */
  shareSession: statement('share_session', 'SELECT nickname, username, bot_name FROM sessions WHERE id = $1 FOR SHARE'),
  setNickname: statement('set_nickname', 'UPDATE sessions SET nickname = $1 WHERE id = $2'),
  deleteSession: statement('delete_session', 'DELETE FROM sessions WHERE id = $1'),
  idleSessions: statement(
    'idle_sessions',
    'SELECT id FROM sessions WHERE last_seen_at < $1 AND bot_name IS NULL ORDER BY last_seen_at LIMIT $2',
  ),
  roomsOfSession: statement('rooms_of_session', 'SELECT room FROM memberships WHERE session_id = $1 ORDER BY room'),

  insertRoom: statement(
    'insert_room',
    'INSERT INTO rooms (name, seq, occupants, created_at) VALUES ($1, 0, 0, $2) ON CONFLICT (name) DO NOTHING',
  ),
  roomByName: statement('room_by_name', 'SELECT name, seq, occupants FROM rooms WHERE name = $1'),
  roomHeads: statement('room_heads', 'SELECT name, seq FROM rooms WHERE name = ANY($1::text[])'),
  roomsByOccupants: statement(
    'rooms_by_occupants',
    'SELECT name, seq, occupants FROM rooms ORDER BY occupants DESC, name LIMIT $1',
  ),
  /** A room with its occupants' nicknames in the order they entered, from one snapshot. */
  roomDetail: statement(
    'room_detail',
    `SELECT r.name, r.seq,
            coalesce((SELECT json_agg(s.nickname ORDER BY m.entered_at, m.session_id)
                      FROM memberships m JOIN sessions s ON s.id = m.session_id
                      WHERE m.room = r.name), '[]'::json) AS occupants
     FROM rooms r WHERE r.name = $1`,
  ),
  /** Locks the rooms named in $1 in name order; a room that does not exist is absent from the answer. */
  lockRooms: statement(
    'lock_rooms',
    'SELECT name, seq FROM rooms WHERE name = ANY($1::text[]) ORDER BY name FOR NO KEY UPDATE',
  ),
  /** Locks, in name order, every room the session is in. */
  lockRoomsOfSession: statement(
    'lock_rooms_of_session',
    `SELECT name, seq FROM rooms
     WHERE name = ANY (ARRAY(SELECT room FROM memberships WHERE session_id = $1))
     ORDER BY name FOR NO KEY UPDATE`,
  ),
  /** Enters only an existing session (no foreign-key error to abort the transaction); returns a row when it entered. */
  insertMembership: statement(
    'insert_membership',
    `INSERT INTO memberships (room, session_id, entered_at)
     SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM sessions WHERE id = $2)
     ON CONFLICT (room, session_id) DO NOTHING
     RETURNING 1 AS entered`,
  ),
  /** Leaves a room; returns the session's nickname when it was in it. */
  deleteMembership: statement(
    'delete_membership',
    `DELETE FROM memberships m USING sessions s
     WHERE m.room = $1 AND m.session_id = $2 AND s.id = m.session_id
     RETURNING s.nickname, s.username, s.bot_name`,
  ),
  deleteMembershipsOfSession: statement('delete_memberships_of_session', 'DELETE FROM memberships WHERE session_id = $1'),
  occupantsOf: statement(
    'occupants_of',
    `SELECT s.nickname FROM memberships m JOIN sessions s ON s.id = m.session_id
     WHERE m.room = $1 ORDER BY m.entered_at, m.session_id`,
  ),

  /**
   * A whole say group in one statement, sent right behind `lockRooms` of its
   * rooms and followed by COMMIT without waiting: one round trip, so no room
   * stays locked while an answer travels to the web process and back.
   * ($1 sessions, $2 rooms, $3 clientIds, $4 texts, $5 times, $6 event ids,
   * in input order; $7 the outbox row's time.)
   *
   * It reads each say's facts — its session, membership, room head, and the
   * event stored earlier under its (session, clientId) — in a snapshot taken
   * after the rooms were locked (READ COMMITTED: every statement takes a new
   * one), so it holds every membership change of those rooms. It stores the
   * says `decideSay` (store-rules.ts) accepts: no earlier event, the room
   * exists, the session is in it; and of several says of the group with one
   * (session, clientId), only the first of those. The store then decides
   * every say again in JavaScript from these facts, for the answer, and
   * checks that both agree. Numbers are the room's head plus the say's rank
   * in its room; the events, the heads and one outbox row (the events'
   * JSON, in `buildEvent`'s shape and input order) are written together. A
   * say racing another with the same (session, clientId) fails the statement
   * on the unique index, and the group is retried.
   */
  sayGroup: statement(
    'say_group',
    // Index lookups per say (scalar sub-selects, and a LATERAL that LIMIT
    // keeps from being flattened into a join a planner could run as a scan of
    // every event): the cost grows with the group, never with the history.
    `WITH facts AS MATERIALIZED (
       SELECT i.ord, i.session_id, i.room, i.client_id, i.text, i.at, i.id,
              s.nickname, s.username, s.bot_name, r.seq AS head,
              coalesce((SELECT true FROM memberships m WHERE m.room = i.room AND m.session_id = i.session_id), false) AS member,
              e.room AS earlier_room, e.seq AS earlier_seq, e.id AS earlier_id, e.type AS earlier_type,
              e.at AS earlier_at, e.nickname AS earlier_nickname, e.text AS earlier_text, e.from_nick AS earlier_from_nick,
              e.edited AS earlier_edited, e.deleted AS earlier_deleted,
              e.username AS earlier_username, e.bot AS earlier_bot, e.kicked AS earlier_kicked
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[])
              WITH ORDINALITY AS i(session_id, room, client_id, text, at, id, ord)
       LEFT JOIN sessions s ON s.id = i.session_id
       LEFT JOIN rooms r ON r.name = i.room
       LEFT JOIN LATERAL (
         SELECT room, seq, id, type, at, nickname, text, from_nick, edited, deleted, username, bot, kicked FROM events
         WHERE session_id = i.session_id AND client_id = i.client_id
         LIMIT 1
       ) e ON true
     ), admissible AS (
       SELECT * FROM facts WHERE earlier_id IS NULL AND head IS NOT NULL AND member AND nickname IS NOT NULL
     ), accepted AS MATERIALIZED (
       SELECT a.*, a.head + row_number() OVER (PARTITION BY a.room ORDER BY a.ord) AS seq
       FROM admissible a
       WHERE a.client_id IS NULL OR NOT EXISTS (
         SELECT 1 FROM admissible b WHERE b.session_id = a.session_id AND b.client_id = a.client_id AND b.ord < a.ord)
     ), heads AS (
       UPDATE rooms SET seq = rooms.seq + added.n
       FROM (SELECT room, count(*) AS n FROM accepted GROUP BY room) added
       WHERE rooms.name = added.room
     ), appended AS (
       INSERT INTO events (room, seq, id, type, at, nickname, text, session_id, client_id, username, bot)
       SELECT room, seq, id, 'message', at, nickname, text, session_id, client_id, username, bot_name IS NOT NULL FROM accepted
     ), boxed AS (
       INSERT INTO outbox (events_json, created_at)
       SELECT json_agg(CASE WHEN bot_name IS NULL
                         THEN json_build_object('room', room, 'seq', seq, 'type', 'message', 'at', at,
                                                'nickname', nickname, 'user', username, 'text', text, 'id', id)
                         ELSE json_build_object('room', room, 'seq', seq, 'type', 'message', 'at', at,
                                                'nickname', nickname, 'user', username, 'bot', true, 'text', text, 'id', id)
                       END ORDER BY ord)::text, $7::bigint
       FROM accepted HAVING count(*) > 0
       RETURNING id
     )
     SELECT f.ord::integer AS ord, f.nickname, f.username, f.bot_name, f.head IS NOT NULL AS room_exists, f.member,
            f.earlier_room, f.earlier_seq, f.earlier_id, f.earlier_type, f.earlier_at, f.earlier_nickname,
            f.earlier_text, f.earlier_from_nick, f.earlier_edited, f.earlier_deleted, f.earlier_username,
            f.earlier_bot, f.earlier_kicked, a.seq, (SELECT id FROM boxed) AS outbox_id
     FROM facts f LEFT JOIN accepted a ON a.ord = f.ord
     ORDER BY f.ord`,
  ),
  /**
   * One write, in one statement: moves each room's head by the events it gets
   * ($1 rooms, $2 counts, $3 occupant changes), appends the events ($4..$16
   * and $19, one array per column) and their one outbox row ($17 JSON, $18 time). The
   * rooms are locked already, so the heads land exactly where the caller
   * numbered the events from. A say racing another with the same (session,
   * clientId) fails here on the unique index, and its group is retried.
   * (Every data-modifying WITH runs to completion whether read or not.)
   */
  appendWrite: statement(
    'append_write',
    `WITH heads AS (
       UPDATE rooms SET seq = rooms.seq + b.added, occupants = rooms.occupants + b.occupants
       FROM unnest($1::text[], $2::bigint[], $3::integer[]) AS b(name, added, occupants)
       WHERE rooms.name = b.name
     ), appended AS (
       INSERT INTO events (room, seq, id, type, at, nickname, text, from_nick, session_id, client_id, username, bot, kicked, target)
       SELECT * FROM unnest($4::text[], $5::bigint[], $6::text[], $7::text[], $8::bigint[],
                            $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],
                            $14::text[], $15::boolean[], $16::text[], $19::bigint[])
     ), boxed AS (
       INSERT INTO outbox (events_json, created_at) VALUES ($17, $18) RETURNING id
     )
     SELECT id AS outbox_id FROM boxed`,
  ),

  /** Locks the room ($1) for an edit or delete and reads its target ($2) and the acting session ($3). */
  lockTarget: statement(
    'lock_target',
    `SELECT e.type, e.session_id, e.deleted, s.nickname, s.username, s.bot_name, r.owner, r.seq AS head
     FROM (SELECT name, seq, owner FROM rooms WHERE name = $1 FOR NO KEY UPDATE) r
     LEFT JOIN sessions s ON s.id = $3
     LEFT JOIN events e ON e.room = r.name AND e.seq = $2`,
  ),
  setMessageText: statement('set_message_text', 'UPDATE events SET text = $1, edited = true WHERE room = $2 AND seq = $3'),
  /** Erases a message's text and its edits' (the generated search vector goes with it). */
  eraseMessage: statement(
    'erase_message',
    `UPDATE events SET text = NULL, deleted = true
     WHERE room = $1 AND (seq = $2 OR (target = $2 AND type = 'edit'))`,
  ),
  /** $1 room, $2 tsquery text, $3 limit. */
  searchMessages: statement(
    'search_messages',
    `SELECT ${EVENT_COLUMNS} FROM events
     WHERE room = $1 AND search @@ to_tsquery('simple', $2) AND NOT deleted
     ORDER BY seq DESC LIMIT $3`,
  ),

  eventsAfter: statement(
    'events_after',
    `SELECT ${EVENT_COLUMNS} FROM events WHERE room = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
  ),
  eventsBefore: statement(
    'events_before',
    `SELECT ${EVENT_COLUMNS} FROM events WHERE room = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`,
  ),
  eventsLatest: statement('events_latest', `SELECT ${EVENT_COLUMNS} FROM events WHERE room = $1 ORDER BY seq DESC LIMIT $2`),

  /**
   * Claims due rows as a lease. SKIP LOCKED: rows another web process is
   * claiming (or acknowledging) right now are left to it, never waited for
   * and never handed out twice; a row claimed since this statement's snapshot
   * is re-checked under its lock and dropped (its lease is in the future).
   */
  claimOutbox: statement(
    'claim_outbox',
    // ARRAY(…): the claimed ids are looked up by primary key, never by a scan of the outbox.
    `UPDATE outbox SET claimed_until = $3
     WHERE id = ANY (ARRAY(SELECT id FROM outbox
                           WHERE created_at <= $1 AND (claimed_until IS NULL OR claimed_until <= $2)
                           ORDER BY id LIMIT $4
                           FOR UPDATE SKIP LOCKED))
       AND (claimed_until IS NULL OR claimed_until <= $2)
     RETURNING id, events_json, created_at`,
  ),
  acknowledgeOutbox: statement('acknowledge_outbox', 'DELETE FROM outbox WHERE id = ANY($1::bigint[])'),
  // This transaction's commit does not wait for its WAL flush (see acknowledgeOutbox).
  commitWithoutFlushWait: statement('commit_without_flush_wait', 'SET LOCAL synchronous_commit TO off'),
  countOutbox: statement('count_outbox', 'SELECT count(*) AS depth FROM outbox'),
} as const;
