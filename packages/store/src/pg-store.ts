import { Pool, type PoolClient, type QueryResultRow } from 'pg';
import {
  ChatError,
  silentLogger,
  type ChatEvent,
  type Logger,
  type RoomAccessKind,
  type RoomDetail,
  type RoomName,
  type RoomSummary,
  type RoomVisibility,
  type Seq,
} from '@parley/protocol';
import type {
  AccountRecord,
  BotTokenRecord,
  RevokedToken,
  RoomInfo,
  ChatStore,
  DeleteInput,
  DeleteResult,
  EditInput,
  EditResult,
  EnterResult,
  HistoryQuery,
  NewSessionInput,
  OutboxEntry,
  PurgeResult,
  SayGroupResult,
  SayInput,
  SayOutcome,
  SayResult,
  SearchQuery,
  SessionRecord,
  StoredWrite,
} from './chat-store.js';
import { buildEvent, eventExtras, rowToEvent, targetOf, type EventAuthor, type EventDraft, type EventRow } from './event-rows.js';
import { pgSearchQuery, searchableWords } from './search-words.js';
import { newEventId } from './ids.js';
import { databaseUnavailable, isClientIdRace, isConnectionFailure } from './pg-errors.js';
import { INT8_AS_NUMBER } from './pg-int8.js';
import { migratePg } from './pg-migrations.js';
import {
  PG_SQL,
  type PgAuthorRow,
  type PgOutboxRow,
  type PgRoomHeadRow,
  type PgRoomRow,
  type PgSayRow,
  type PgSessionRow,
  type PgStatement,
  type PgTargetRow,
} from './pg-statements.js';
import { describePostgresUrl } from './pg-url.js';
import { createTurnLookup } from './turn-lookup.js';
import {
  decideMessageChange,
  decideSay,
  type SayDecision,
  type MessageChange,
  notInRoom,
  nothingWritten,
  roomNotFound,
  roomExists,
  rowLimit,
  sessionAuthor,
  newSessionRecord,
  sessionInUse,
  unknownAccount,
  unknownSession,
  usernameTaken,
} from './store-rules.js';

/** Options of `openPgStore`. */
export interface PgStoreOptions {
  /** `postgres://user:password@host:port/database` (libpq parameters such as `?options=` are honoured). */
  url: string;
  /** @default silentLogger */
  log?: Logger;
  /**
   * Connections of this process. A say group holds one for two round trips,
   * so a handful carries thousands of says a second; every web process has
   * its own pool, so mind the server's `max_connections`.
   * @default 10
   */
  poolSize?: number;
  /** How long to wait for a connection (a new one, or a free one of a busy pool) before answering `unavailable`. @default 5000 */
  connectTimeoutMs?: number;
}

/**
 * A transaction of this store whose client is idle that long is ended by the
 * server, releasing its locks: a web process that stalls or loses its network
 * half-way through a write must not block a room for every other process.
 * Our transactions are idle only for one turn of the event loop.
 */
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 10_000;
/** An idle pooled connection is closed after this (a quiet process keeps few). */
const IDLE_CONNECTION_MS = 30_000;
/**
 * Attempts of a say group that loses a race on the idempotency key (the
 * same `(session, clientId)` committed by another process between our read
 * and our insert): the retry reads the earlier event and answers a duplicate.
 */
const CLIENT_ID_RACE_ATTEMPTS = 3;

/** Who said a message, for the idempotency key. */
interface EventOwner {
  sessionId: string;
  clientId: string | undefined;
}

/** The statements of one transaction, sent on its connection without waiting for earlier answers. */
interface Transaction {
  query<R extends QueryResultRow>(statement: PgStatement, values: unknown[]): Promise<R[]>;
  /** Sends COMMIT behind what was sent already; resolves when it is done. */
  commit(): Promise<void>;
}

function headsOf(rows: readonly PgRoomHeadRow[]): Map<RoomName, Seq> {
  return new Map(rows.map((row) => [row.name, row.seq]));
}

/**
 * Numbers drafts with the next seqs of their rooms, advancing `heads` (the
 * locked rooms' seqs): the same numbers the write's UPDATE then gives them.
 */
function numberEvents(heads: Map<RoomName, Seq>, drafts: readonly EventDraft[]): ChatEvent[] {
  return drafts.map((draft) => {
    const head = heads.get(draft.room);
    if (head === undefined) throw new Error(`room ${draft.room} is not locked by this write`);
    heads.set(draft.room, head + 1);
    return buildEvent(draft, head + 1, newEventId(Date.now()));
  });
}

function earlierEvent(facts: PgSayRow | undefined): ChatEvent | undefined {
  if (facts?.earlier_id == null || facts.earlier_room === null || facts.earlier_seq === null) return undefined;
  const row: EventRow = {
    room: facts.earlier_room,
    seq: facts.earlier_seq,
    id: facts.earlier_id,
    type: facts.earlier_type ?? 'message',
    at: facts.earlier_at ?? 0,
    nickname: facts.earlier_nickname ?? '',
    text: facts.earlier_text,
    from_nick: facts.earlier_from_nick,
    target: null,
    edited: facts.earlier_edited ?? false,
    deleted: facts.earlier_deleted ?? false,
    username: facts.earlier_username,
    bot: facts.earlier_bot,
    kicked: facts.earlier_kicked,
  };
  return rowToEvent(row);
}

