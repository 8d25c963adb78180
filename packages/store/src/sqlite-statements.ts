import type { Database, Statement } from 'better-sqlite3';
import type { RoomName, Seq } from '@parley/protocol';
import { EVENT_COLUMNS, type EventRow } from './event-rows.js';

/** A `sessions` row as the store reads it. */
import type { SessionRow } from './store-rules.js';

export type { SessionRow };

/** An `accounts` row. */
export interface AccountRow {
  username: string;
  password_hash: string;
  nickname: string;
  created_at: number;
}

/** A bot token as listed. */
export interface BotTokenRow {
  id: string;
  bot_name: string;
  created_at: number;
  last_seen_at: number;
}

/** A room's visibility and owner. */
export interface RoomInfoRow {
  name: RoomName;
  visibility: 'public' | 'private';
  owner: string | null;
}

/** A `rooms` row as the store reads it. */
export interface RoomRow {
  name: RoomName;
  seq: Seq;
  occupants: number;
}

/** An `outbox` row as the store reads it. */
export interface OutboxRow {
  id: number;
  events_json: string;
  created_at: number;
}

/** What an edit or delete reads about its target. */
export interface TargetRow {
  type: string;
  session_id: string | null;
  deleted: number;
  search_id: number | null;
  /** The owner (account) of the event's room. */
  room_owner: string | null;
}

/** The prepared statements of one connection. */
export interface Statements {
  // Statements whose result type is a scalar are `.pluck()`ed.
  /** id, token_hash, nickname, created_at, last_seen_at, username, bot_name */
  insertSession: Statement<[string, string, string, number, number, string | null, string | null], unknown>;
  insertAccount: Statement<[string, string, string, number], unknown>;
  accountByName: Statement<[string], AccountRow>;
  botTokensOf: Statement<[string], BotTokenRow>;
  /** The token hash of bot token id $2 of account $1. */
  botTokenHash: Statement<[string, string], string>;
  /** name, now, visibility, owner: returns the name when inserted. */
  insertRoomAs: Statement<[RoomName, number, string, string | null], RoomName>;
  roomInfo: Statement<[RoomName], RoomInfoRow>;
  /** room, username */
  isRoomMember: Statement<[RoomName, string], number>;
  insertRoomMember: Statement<[RoomName, string, number], unknown>;
  deleteRoomMember: Statement<[RoomName, string], unknown>;
  membersOf: Statement<[RoomName], string>;
  /** Sessions of account $2 that are in room $1. */
  sessionsOfUserInRoom: Statement<[RoomName, string], string>;
  /** Public rooms and the private ones of account $1, at most $2. */
  visibleRoomsByOccupants: Statement<[string | null, number], RoomRow>;
  sessionByTokenHash: Statement<[string], SessionRow>;
  sessionById: Statement<[string], SessionRow>;
  touchSession: Statement<[number, string, number], unknown>;
  setNickname: Statement<[string, string], unknown>;
  deleteSessionRow: Statement<[string], unknown>;
  /** Ids of sessions last seen before a time, oldest first, at most a limit. */
  idleSessions: Statement<[number, number], string>;
  roomsOfSession: Statement<[string], RoomName>;
  roomByName: Statement<[RoomName], RoomRow>;
  insertRoom: Statement<[RoomName, number], unknown>;
  nextSeq: Statement<[RoomName], Seq>;
  addOccupants: Statement<[number, RoomName], unknown>;
  isMember: Statement<[RoomName, string], number>;
  insertMembership: Statement<[RoomName, string, number], unknown>;
  deleteMembership: Statement<[RoomName, string], unknown>;
  occupantsOf: Statement<[RoomName], string>;
  roomsByOccupants: Statement<[number], RoomRow>;
  /** room, seq, id, type, at, nickname, text, from_nick, session_id, client_id, target, search_id, username, bot, kicked */
  insertEvent: Statement<
    [
      RoomName, Seq, string, string, number, string, string | null, string | null, string | null, string | null,
      Seq | null, number | bigint | null, string | null, number, string | null,
    ],
    unknown
  >;
  targetOf: Statement<[RoomName, Seq], TargetRow>;
  setMessageText: Statement<[string, RoomName, Seq], unknown>;
  /** Erases a message's text and its edits' (room, seq, seq). */
  eraseMessage: Statement<[RoomName, Seq, Seq], unknown>;
  /** room_key, text → the new row's rowid (the event's search_id). */
  indexMessage: Statement<[string, string], unknown>;
  reindexMessage: Statement<[number, string, string], unknown>;
  unindexMessage: Statement<[number], unknown>;
  /** FTS5 query, room, limit. */
  searchMessages: Statement<[string, RoomName, number], EventRow>;
  eventByClientId: Statement<[string, string], EventRow>;
  eventsAfter: Statement<[RoomName, Seq, number], EventRow>;
  eventsBefore: Statement<[RoomName, Seq, number], EventRow>;
  eventsLatest: Statement<[RoomName, number], EventRow>;
  insertOutbox: Statement<[string, number], number>;
  claimableOutbox: Statement<[number, number, number], OutboxRow>;
  claimOutboxRow: Statement<[number, number], unknown>;
  deleteOutboxRow: Statement<[number], unknown>;
  countOutbox: Statement<[], number>;
}

/**
 * Every statement of `SqliteStore`, prepared once per connection. Compiling
 * SQL costs more than running these small statements, so none is prepared per call.
 */
export function prepareStatements(db: Database): Statements {
  return {
    insertSession: db.prepare<[string, string, string, number, number, string | null, string | null]>(
      `INSERT INTO sessions (id, token_hash, nickname, created_at, last_seen_at, username, bot_name)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    sessionByTokenHash: db.prepare<[string], SessionRow>(
      'SELECT id, nickname, created_at, last_seen_at, username, bot_name FROM sessions WHERE token_hash = ?',
    ),
    sessionById: db.prepare<[string], SessionRow>(
      'SELECT id, nickname, created_at, last_seen_at, username, bot_name FROM sessions WHERE id = ?',
    ),
    insertAccount: db.prepare<[string, string, string, number]>(
      'INSERT INTO accounts (username, password_hash, nickname, created_at) VALUES (?, ?, ?, ?)',
    ),
    accountByName: db.prepare<[string], AccountRow>(
      'SELECT username, password_hash, nickname, created_at FROM accounts WHERE username = ?',
    ),
    botTokensOf: db.prepare<[string], BotTokenRow>(
      `SELECT id, bot_name, created_at, last_seen_at FROM sessions
       WHERE username = ? AND bot_name IS NOT NULL ORDER BY created_at, id`,
    ),
    botTokenHash: db
      .prepare<[string, string], string>('SELECT token_hash FROM sessions WHERE username = ? AND id = ? AND bot_name IS NOT NULL')
      .pluck(),
    insertRoomAs: db
      .prepare<[RoomName, number, string, string | null], RoomName>(
        `INSERT INTO rooms (name, seq, occupants, created_at, visibility, owner) VALUES (?, 0, 0, ?, ?, ?)
         ON CONFLICT (name) DO NOTHING RETURNING name`,
      )
      .pluck(),
    roomInfo: db.prepare<[RoomName], RoomInfoRow>('SELECT name, visibility, owner FROM rooms WHERE name = ?'),
    isRoomMember: db
      .prepare<[RoomName, string], number>('SELECT 1 FROM room_members WHERE room = ? AND username = ?')
      .pluck(),
    insertRoomMember: db.prepare<[RoomName, string, number]>(
      'INSERT INTO room_members (room, username, added_at) VALUES (?, ?, ?) ON CONFLICT (room, username) DO NOTHING',
    ),
    deleteRoomMember: db.prepare<[RoomName, string]>('DELETE FROM room_members WHERE room = ? AND username = ?'),
    membersOf: db
      .prepare<[RoomName], string>('SELECT username FROM room_members WHERE room = ? ORDER BY added_at, username')
      .pluck(),
    sessionsOfUserInRoom: db
      .prepare<[RoomName, string], string>(
        'SELECT m.session_id FROM memberships m JOIN sessions s ON s.id = m.session_id WHERE m.room = ? AND s.username = ?',
      )
      .pluck(),
    visibleRoomsByOccupants: db.prepare<[string | null, number], RoomRow>(
      `SELECT name, seq, occupants FROM rooms
       WHERE visibility = 'public' OR name IN (SELECT room FROM room_members WHERE username = ?)
       ORDER BY occupants DESC, name LIMIT ?`,
    ),
    touchSession: db.prepare<[number, string, number]>(
      'UPDATE sessions SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?',
    ),
    setNickname: db.prepare<[string, string]>('UPDATE sessions SET nickname = ? WHERE id = ?'),
    deleteSessionRow: db.prepare<[string]>('DELETE FROM sessions WHERE id = ?'),
    idleSessions: db
      .prepare<[number, number], string>('SELECT id FROM sessions WHERE last_seen_at < ? AND bot_name IS NULL ORDER BY last_seen_at LIMIT ?')
      .pluck(),
    roomsOfSession: db
      .prepare<[string], RoomName>('SELECT room FROM memberships WHERE session_id = ? ORDER BY room')
      .pluck(),

    roomByName: db.prepare<[RoomName], RoomRow>('SELECT name, seq, occupants FROM rooms WHERE name = ?'),
    insertRoom: db.prepare<[RoomName, number]>(
      'INSERT INTO rooms (name, seq, occupants, created_at) VALUES (?, 0, 0, ?) ON CONFLICT (name) DO NOTHING',
    ),
    nextSeq: db
      .prepare<[RoomName], Seq>('UPDATE rooms SET seq = seq + 1 WHERE name = ? RETURNING seq')
      .pluck(),
    addOccupants: db.prepare<[number, RoomName]>('UPDATE rooms SET occupants = occupants + ? WHERE name = ?'),
    isMember: db
      .prepare<[RoomName, string], number>('SELECT 1 FROM memberships WHERE room = ? AND session_id = ?')
      .pluck(),
    insertMembership: db.prepare<[RoomName, string, number]>(
      'INSERT INTO memberships (room, session_id, entered_at) VALUES (?, ?, ?)',
    ),
    deleteMembership: db.prepare<[RoomName, string]>(
      'DELETE FROM memberships WHERE room = ? AND session_id = ?',
    ),
    occupantsOf: db
      .prepare<[RoomName], string>(
        `SELECT s.nickname FROM memberships m JOIN sessions s ON s.id = m.session_id
         WHERE m.room = ? ORDER BY m.entered_at, m.session_id`,
      )
      .pluck(),
    roomsByOccupants: db.prepare<[number], RoomRow>(
      'SELECT name, seq, occupants FROM rooms ORDER BY occupants DESC, name LIMIT ?',
    ),

    insertEvent: db.prepare<
      [
        RoomName, Seq, string, string, number, string, string | null, string | null, string | null, string | null,
        Seq | null, number | bigint | null, string | null, number, string | null,
      ]
    >(
      `INSERT INTO events (room, seq, id, type, at, nickname, text, from_nick, session_id, client_id, target, search_id, username, bot, kicked)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    targetOf: db.prepare<[RoomName, Seq], TargetRow>(
      `SELECT e.type, e.session_id, e.deleted, e.search_id, r.owner AS room_owner
       FROM events e JOIN rooms r ON r.name = e.room WHERE e.room = ? AND e.seq = ?`,
    ),
    setMessageText: db.prepare<[string, RoomName, Seq]>('UPDATE events SET text = ?, edited = 1 WHERE room = ? AND seq = ?'),
    eraseMessage: db.prepare<[RoomName, Seq, Seq]>(
      `UPDATE events SET text = NULL, deleted = 1, search_id = NULL
       WHERE room = ? AND (seq = ? OR (target = ? AND type = 'edit'))`,
    ),
    indexMessage: db.prepare<[string, string]>('INSERT INTO message_search (room_key, text) VALUES (?, ?)'),
    reindexMessage: db.prepare<[number, string, string]>(
      'INSERT OR REPLACE INTO message_search (rowid, room_key, text) VALUES (?, ?, ?)',
    ),
    unindexMessage: db.prepare<[number]>('DELETE FROM message_search WHERE rowid = ?'),
    searchMessages: db.prepare<[string, RoomName, number], EventRow>(
      `SELECT ${EVENT_COLUMNS.split(', ').map((column) => `e.${column}`).join(', ')}
       FROM message_search f JOIN events e ON e.search_id = f.rowid
       WHERE message_search MATCH ? AND e.room = ? AND e.deleted = 0
       ORDER BY e.seq DESC LIMIT ?`,
    ),
    eventByClientId: db.prepare<[string, string], EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE session_id = ? AND client_id = ?`,
    ),
    eventsAfter: db.prepare<[RoomName, Seq, number], EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE room = ? AND seq > ? ORDER BY seq LIMIT ?`,
    ),
    eventsBefore: db.prepare<[RoomName, Seq, number], EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE room = ? AND seq < ? ORDER BY seq DESC LIMIT ?`,
    ),
    eventsLatest: db.prepare<[RoomName, number], EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE room = ? ORDER BY seq DESC LIMIT ?`,
    ),

    insertOutbox: db
      .prepare<[string, number], number>('INSERT INTO outbox (events_json, created_at) VALUES (?, ?) RETURNING id')
      .pluck(),
    claimableOutbox: db.prepare<[number, number, number], OutboxRow>(
      `SELECT id, events_json, created_at FROM outbox
       WHERE created_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?)
       ORDER BY id LIMIT ?`,
    ),
    claimOutboxRow: db.prepare<[number, number]>('UPDATE outbox SET claimed_until = ? WHERE id = ?'),
    deleteOutboxRow: db.prepare<[number]>('DELETE FROM outbox WHERE id = ?'),
    countOutbox: db.prepare<[], number>('SELECT count(*) FROM outbox').pluck(),

  };
}