/** The outcome of a say refused before it reached the database. */
function refused(refusals: ReadonlyMap<number, ChatError>, index: number): SayOutcome {
  const error = refusals.get(index);
  if (error === undefined) throw new Error(`say ${index} of a group has no outcome`);
  return { ok: false, error };
}

/**
 * PostgreSQL's text cannot hold U+0000 (SQLite's can). The web tier never
 * lets one through; any other caller gets this say refused alone, instead of
 * a database error failing its whole group.
 */
function refuseUnstorable(input: SayInput): void {
  if (input.text.includes('\u0000')) throw new ChatError('invalid_text', 'text must not contain U+0000');
  if (input.clientId?.includes('\u0000')) throw new ChatError('invalid_client_id', 'clientId must not contain U+0000');
  if (input.room.includes('\u0000')) throw roomNotFound(input.room);
  if (input.sessionId.includes('\u0000')) throw notInRoom(input.room);
}

/**
 * `ChatStore` on PostgreSQL (`pg`), shared by any number of web processes on
 * any hosts. Every write is one READ COMMITTED transaction that first locks
 * the rows it orders by — the session row if it changes or needs one, then
 * its rooms in name order — and only then reads what it decides on, so
 * concurrent writers serialize per room without deadlocks. A room's `seq`
 * moves under that lock in the same transaction as its events, so a rollback
 * leaves no gap. Statements of a transaction are pipelined: a say group costs
 * two round trips (lock and read; write and commit) and no savepoint.
 * Construct it with `openPgStore`.
 */
export class PgStore implements ChatStore {
  readonly #pool: Pool;
  readonly #log: Logger;
  /** When the database stopped answering (logged once per outage), or `undefined`. */
  #unavailableSince: number | undefined;
  /** Whether the call trying the database while it is unavailable found it back (see `#guard`); `undefined` when none is trying. */
  #probing: Promise<boolean> | undefined;
  #closed = false;
  /** The session rows of the tokens asked for in one turn, read by one statement. */
  readonly #sessionByTokenHash = createTurnLookup<string, PgSessionRow>({
    lookup: async (tokenHashes) => {
      const rows = await this.#read<PgSessionRow & { token_hash: string }>(PG_SQL.sessionsByTokenHash, [tokenHashes]);
      return new Map(rows.map((row) => [row.token_hash, row]));
    },
  });

  /** Takes a pool (with its `'error'` listener) on a migrated schema; use `openPgStore`. */
  constructor(pool: Pool, log: Logger = silentLogger) {
    this.#pool = pool;
    this.#log = log;
  }

  async createSession(input: NewSessionInput): Promise<SessionRecord> {
    const session = newSessionRecord(input);
    await this.#read(PG_SQL.insertSession, [session.id, input.tokenHash, session.nickname, session.createdAt, session.username, session.botName]);
    return session;
  }

  async createAccount(input: { username: string; passwordHash: string; nickname: string; now: number }): Promise<void> {
    const inserted = await this.#read(PG_SQL.insertAccount, [input.username, input.passwordHash, input.nickname, input.now]);
    if (inserted.length === 0) throw usernameTaken(input.username);
  }

  async findAccount(username: string): Promise<AccountRecord | undefined> {
    const [row] = await this.#read<{ username: string; password_hash: string; nickname: string; created_at: number }>(
      PG_SQL.accountByName,
      [username],
    );
    if (row === undefined) return undefined;
    return { username: row.username, nickname: row.nickname, passwordHash: row.password_hash, createdAt: row.created_at };
  }

  async listBotTokens(username: string): Promise<BotTokenRecord[]> {
    const rows = await this.#read<{ id: string; bot_name: string; created_at: number; last_seen_at: number }>(
      PG_SQL.botTokensOf,
      [username],
    );
    return rows.map((row) => ({ id: row.id, name: row.bot_name, createdAt: row.created_at, lastSeenAt: row.last_seen_at }));
  }

  async revokeBotToken(username: string, id: string, now: number): Promise<RevokedToken | undefined> {
    const [row] = await this.#read<{ token_hash: string }>(PG_SQL.botTokenHash, [username, id]);
    if (row === undefined) return undefined;
    const write = (await this.#endSession(id, now, Number.MAX_SAFE_INTEGER)) ?? nothingWritten();
    return { tokenHash: row.token_hash, write };
  }

  async createRoom(input: { room: RoomName; visibility: RoomVisibility; owner: string | null; now: number }): Promise<RoomSummary> {
    if (input.owner !== null && (await this.findAccount(input.owner)) === undefined) throw unknownAccount(input.owner);
    await this.#transaction(async (tx) => {
      const inserted = await tx.query(PG_SQL.insertRoomAs, [input.room, input.now, input.visibility, input.owner]);
      if (inserted.length === 0) throw roomExists(input.room);
      if (input.visibility === 'private' && input.owner !== null) {
        await tx.query(PG_SQL.insertRoomMember, [input.room, input.owner, input.now]);
      }
    });
    return { name: input.room, seq: 0, occupants: 0 };
  }

  async roomInfo(room: RoomName): Promise<RoomInfo | undefined> {
    const [row] = await this.#read<{ name: RoomName; visibility: RoomVisibility; owner: string | null }>(PG_SQL.roomInfo, [room]);
    return row === undefined ? undefined : { name: row.name, visibility: row.visibility, owner: row.owner };
  }

  async roomAccess(rooms: readonly RoomName[], username: string | null): Promise<Map<RoomName, RoomAccessKind>> {
    const access = new Map<RoomName, RoomAccessKind>(rooms.map((room) => [room, 'missing']));
    if (rooms.length === 0) return access;
    const rows = await this.#read<{ name: RoomName; visibility: RoomVisibility; member: boolean }>(PG_SQL.roomAccess, [
      [...rooms],
      username,
    ]);
    for (const row of rows) {
      access.set(row.name, row.visibility === 'public' ? 'public' : row.member ? 'member' : 'hidden');
    }
    return access;
  }

  async addMember(room: RoomName, username: string, now: number): Promise<void> {
    if ((await this.roomSeq(room)) === undefined) throw roomNotFound(room);
    if ((await this.findAccount(username)) === undefined) throw unknownAccount(username);
    await this.#read(PG_SQL.insertRoomMember, [room, username, now]);
  }

  async removeMember(input: { room: RoomName; username: string; bySessionId: string; now: number }): Promise<StoredWrite> {
    const { room, username, bySessionId, now } = input;
    return this.#transaction(async (tx) => {
      const [locked, by, removed, left] = await Promise.all([
        tx.query<PgRoomHeadRow>(PG_SQL.lockRooms, [[room]]),
        tx.query<PgAuthorRow>(PG_SQL.shareSession, [bySessionId]),
        tx.query<{ username: string }>(PG_SQL.deleteRoomMember, [room, username]),
        tx.query<{ session_id: string }>(PG_SQL.deleteMembershipsOfUser, [room, username]),
      ]);
      if (locked.length === 0) throw roomNotFound(room);
      const author = by[0];
      if (author === undefined) throw unknownSession();
      if (removed.length === 0) return nothingWritten();
      const events = numberEvents(headsOf(locked), [{ room, type: 'kick', at: now, ...sessionAuthor(author), target: username }]);
      const [outboxId] = await Promise.all([
        this.#append(tx, events, now, { occupants: new Map([[room, -left.length]]) }),
        tx.commit(),
      ]);
      return { events, outboxId };
    });
  }

  async ensureDirectRoom(input: { room: RoomName; a: string; b: string; now: number }): Promise<void> {
    for (const username of [input.a, input.b]) {
      if ((await this.findAccount(username)) === undefined) throw unknownAccount(username);
    }
    await this.#transaction(async (tx) => {
      const inserted = await tx.query(PG_SQL.insertRoomAs, [input.room, input.now, 'private', null]);
      if (inserted.length === 0) return;
      await Promise.all([
        tx.query(PG_SQL.insertRoomMember, [input.room, input.a, input.now]),
        tx.query(PG_SQL.insertRoomMember, [input.room, input.b, input.now]),
      ]);
    });
  }

  async roomMembers(room: RoomName): Promise<string[]> {
    const rows = await this.#read<{ username: string }>(PG_SQL.membersOf, [room]);
    return rows.map((row) => row.username);
  }

  async findSession(tokenHash: string, now: number, maxIdleMs = Infinity): Promise<SessionRecord | undefined> {
    const row = await this.#sessionByTokenHash(tokenHash);
    return sessionInUse(row, now, maxIdleMs, (id, seenBefore) => this.#read(PG_SQL.touchSession, [now, id, seenBefore]));
  }

  async deleteSession(sessionId: string, now: number): Promise<StoredWrite> {
    // Deleting twice (a retried DELETE) is not an error: the session is gone either way.
    return (await this.#endSession(sessionId, now, Number.MAX_SAFE_INTEGER)) ?? nothingWritten();
  }

  async purgeIdleSessions(input: { idleSince: number; limit: number; now: number }): Promise<PurgeResult> {
    // Found by a plain read; each end re-checks under the session's lock that
    // it is still idle (another web process may be purging it, or it was used).
    const ids = await this.#read<{ id: string }>(PG_SQL.idleSessions, [input.idleSince, rowLimit(input.limit)]);
    const result: PurgeResult = { ended: 0, writes: [] };
    for (const { id } of ids) {
      const write = await this.#endSession(id, input.now, input.idleSince);
      if (write === undefined) continue;
      result.ended++;
      if (write.events.length > 0) result.writes.push(write);
    }
    return result;
  }

  async sessionRooms(sessionId: string): Promise<RoomName[]> {
    const rows = await this.#read<{ room: RoomName }>(PG_SQL.roomsOfSession, [sessionId]);
    return rows.map((row) => row.room);
  }

  async changeNickname(sessionId: string, nickname: string, now: number): Promise<StoredWrite> {
    return this.#transaction(async (tx) => {
      // The session row, then its rooms in order, then (a fresh snapshot) the
      // rooms it is still in: a leave may have committed while we waited.
      const [sessions, locked, rooms] = await Promise.all([
        tx.query<PgAuthorRow>(PG_SQL.lockSessionForNick, [sessionId]),
        tx.query<PgRoomHeadRow>(PG_SQL.lockRoomsOfSession, [sessionId]),
        tx.query<{ room: RoomName }>(PG_SQL.roomsOfSession, [sessionId]),
      ]);
      const session = sessions[0];
      if (session === undefined) throw unknownSession();
      const from = session.nickname;
      if (from === nickname) return nothingWritten();
      const renamed = tx.query(PG_SQL.setNickname, [nickname, sessionId]);
      if (rooms.length === 0) {
        await Promise.all([renamed, tx.commit()]);
        return nothingWritten();
      }
      const events = numberEvents(
        headsOf(locked),
        rooms.map(({ room }): EventDraft => ({ room, type: 'nick', at: now, ...sessionAuthor(session), nickname, from })),
      );
      const [, outboxId] = await Promise.all([renamed, this.#append(tx, events, now), tx.commit()]);
      return { events, outboxId };
    });
  }

  async enterRoom(sessionId: string, room: RoomName, now: number, recentLimit: number): Promise<EnterResult> {
    return this.#transaction(async (tx) => {
      // Share-lock the session (a nick change or delete of it finishes first),
      // create the room if new, lock it, then enter; an unknown session is
      // refused below and the room insert rolls back with it.
      // A private room the session's account is not a member of is refused
      // (room_not_found) and the membership insert rolls back with it.
      const [sessions, , locked, allowed, entered] = await Promise.all([
        tx.query<PgAuthorRow>(PG_SQL.shareSession, [sessionId]),
        tx.query(PG_SQL.insertRoom, [room, now]),
        tx.query<PgRoomHeadRow>(PG_SQL.lockRooms, [[room]]),
        tx.query<{ allowed: boolean }>(PG_SQL.enterAllowed, [room, sessionId]),
        tx.query<{ entered: number }>(PG_SQL.insertMembership, [room, sessionId, now]),
      ]);
      const session = sessions[0];
      if (session === undefined) throw unknownSession();
      if (allowed[0]?.allowed !== true) throw roomNotFound(room);
      let events: ChatEvent[] = [];
      let appended: Promise<number | undefined> = Promise.resolve(undefined);
      if (entered.length > 0) {
        events = numberEvents(headsOf(locked), [{ room, type: 'enter', at: now, ...sessionAuthor(session) }]);
        appended = this.#append(tx, events, now, { occupants: new Map([[room, 1]]) });
      }
      // Read after the write, in the same transaction: the answer shows it.
      const [outboxId, details, recent] = await Promise.all([
        appended,
        tx.query<{ name: RoomName; seq: Seq; occupants: string[] }>(PG_SQL.roomDetail, [room]),
        tx.query<EventRow>(PG_SQL.eventsLatest, [room, rowLimit(recentLimit)]),
        tx.commit(),
      ]);
      const detail = details[0];
      if (detail === undefined) throw new Error(`room ${room} vanished inside a write`);
      return {
        events,
        outboxId,
        room: { name: detail.name, seq: detail.seq, occupants: detail.occupants.map((occupant) => ({ nickname: occupant })) },
        recent: recent.reverse().map(rowToEvent),
      };
    });
  }

  async leaveRoom(sessionId: string, room: RoomName, now: number): Promise<StoredWrite> {
    return this.#transaction(async (tx) => {
      const [locked, left] = await Promise.all([
        tx.query<PgRoomHeadRow>(PG_SQL.lockRooms, [[room]]),
        tx.query<PgAuthorRow>(PG_SQL.deleteMembership, [room, sessionId]),
      ]);
      if (locked.length === 0) throw roomNotFound(room);
      const leaver = left[0];
      if (leaver === undefined) return nothingWritten();
      const events = numberEvents(headsOf(locked), [{ room, type: 'leave', at: now, ...sessionAuthor(leaver) }]);
      const [outboxId] = await Promise.all([this.#append(tx, events, now, { occupants: new Map([[room, -1]]) }), tx.commit()]);
      return { events, outboxId };
    });
  }

  async say(input: SayInput): Promise<SayResult> {
    const group = await this.sayMany([input]);
    const outcome = group.outcomes[0];
    if (outcome === undefined) throw new Error('say group returned no outcome');
    if (!outcome.ok) throw outcome.error;
    if (outcome.result.duplicate) return outcome.result;
    this.#log.debug({ room: input.room, seq: outcome.result.event.seq }, 'event stored');
    return { ...outcome.result, events: group.write.events, outboxId: group.write.outboxId };
  }

  async sayMany(inputs: readonly SayInput[]): Promise<SayGroupResult> {
    if (inputs.length === 0) return { outcomes: [], write: nothingWritten() };
    for (let attempt = 1; ; attempt++) {
      try {
        const group = await this.#sayGroup(inputs);
        this.#log.debug({ says: inputs.length, events: group.write.events.length }, 'say group stored');
        return group;
      } catch (error) {
        if (!isClientIdRace(error) || attempt >= CLIENT_ID_RACE_ATTEMPTS) throw error;
      }
    }
  }

  async listRooms(limit: number, username: string | null = null): Promise<RoomSummary[]> {
    const rows = await this.#read<PgRoomRow>(PG_SQL.visibleRoomsByOccupants, [username, rowLimit(limit)]);
    return rows.map((row) => ({ name: row.name, seq: row.seq, occupants: row.occupants }));
  }

  async getRoom(room: RoomName): Promise<RoomDetail | undefined> {
    // One statement: the seq and the occupant list come from one snapshot.
    const [row] = await this.#read<{ name: RoomName; seq: Seq; occupants: string[] }>(PG_SQL.roomDetail, [room]);
    if (row === undefined) return undefined;
    return { name: row.name, seq: row.seq, occupants: row.occupants.map((nickname) => ({ nickname })) };
  }

  async roomSummary(room: RoomName): Promise<RoomSummary | undefined> {
    const [row] = await this.#read<PgRoomRow>(PG_SQL.roomByName, [room]);
    return row === undefined ? undefined : { name: row.name, seq: row.seq, occupants: row.occupants };
  }

  async roomSeq(room: RoomName): Promise<Seq | undefined> {
    const [row] = await this.#read<PgRoomRow>(PG_SQL.roomByName, [room]);
    return row?.seq;
  }

  async roomHeads(rooms: readonly RoomName[]): Promise<Map<RoomName, Seq>> {
    if (rooms.length === 0) return new Map();
    return headsOf(await this.#read<PgRoomHeadRow>(PG_SQL.roomHeads, [rooms]));
  }

  async readEvents(room: RoomName, query: HistoryQuery): Promise<ChatEvent[]> {
    const limit = rowLimit(query.limit);
    let rows: EventRow[];
    if ('after' in query) rows = await this.#read<EventRow>(PG_SQL.eventsAfter, [room, query.after, limit]);
    else if ('before' in query) rows = (await this.#read<EventRow>(PG_SQL.eventsBefore, [room, query.before, limit])).reverse();
    else rows = (await this.#read<EventRow>(PG_SQL.eventsLatest, [room, limit])).reverse();
    // Rooms are never deleted: a room with events exists, so only an empty page asks.
    if (rows.length === 0 && (await this.roomSeq(room)) === undefined) throw roomNotFound(room);
    return rows.map(rowToEvent);
  }

  async claimOutbox(input: { olderThan: number; limit: number; leaseMs: number; now: number }): Promise<OutboxEntry[]> {
    const rows = await this.#read<PgOutboxRow>(PG_SQL.claimOutbox, [
      input.olderThan,
      input.now,
      input.now + input.leaseMs,
      rowLimit(input.limit),
    ]);
    // RETURNING has no order of its own.
    return rows
      .sort((a, b) => a.id - b.id)
      .map((row) => ({ id: row.id, events: JSON.parse(row.events_json) as ChatEvent[], createdAt: row.created_at }));
  }

  async editMessage(input: EditInput): Promise<EditResult> {
    const { room, target, text, now } = input;
    return this.#changeMessage('edit', input, async (tx, author, head) => {
      const draft: EventDraft = { room, type: 'edit', at: now, ...author, target, text };
      const [, { events, outboxId }] = await Promise.all([
        tx.query(PG_SQL.setMessageText, [text, room, target]),
        this.#appendChange(tx, draft, head, input.sessionId, now),
      ]);
      const [event] = events;
      if (event?.type !== 'edit') throw new Error('edit appended no edit event');
      return { events, outboxId, event };
    }).then((result) => {
      if (result === undefined) throw new Error('an edit always changes a live message');
      return result;
    });
  }

  async deleteMessage(input: DeleteInput): Promise<DeleteResult> {
    const { room, target, now } = input;
    const result = await this.#changeMessage('delete', input, async (tx, author, head) => {
      const draft: EventDraft = { room, type: 'delete', at: now, ...author, target };
      const [, { events, outboxId }] = await Promise.all([
        tx.query(PG_SQL.eraseMessage, [room, target]),
        this.#appendChange(tx, draft, head, input.sessionId, now),
      ]);
      const [event] = events;
      if (event?.type !== 'delete') throw new Error('delete appended no delete event');
      return { events, outboxId, event };
    });
    return result ?? { ...nothingWritten(), event: undefined };
  }

  async searchMessages(room: RoomName, query: SearchQuery): Promise<ChatEvent[]> {
    const words = searchableWords(query.words);
    const [rows, exists] = await Promise.all([
      words.length === 0 ? Promise.resolve([]) : this.#read<EventRow>(PG_SQL.searchMessages, [room, pgSearchQuery(words), rowLimit(query.limit)]),
      this.#read<PgRoomRow>(PG_SQL.roomByName, [room]),
    ]);
    if (exists.length === 0) throw roomNotFound(room);
    return rows.map(rowToEvent);
  }

  async acknowledgeOutbox(ids: number[]): Promise<void> {
    if (ids.length === 0) return;
    // An acknowledgement lost in a crash only makes the relay queue its rows
    // again (under the same jobIds: deduplicated), so its commit need not
    // wait for the WAL flush: a web process acknowledges up to 50 times a
    // second, and each durable commit was one more flush (3-4 ms here) on the
    // disk the says' commits wait for.
    await this.#transaction(async (tx) => {
      await Promise.all([tx.query(PG_SQL.commitWithoutFlushWait, []), tx.query(PG_SQL.acknowledgeOutbox, [ids]), tx.commit()]);
    });
  }

  async outboxDepth(): Promise<number> {
    const [row] = await this.#read<{ depth: number }>(PG_SQL.countOutbox, []);
    return row?.depth ?? 0;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }

  // ---- writes ------------------------------------------------------------------

  /**
   * One say group in one transaction, no savepoint, one round trip: BEGIN,
   * the lock of the group's rooms (name order), `sayGroup` (reads every
   * say's facts under those locks, stores the accepted ones with one outbox
   * row) and COMMIT go out together. Each say is then decided here with the
   * shared rules from the facts the statement read (a refusal is just an
   * outcome, so it never aborts the others), which must agree with what it
   * stored.
   */
  async #sayGroup(inputs: readonly SayInput[]): Promise<SayGroupResult> {
    return this.#transaction(async (tx) => {
      const storable: number[] = [];
      const refusals = new Map<number, ChatError>();
      inputs.forEach((input, index) => {
        try {
          refuseUnstorable(input);
          storable.push(index);
        } catch (error) {
          refusals.set(index, error as ChatError);
        }
      });
      if (storable.length === 0) return { outcomes: inputs.map((_, index) => refused(refusals, index)), write: nothingWritten() };
      const asked = storable.map((index) => inputs[index] as SayInput);
      const idTime = Date.now();
      const ids = asked.map(() => newEventId(idTime));
      const last = inputs[inputs.length - 1];
      const [, rows] = await Promise.all([
        tx.query(PG_SQL.lockRooms, [[...new Set(asked.map((input) => input.room))]]),
        tx.query<PgSayRow>(PG_SQL.sayGroup, [
          asked.map((input) => input.sessionId),
          asked.map((input) => input.room),
          asked.map((input) => input.clientId ?? null),
          asked.map((input) => input.text),
          asked.map((input) => input.now),
          ids,
          last?.now ?? Date.now(),
        ]),
        tx.commit(),
      ]);
      const rowOf = new Map(rows.map((row) => [storable[row.ord - 1], row]));
      const firstInGroup = new Map<string, ChatEvent>();
      const events: ChatEvent[] = [];
      const outcomes = inputs.map((input, index): SayOutcome => {
        const row = rowOf.get(index);
        if (row === undefined) return refused(refusals, index);
        // sessionId holds no U+0000 (refused above), so the key is unambiguous.
        const key = input.clientId === undefined ? undefined : `${input.sessionId}\u0000${input.clientId}`;
        let decision: SayDecision;
        try {
          decision = decideSay(input, {
            earlier: (key === undefined ? undefined : firstInGroup.get(key)) ?? earlierEvent(row),
            roomExists: row.room_exists,
            member: row.member,
            author: row.nickname === null ? undefined : sessionAuthor({ nickname: row.nickname, username: row.username, bot_name: row.bot_name }),
          });
        } catch (error) {
          if (!(error instanceof ChatError)) throw error;
          if (row.seq !== null) throw new Error(`say ${row.ord} of a group was stored, but the rules refuse it`, { cause: error });
          return { ok: false, error };
        }
        if (decision.duplicate) {
          if (row.seq !== null) throw new Error(`say ${row.ord} of a group was stored, but the rules call it a duplicate`);
          return { ok: true, result: decision };
        }
        if (row.seq === null) throw new Error(`say ${row.ord} of a group was not stored, but the rules accept it`);
        const id = ids[row.ord - 1];
        if (id === undefined) throw new Error(`say ${row.ord} of a group has no event id`);
        const event = buildEvent({ room: input.room, type: 'message', at: input.now, ...decision.author, text: input.text }, row.seq, id);
        events.push(event);
        if (key !== undefined) firstInGroup.set(key, event);
        return { ok: true, result: { event, duplicate: false, events: [], outboxId: undefined } };
      });
      const outboxId = rows[0]?.outbox_id ?? undefined;
      if (events.length === 0) return { outcomes, write: nothingWritten() };
      if (outboxId === undefined) throw new Error('a say group stored events without an outbox row');
      return { outcomes, write: { events, outboxId } };
    });
  }

  /**
   * An edit or delete in one transaction: locks the room, reads the target
   * and the acting session, decides with the shared rules, then runs
   * `write` (its statements pipelined behind COMMIT-less reads). Resolves
   * `undefined` when there is nothing to do.
   */
  async #changeMessage<T>(
    change: MessageChange,
    input: { sessionId: string; room: RoomName; target: Seq },
    write: (tx: Transaction, author: EventAuthor, head: Seq) => Promise<T>,
  ): Promise<T | undefined> {
    const { sessionId, room, target } = input;
    if (room.includes('\u0000')) throw roomNotFound(room);
    if (sessionId.includes('\u0000')) throw unknownSession();
    return this.#transaction(async (tx) => {
      const [row] = await tx.query<PgTargetRow>(PG_SQL.lockTarget, [room, target, sessionId]);
      if (row === undefined) throw roomNotFound(room);
      const facts =
        row.type === null
          ? undefined
          : { type: row.type, authorSessionId: row.session_id, deleted: row.deleted === true, roomOwner: row.owner };
      const nickname = row.nickname ?? undefined;
      const actor = { sessionId, nickname, username: row.username };
      if (!decideMessageChange(change, { room, seq: target }, actor, facts)) return undefined;
      return write(tx, sessionAuthor({ nickname: nickname ?? '', username: row.username, bot_name: row.bot_name }), row.head);
    });
  }

  /** Appends one edit or delete event (its room locked at `head`) with its outbox row, and commits. */
  async #appendChange(tx: Transaction, draft: EventDraft, head: Seq, sessionId: string, now: number): Promise<StoredWrite> {
    const events = numberEvents(new Map([[draft.room, head]]), [draft]);
    const [outboxId] = await Promise.all([this.#append(tx, events, now, { owners: [{ sessionId, clientId: undefined }] }), tx.commit()]);
    return { events, outboxId };
  }

  /**
   * Ends a session last seen before `seenBefore` exactly as `deleteSession`
   * does: one leave per room, one outbox row. `undefined` when there is no
   * such session (or it was used since).
   */
  async #endSession(sessionId: string, now: number, seenBefore: number): Promise<StoredWrite | undefined> {
    return this.#transaction(async (tx) => {
      const [sessions, locked, rooms] = await Promise.all([
        tx.query<PgAuthorRow>(PG_SQL.lockSessionToEnd, [sessionId, seenBefore]),
        tx.query<PgRoomHeadRow>(PG_SQL.lockRoomsOfSession, [sessionId]),
        tx.query<{ room: RoomName }>(PG_SQL.roomsOfSession, [sessionId]),
      ]);
      const session = sessions[0];
      if (session === undefined) return undefined;
      const author = sessionAuthor(session);
      const left = tx.query(PG_SQL.deleteMembershipsOfSession, [sessionId]);
      let events: ChatEvent[] = [];
      let appended: Promise<number | undefined> = Promise.resolve(undefined);
      if (rooms.length > 0) {
        events = numberEvents(
          headsOf(locked),
          rooms.map(({ room }): EventDraft => ({ room, type: 'leave', at: now, ...author })),
        );
        appended = this.#append(tx, events, now, { occupants: new Map(rooms.map(({ room }) => [room, -1])) });
      }
      const [, outboxId] = await Promise.all([left, appended, tx.query(PG_SQL.deleteSession, [sessionId]), tx.commit()]);
      return { events, outboxId };
    });
  }

  /**
   * Sends the statement that appends numbered `events` (rooms already locked),
   * moves their rooms' heads and occupant counts, and writes one outbox row
   * holding exactly them; resolves with the row's id.
   */
  #append(
    tx: Transaction,
    events: readonly ChatEvent[],
    now: number,
    options: { owners?: readonly EventOwner[]; occupants?: ReadonlyMap<RoomName, number> } = {},
  ): Promise<number> {
    const added = new Map<RoomName, number>();
    for (const event of events) added.set(event.room, (added.get(event.room) ?? 0) + 1);
    const rooms = [...new Set([...added.keys(), ...(options.occupants?.keys() ?? [])])];
    const owners = options.owners;
    const values = [
      rooms,
      rooms.map((room) => added.get(room) ?? 0),
      rooms.map((room) => options.occupants?.get(room) ?? 0),
      events.map((event) => event.room),
      events.map((event) => event.seq),
      events.map((event) => event.id),
      events.map((event) => event.type),
      events.map((event) => event.at),
      events.map((event) => event.nickname),
      events.map((event) => eventExtras(event).text),
      events.map((event) => eventExtras(event).from),
      events.map((_, index) => owners?.[index]?.sessionId ?? null),
      events.map((_, index) => owners?.[index]?.clientId ?? null),
      events.map((event) => event.user),
      events.map((event) => event.bot === true),
      events.map((event) => eventExtras(event).kicked),
      JSON.stringify(events),
      now,
      events.map(targetOf),
    ];
    return tx.query<{ outbox_id: number }>(PG_SQL.appendWrite, values).then(([row]) => {
      if (row === undefined) throw new Error('outbox insert returned no id');
      return row.outbox_id;
    });
  }

  // ---- plumbing -------------------------------------------------------------------

  /** One statement outside a transaction. */
  async #read<R extends QueryResultRow>(statement: PgStatement, values: unknown[]): Promise<R[]> {
    return this.#guard(async () => (await this.#pool.query<R>({ ...statement, values })).rows);
  }

  /**
   * Runs `work` in a transaction on one connection. BEGIN goes out at once and
   * `work` pipelines its statements behind it; it may send COMMIT itself
   * (`tx.commit()`) together with its last write, else COMMIT follows its
   * result. Anything thrown rolls back (a COMMIT behind a failed statement
   * already did).
   */
  async #transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.#guard(async () => {
      const client: PoolClient = await this.#pool.connect();
      let committing: Promise<unknown> | undefined;
      let failure: unknown;
      try {
        const begun = client.query('BEGIN');
        // A failed BEGIN fails every statement behind it; those are awaited.
        begun.catch(() => undefined);
        const tx: Transaction = {
          query: async (statement, values) => (await client.query({ ...statement, values })).rows,
          commit: () => {
            committing ??= client.query('COMMIT');
            return committing.then(() => undefined);
          },
        };
        const result = await work(tx);
        await begun;
        await tx.commit();
        return result;
      } catch (error) {
        failure = error;
        if (!isConnectionFailure(error)) {
          await client.query('ROLLBACK').catch((rollbackError: unknown) => {
            failure = rollbackError;
          });
        }
        throw error;
      } finally {
        // A connection that failed is closed, not handed to the next caller.
        client.release(failure !== undefined && isConnectionFailure(failure) ? (failure as Error) : undefined);
      }
    });
  }

  /**
   * Maps a database that cannot be reached to `unavailable` (503), logging
   * the start and the end of an outage once each. While it is unavailable,
   * one call at a time tries it (and so finds it back); the others wait for
   * its outcome for at most PROBE_WAIT_MS, then are answered `unavailable`.
   * Queued behind connection attempts to a server that is down or still
   * recovering, requests took longer than nginx's 2 s say timeout, and nginx
   * then took every web process out of rotation for 2 s more, after
   * PostgreSQL was back. Answering them at once instead refused requests
   * that came while a background task's try was finding the database back.
   */
  async #guard<T>(work: () => Promise<T>): Promise<T> {
    let settleProbe: ((back: boolean) => void) | undefined;
    if (this.#unavailableSince !== undefined) {
      if (this.#probing !== undefined) {
        if (!(await withinProbeWait(this.#probing))) throw databaseUnavailable();
      } else {
        this.#probing = new Promise<boolean>((resolve) => (settleProbe = resolve));
      }
    }
    try {
      const result = await work();
      this.#answered();
      return result;
    } catch (error) {
      if (!isConnectionFailure(error)) {
        // Refused or failed by the server, or by what was read: either way the database answered.
        this.#answered();
        throw error;
      }
      if (this.#unavailableSince === undefined && !this.#closed) {
        this.#unavailableSince = Date.now();
        this.#log.warn({ err: withoutConnection(error) }, 'database unavailable');
      }
      throw databaseUnavailable();
    } finally {
      if (settleProbe !== undefined) {
        this.#probing = undefined;
        settleProbe(this.#unavailableSince === undefined);
      }
    }
  }

  /** The database answered a call: an outage, if there was one, is over. */
  #answered(): void {
    if (this.#unavailableSince === undefined) return;
    this.#log.info({ downMs: Date.now() - this.#unavailableSince }, 'database connection restored');
    this.#unavailableSince = undefined;
  }
}

/** How long a call waits for another call's try of an unavailable database: a live one answers in milliseconds. */
const PROBE_WAIT_MS = 250;

/** Whether `probe` found the database back within PROBE_WAIT_MS. */
async function withinProbeWait(probe: Promise<boolean>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const giveUp = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), PROBE_WAIT_MS)));
  try {
    return await Promise.race([probe, giveUp]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Opens the PostgreSQL store at `url`: a pool of `poolSize` connections
 * (with an `'error'` listener: an idle connection's failure is logged, never
 * fatal) and the schema migrated under an advisory lock. Logs host, port and
 * database, never the URL (it may hold a password). Throws
 * `SchemaTooNewError` for a schema written by a newer release, and the
 * driver's error when the server cannot be reached.
 */
export async function openPgStore(options: PgStoreOptions): Promise<PgStore> {
  const log = options.log ?? silentLogger;
  const poolSize = options.poolSize ?? 10;
  const pool = new Pool({
    connectionString: options.url,
    max: poolSize,
    types: INT8_AS_NUMBER,
    pipeline: true,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    idleTimeoutMillis: IDLE_CONNECTION_MS,
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
    keepAlive: true,
    application_name: 'parley',
  });
  pool.on('error', (error: Error) => log.warn({ err: withoutConnection(error) }, 'idle database connection failed'));
  // A connection that fails while checked out also emits 'error' (after its
  // query rejected, which is what callers see); unheard, it would end the process.
  pool.on('connect', (client) => client.on('error', (error: Error) => log.debug({ err: withoutConnection(error) }, 'database connection failed')));
  try {
    const applied = await migratePg(pool, undefined, log);
    log.info({ ...describePostgresUrl(options.url), poolSize, migrationsApplied: applied.length }, 'store opened');
    return new PgStore(pool, log);
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
}

/** pg-pool hangs the whole client (connection parameters, statements, and the
 * password when the URL has one) on an idle connection's error; pino's error
 * serialiser would write all of it to the log. Keep what says what failed. */
function withoutConnection(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const { client: _client, ...rest } = error as Error & { client?: unknown };
  return Object.assign(Object.create(Object.getPrototypeOf(error) as object) as Error, rest, { message: error.message, stack: error.stack });
}
