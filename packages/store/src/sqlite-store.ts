import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
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
  SayGroupResult,
  SayInput,
  SayOutcome,
  SayResult,
  PurgeResult,
  SearchQuery,
  SessionRecord,
  StoredWrite,
} from './chat-store.js';
import { buildEvent, eventExtras, rowToEvent, targetOf, type EventAuthor, type EventDraft } from './event-rows.js';
import { searchRoomKey, searchableWords, sqliteSearchQuery } from './search-words.js';
import { newEventId } from './ids.js';
import { migrate } from './sqlite-migrations.js';
import { prepareStatements, type SessionRow, type Statements } from './sqlite-statements.js';
import {
  decideMessageChange,
  decideSay,
  type MessageChange,
  type SayDecision,
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

/** Options of `openSqliteStore`. */
export interface SqliteStoreOptions {
  /** Database file; its directory is created when missing. */
  path: string;
  /** @default silentLogger */
  log?: Logger;
}

/**
 * How long a writer waits for another process's write lock before failing.
 * Write transactions are short (one room row, a few inserts), so 5 s only
 * runs out when something is badly wrong.
 */
const BUSY_TIMEOUT_MS = 5000;
/**
 * Write-lock waits of the hot writes (say groups, outbox acknowledgements)
 * happen in JavaScript instead: SQLite's own busy handler sleeps the whole
 * event loop (1, 2, 5 … 100 ms steps), freezing every request of the process
 * while another process commits. A retry after a short timer keeps the loop
 * serving, and the says that arrive meanwhile join the next group.
 */
// No immediate retry: on a busy core the holder needs the CPU to finish.
const LOCK_RETRY_DELAYS_MS = [1, 1, 2, 2, 3, 5];
/**
 * WAL pages before a commit checkpoints them into the database file (SQLite's
 * default is 1000). A checkpoint writes every page again and fsyncs twice; at
 * 10,000 pages (a WAL of up to ~40 MiB) a page rewritten by many commits is
 * copied once, not once per 1000 pages: measured with strace over 80,000
 * says, 16% fewer page writes and 90% fewer fsyncs.
 */
const WAL_AUTOCHECKPOINT_PAGES = 10_000;
/** Who said a message, for the idempotency key. */
interface EventOwner {
  sessionId: string;
  clientId: string | undefined;
}

interface ClaimInput {
  olderThan: number;
  limit: number;
  leaseMs: number;
  now: number;
}

/** Whether an error is SQLite's unique or primary-key violation. */
function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/**
 * Whether a write failed only because another connection holds a lock, so a
 * retry can succeed: SQLITE_BUSY and its extended codes (better-sqlite3
 * reports those), e.g. SQLITE_BUSY_RECOVERY while another process recovers
 * the WAL after a crash, SQLITE_BUSY_SNAPSHOT. Exported for its test only.
 */
export function isLockBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/**
 * `ChatStore` on one SQLite file (better-sqlite3), shared by the web processes
 * of one machine. Every write runs in a `BEGIN IMMEDIATE` transaction: it takes
 * the write lock before reading, so a writer waits (busy_timeout) instead of
 * failing with SQLITE_BUSY when another process wrote since it read. The work
 * is synchronous; the methods are `async` only to honour the interface.
 * Construct it with `openSqliteStore`.
 */
export class SqliteStore implements ChatStore {
  readonly #db: Database.Database;
  readonly #log: Logger;
  readonly #sql: Statements;
  readonly #createSessionTx;
  readonly #touchTx;
  readonly #deleteSessionTx;
  readonly #purgeTx;
  readonly #changeNicknameTx;
  readonly #enterRoomTx;
  readonly #leaveRoomTx;
  readonly #sayTx;
  readonly #sayManyTx;
  readonly #sayInGroupTx;
  readonly #getRoomTx;
  readonly #readEventsTx;
  readonly #roomHeadsTx;
  readonly #claimOutboxTx;
  readonly #acknowledgeOutboxTx;
  readonly #createRoomTx;
  readonly #addMemberTx;
  readonly #removeMemberTx;
  readonly #directRoomTx;
  readonly #revokeBotTx;
  readonly #editTx;
  readonly #deleteTx;


  /** Takes an open, migrated connection; use `openSqliteStore`. */
  constructor(db: Database.Database, log: Logger = silentLogger) {
    this.#db = db;
    this.#log = log;
    this.#sql = prepareStatements(db);

    this.#createSessionTx = db.transaction(
      (id: string, tokenHash: string, nickname: string, now: number, username: string | null, botName: string | null) => {
        this.#sql.insertSession.run(id, tokenHash, nickname, now, now, username, botName);
      },
    );
    this.#createRoomTx = db.transaction((room: RoomName, visibility: RoomVisibility, owner: string | null, now: number) => {
      if (owner !== null && this.#sql.accountByName.get(owner) === undefined) throw unknownAccount(owner);
      if (this.#sql.insertRoomAs.get(room, now, visibility, owner) === undefined) throw roomExists(room);
      if (visibility === 'private' && owner !== null) this.#sql.insertRoomMember.run(room, owner, now);
    });
    this.#addMemberTx = db.transaction((room: RoomName, username: string, now: number) => {
      if (!this.#sql.roomByName.get(room)) throw roomNotFound(room);
      if (this.#sql.accountByName.get(username) === undefined) throw unknownAccount(username);
      this.#sql.insertRoomMember.run(room, username, now);
    });
    this.#removeMemberTx = db.transaction((room: RoomName, username: string, bySessionId: string, now: number) =>
      this.#removeMemberWrite(room, username, bySessionId, now),
    );
    this.#directRoomTx = db.transaction((room: RoomName, a: string, b: string, now: number) => {
      for (const username of [a, b]) if (this.#sql.accountByName.get(username) === undefined) throw unknownAccount(username);
      if (this.#sql.insertRoomAs.get(room, now, 'private', null) === undefined) return;
      this.#sql.insertRoomMember.run(room, a, now);
      this.#sql.insertRoomMember.run(room, b, now);
    });
    this.#revokeBotTx = db.transaction((username: string, id: string, now: number): RevokedToken | undefined => {
      const tokenHash = this.#sql.botTokenHash.get(username, id);
      if (tokenHash === undefined) return undefined;
      return { tokenHash, write: this.#deleteSessionWrite(id, now) };
    });
    this.#touchTx = db.transaction((id: string, now: number, seenBefore: number) => {
      this.#sql.touchSession.run(now, id, seenBefore);
    });
    this.#deleteSessionTx = db.transaction((sessionId: string, now: number) => this.#deleteSessionWrite(sessionId, now));
    this.#purgeTx = db.transaction((ids: string[], idleSince: number, now: number) => {
      const result: PurgeResult = { ended: 0, writes: [] };
      for (const id of ids) {
        const session = this.#sql.sessionById.get(id);
        // Seen again since the scan: not idle any more.
        if (!session || session.last_seen_at >= idleSince) continue;
        const write = this.#deleteSessionWrite(id, now);
        result.ended++;
        if (write.events.length > 0) result.writes.push(write);
      }
      return result;
    });
    this.#changeNicknameTx = db.transaction((sessionId: string, nickname: string, now: number) =>
      this.#changeNicknameWrite(sessionId, nickname, now),
    );
    this.#enterRoomTx = db.transaction((sessionId: string, room: RoomName, now: number, recentLimit: number) =>
      this.#enterRoomWrite(sessionId, room, now, recentLimit),
    );
    this.#leaveRoomTx = db.transaction((sessionId: string, room: RoomName, now: number) =>
      this.#leaveRoomWrite(sessionId, room, now),
    );
    this.#sayTx = db.transaction((input: SayInput) => this.#sayWrite(input));
    // Called inside #sayManyTx, so better-sqlite3 runs it as a SAVEPOINT.
    this.#sayInGroupTx = db.transaction((input: SayInput) => this.#sayInGroup(input));
    this.#sayManyTx = db.transaction((inputs: readonly SayInput[]) => this.#sayManyWrite(inputs));
    this.#getRoomTx = db.transaction((room: RoomName) => this.#readRoomDetail(room));
    this.#readEventsTx = db.transaction((room: RoomName, query: HistoryQuery) => this.#readHistory(room, query));
    this.#roomHeadsTx = db.transaction((rooms: readonly RoomName[]) => {
      const heads = new Map<RoomName, Seq>();
      for (const room of rooms) {
        const seq = this.#sql.roomByName.get(room)?.seq;
        if (seq !== undefined) heads.set(room, seq);
      }
      return heads;
    });
    this.#claimOutboxTx = db.transaction((input: ClaimInput) => this.#claimOutboxWrite(input));
    this.#acknowledgeOutboxTx = db.transaction((ids: number[]) => {
      for (const id of ids) this.#sql.deleteOutboxRow.run(id);
    });
    this.#editTx = db.transaction((input: EditInput) => this.#editWrite(input));
    this.#deleteTx = db.transaction((input: DeleteInput) => this.#deleteWrite(input));
  }

  async createSession(input: NewSessionInput): Promise<SessionRecord> {
    const session = newSessionRecord(input);
    this.#createSessionTx.immediate(session.id, input.tokenHash, session.nickname, session.createdAt, session.username, session.botName);
    return session;
  }

  async createAccount(input: { username: string; passwordHash: string; nickname: string; now: number }): Promise<void> {
    try {
      this.#sql.insertAccount.run(input.username, input.passwordHash, input.nickname, input.now);
    } catch (error) {
      if (isUniqueViolation(error)) throw usernameTaken(input.username);
      throw error;
    }
  }

  async findAccount(username: string): Promise<AccountRecord | undefined> {
    const row = this.#sql.accountByName.get(username);
    if (row === undefined) return undefined;
    return { username: row.username, nickname: row.nickname, passwordHash: row.password_hash, createdAt: row.created_at };
  }

  async listBotTokens(username: string): Promise<BotTokenRecord[]> {
    return this.#sql.botTokensOf
      .all(username)
      .map((row) => ({ id: row.id, name: row.bot_name, createdAt: row.created_at, lastSeenAt: row.last_seen_at }));
  }

  async revokeBotToken(username: string, id: string, now: number): Promise<RevokedToken | undefined> {
    return this.#revokeBotTx.immediate(username, id, now);
  }

  async createRoom(input: { room: RoomName; visibility: RoomVisibility; owner: string | null; now: number }): Promise<RoomSummary> {
    this.#createRoomTx.immediate(input.room, input.visibility, input.owner, input.now);
    return { name: input.room, seq: 0, occupants: 0 };
  }

  async roomInfo(room: RoomName): Promise<RoomInfo | undefined> {
    const row = this.#sql.roomInfo.get(room);
    return row === undefined ? undefined : { name: row.name, visibility: row.visibility, owner: row.owner };
  }

  async roomAccess(rooms: readonly RoomName[], username: string | null): Promise<Map<RoomName, RoomAccessKind>> {
    const access = new Map<RoomName, RoomAccessKind>();
    for (const room of rooms) access.set(room, this.#accessOf(room, username));
    return access;
  }

  async addMember(room: RoomName, username: string, now: number): Promise<void> {
    this.#addMemberTx.immediate(room, username, now);
  }

  async removeMember(input: { room: RoomName; username: string; bySessionId: string; now: number }): Promise<StoredWrite> {
    return this.#removeMemberTx.immediate(input.room, input.username, input.bySessionId, input.now);
  }

  async ensureDirectRoom(input: { room: RoomName; a: string; b: string; now: number }): Promise<void> {
    this.#directRoomTx.immediate(input.room, input.a, input.b, input.now);
  }

  async roomMembers(room: RoomName): Promise<string[]> {
    return this.#sql.membersOf.all(room);
  }

  async findSession(tokenHash: string, now: number, maxIdleMs = Infinity): Promise<SessionRecord | undefined> {
    return sessionInUse(this.#sql.sessionByTokenHash.get(tokenHash), now, maxIdleMs, (id, seenBefore) =>
      this.#touchTx.immediate(id, now, seenBefore),
    );
  }

  async deleteSession(sessionId: string, now: number): Promise<StoredWrite> {
    return this.#deleteSessionTx.immediate(sessionId, now);
  }

  async purgeIdleSessions(input: { idleSince: number; limit: number; now: number }): Promise<PurgeResult> {
    // Found by a plain read (no write lock held while scanning); each delete
    // re-checks inside its transaction that the session is still idle.
    const ids = this.#sql.idleSessions.all(input.idleSince, input.limit);
    if (ids.length === 0) return { ended: 0, writes: [] };
    return this.#purgeTx.immediate(ids, input.idleSince, input.now);
  }

  async sessionRooms(sessionId: string): Promise<RoomName[]> {
    return this.#sql.roomsOfSession.all(sessionId);
  }

  async changeNickname(sessionId: string, nickname: string, now: number): Promise<StoredWrite> {
    return this.#changeNicknameTx.immediate(sessionId, nickname, now);
  }

  async enterRoom(sessionId: string, room: RoomName, now: number, recentLimit: number): Promise<EnterResult> {
    return this.#enterRoomTx.immediate(sessionId, room, now, recentLimit);
  }

  async leaveRoom(sessionId: string, room: RoomName, now: number): Promise<StoredWrite> {
    return this.#leaveRoomTx.immediate(sessionId, room, now);
  }

  async say(input: SayInput): Promise<SayResult> {
    const result = this.#sayTx.immediate(input);
    if (!result.duplicate) this.#log.debug({ room: input.room, seq: result.event.seq }, 'event stored');
    return result;
  }

  async sayMany(inputs: readonly SayInput[]): Promise<SayGroupResult> {
    if (inputs.length === 0) return { outcomes: [], write: nothingWritten() };
    const group = await this.#withoutBlockingLockWait(() => this.#sayManyTx.immediate(inputs));
    this.#log.debug({ says: inputs.length, events: group.write.events.length }, 'say group stored');
    return group;
  }

  async editMessage(input: EditInput): Promise<EditResult> {
    return this.#editTx.immediate(input);
  }

  async deleteMessage(input: DeleteInput): Promise<DeleteResult> {
    return this.#deleteTx.immediate(input);
  }

  async searchMessages(room: RoomName, query: SearchQuery): Promise<ChatEvent[]> {
    if (!this.#sql.roomByName.get(room)) throw roomNotFound(room);
    const words = searchableWords(query.words);
    if (words.length === 0) return [];
    return this.#sql.searchMessages.all(sqliteSearchQuery(room, words), room, rowLimit(query.limit)).map(rowToEvent);
  }

  async listRooms(limit: number, username: string | null = null): Promise<RoomSummary[]> {
    return this.#sql.visibleRoomsByOccupants
      .all(username, rowLimit(limit))
      .map((row) => ({ name: row.name, seq: row.seq, occupants: row.occupants }));
  }

  async getRoom(room: RoomName): Promise<RoomDetail | undefined> {
    // Deferred (read-only) transaction: the seq and the occupant list come from one snapshot.
    return this.#getRoomTx.deferred(room);
  }

  async roomSummary(room: RoomName): Promise<RoomSummary | undefined> {
    // One primary-key lookup of the rooms row; the occupant list is never read.
    const row = this.#sql.roomByName.get(room);
    return row === undefined ? undefined : { name: row.name, seq: row.seq, occupants: row.occupants };
  }

  async roomSeq(room: RoomName): Promise<Seq | undefined> {
    return this.#sql.roomByName.get(room)?.seq;
  }

  async roomHeads(rooms: readonly RoomName[]): Promise<Map<RoomName, Seq>> {
    // A deferred transaction: every head from one snapshot, as PostgreSQL's single SELECT gives.
    return this.#roomHeadsTx.deferred(rooms);
  }

  async readEvents(room: RoomName, query: HistoryQuery): Promise<ChatEvent[]> {
    return this.#readEventsTx.deferred(room, query);
  }

  async claimOutbox(input: ClaimInput): Promise<OutboxEntry[]> {
    return this.#claimOutboxTx.immediate(input);
  }

  async acknowledgeOutbox(ids: number[]): Promise<void> {
    if (ids.length === 0) return;
    await this.#withoutBlockingLockWait(() => this.#acknowledgeOutboxTx.immediate(ids));
  }

  /**
   * Runs an IMMEDIATE write with SQLite's blocking busy wait off, retrying
   * SQLITE_BUSY (and its extended codes) after short timers, for at most BUSY_TIMEOUT_MS in all.
   */
  async #withoutBlockingLockWait<T>(write: () => T): Promise<T> {
    const deadline = Date.now() + BUSY_TIMEOUT_MS;
    for (let attempt = 0; ; attempt++) {
      // Not a prepared statement run again: SQLite applies PRAGMA busy_timeout
      // when the statement is PREPARED, so re-running one changes nothing.
      this.#db.pragma('busy_timeout = 0');
      try {
        return write();
      } catch (error) {
        if (!isLockBusy(error) || Date.now() >= deadline) throw error;
      } finally {
        this.#db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      }
      const delay = LOCK_RETRY_DELAYS_MS[Math.min(attempt, LOCK_RETRY_DELAYS_MS.length - 1)] ?? 5;
      await new Promise((resolve) => (delay === 0 ? setImmediate(resolve) : setTimeout(resolve, delay)));
    }
  }

  async outboxDepth(): Promise<number> {
    return this.#sql.countOutbox.get() ?? 0;
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }

  // ---- inside write transactions -------------------------------------------------

  /**
   * Appends events with the next seqs of their rooms and one outbox row holding
   * exactly them. Must run inside an IMMEDIATE transaction.
   */
  #append(drafts: EventDraft[], now: number, owner?: EventOwner): StoredWrite {
    if (drafts.length === 0) return { events: [], outboxId: undefined };
    const events = this.#appendEvents(drafts, owner);
    return { events, outboxId: this.#insertOutbox(events, now) };
  }

  /**
   * Appends events with the next seqs of their rooms, without an outbox row
   * (the caller writes one). A message's words go into the search index.
   */
  #appendEvents(drafts: EventDraft[], owner?: EventOwner): ChatEvent[] {
    return drafts.map((draft) => {
      const seq = this.#sql.nextSeq.get(draft.room);
      if (seq === undefined) throw new Error(`room ${draft.room} vanished inside a write`);
      const event = buildEvent(draft, seq, newEventId(Date.now()));
      const extras = eventExtras(event);
      const text = extras.text;
      const searchId =
        event.type === 'message' && text !== null
          ? this.#sql.indexMessage.run(searchRoomKey(event.room), text).lastInsertRowid
          : null;
      this.#sql.insertEvent.run(
        event.room,
        event.seq,
        event.id,
        event.type,
        event.at,
        event.nickname,
        extras.text,
        extras.from,
        owner?.sessionId ?? null,
        owner?.clientId ?? null,
        targetOf(event),
        searchId,
        event.user,
        event.bot === true ? 1 : 0,
        extras.kicked,
      );
      return event;
    });
  }

  #insertOutbox(events: ChatEvent[], now: number): number {
    const outboxId = this.#sql.insertOutbox.get(JSON.stringify(events), now);
    if (outboxId === undefined) throw new Error('outbox insert returned no id');
    return outboxId;
  }

  #requireSession(sessionId: string): SessionRow {
    const session = this.#sql.sessionById.get(sessionId);
    if (!session) throw unknownSession();
    return session;
  }

  #deleteSessionWrite(sessionId: string, now: number): StoredWrite {
    const session = this.#sql.sessionById.get(sessionId);
    // Deleting twice (a retried DELETE) is not an error: the session is gone either way.
    if (!session) return nothingWritten();
    const rooms = this.#sql.roomsOfSession.all(sessionId);
    const author = sessionAuthor(session);
    const drafts: EventDraft[] = rooms.map((room) => ({ room, type: 'leave', at: now, ...author }));
    for (const room of rooms) {
      this.#sql.deleteMembership.run(room, sessionId);
      this.#sql.addOccupants.run(-1, room);
    }
    const write = this.#append(drafts, now);
    this.#sql.deleteSessionRow.run(sessionId);
    return write;
  }

  #changeNicknameWrite(sessionId: string, nickname: string, now: number): StoredWrite {
    const session = this.#requireSession(sessionId);
    if (session.nickname === nickname) return nothingWritten();
    this.#sql.setNickname.run(nickname, sessionId);
    const drafts: EventDraft[] = this.#sql.roomsOfSession
      .all(sessionId)
      .map((room) => ({ room, type: 'nick', at: now, ...sessionAuthor(session), nickname, from: session.nickname }));
    return this.#append(drafts, now);
  }

  #enterRoomWrite(sessionId: string, room: RoomName, now: number, recentLimit: number): EnterResult {
    const session = this.#requireSession(sessionId);
    this.#sql.insertRoom.run(room, now);
    if (this.#accessOf(room, session.username) === 'hidden') throw roomNotFound(room);
    let write: StoredWrite = nothingWritten();
    if (this.#sql.isMember.get(room, sessionId) === undefined) {
      this.#sql.insertMembership.run(room, sessionId, now);
      this.#sql.addOccupants.run(1, room);
      write = this.#append([{ room, type: 'enter', at: now, ...sessionAuthor(session) }], now);
    }
    const detail = this.#readRoomDetail(room);
    if (!detail) throw new Error(`room ${room} vanished inside a write`);
    const recent = this.#readHistory(room, { latest: true, limit: recentLimit });
    return { events: write.events, outboxId: write.outboxId, room: detail, recent };
  }

  #leaveRoomWrite(sessionId: string, room: RoomName, now: number): StoredWrite {
    if (!this.#sql.roomByName.get(room)) throw roomNotFound(room);
    if (this.#sql.isMember.get(room, sessionId) === undefined) return nothingWritten();
    const session = this.#requireSession(sessionId);
    this.#sql.deleteMembership.run(room, sessionId);
    this.#sql.addOccupants.run(-1, room);
    return this.#append([{ room, type: 'leave', at: now, ...sessionAuthor(session) }], now);
  }

  #removeMemberWrite(room: RoomName, username: string, bySessionId: string, now: number): StoredWrite {
    if (!this.#sql.roomByName.get(room)) throw roomNotFound(room);
    const by = this.#requireSession(bySessionId);
    if (this.#sql.isRoomMember.get(room, username) === undefined) return nothingWritten();
    this.#sql.deleteRoomMember.run(room, username);
    for (const sessionId of this.#sql.sessionsOfUserInRoom.all(room, username)) {
      this.#sql.deleteMembership.run(room, sessionId);
      this.#sql.addOccupants.run(-1, room);
    }
    return this.#append([{ room, type: 'kick', at: now, ...sessionAuthor(by), target: username }], now);
  }

  /** How `username` may read `room` (see `ChatStore.roomAccess`). */
  #accessOf(room: RoomName, username: string | null): RoomAccessKind {
    const info = this.#sql.roomInfo.get(room);
    if (info === undefined) return 'missing';
    if (info.visibility === 'public') return 'public';
    return username !== null && this.#sql.isRoomMember.get(room, username) !== undefined ? 'member' : 'hidden';
  }

  #sayWrite(input: SayInput): SayResult {
    const checked = this.#checkSay(input);
    if (checked.duplicate) return checked;
    const { sessionId, room, text, clientId, now } = input;
    const write = this.#append([{ room, type: 'message', at: now, ...checked.author, text }], now, { sessionId, clientId });
    const event = write.events[0];
    if (!event) throw new Error('say appended no event');
    return { event, duplicate: false, events: write.events, outboxId: write.outboxId };
  }

  /**
   * The says of a group, each in a savepoint (better-sqlite3 nests a
   * transaction function as SAVEPOINT), so a refused one is rolled back alone;
   * any other error rejects the whole group with nothing stored. One outbox
   * row for all the events appended. Runs inside IMMEDIATE.
   */
  #sayManyWrite(inputs: readonly SayInput[]): SayGroupResult {
    const events: ChatEvent[] = [];
    const outcomes = inputs.map((input): SayOutcome => {
      try {
        const result = this.#sayInGroupTx(input);
        if (!result.duplicate) events.push(result.event);
        return { ok: true, result };
      } catch (error) {
        // Only a refusal is this say's alone. Anything else (SQLITE_FULL,
        // IOERR, a trigger's RAISE(ROLLBACK)) fails the group: SQLite may
        // have rolled the WHOLE transaction back already, and carrying on
        // would run the later says and the outbox row in autocommit.
        if (!(error instanceof ChatError) || !this.#db.inTransaction) throw error;
        return { ok: false, error };
      }
    });
    if (events.length === 0) return { outcomes, write: nothingWritten() };
    const last = inputs[inputs.length - 1];
    return { outcomes, write: { events, outboxId: this.#insertOutbox(events, last?.now ?? Date.now()) } };
  }

  /** One say of a group: its event without an outbox row. */
  #sayInGroup(input: SayInput): SayResult {
    const checked = this.#checkSay(input);
    if (checked.duplicate) return checked;
    const { sessionId, room, text, clientId, now } = input;
    const [event] = this.#appendEvents([{ room, type: 'message', at: now, ...checked.author, text }], { sessionId, clientId });
    if (!event) throw new Error('say appended no event');
    return { event, duplicate: false, events: [], outboxId: undefined };
  }

  /**
   * Reads and decides an edit or delete of `target` under the write lock;
   * returns the session as the event's author and the target's search row, or
   * `undefined` when there is nothing to do (a message deleted already).
   */
  #checkChange(change: MessageChange, input: { sessionId: string; room: RoomName; target: Seq }) {
    const { sessionId, room, target } = input;
    if (!this.#sql.roomByName.get(room)) throw roomNotFound(room);
    const row = this.#sql.targetOf.get(room, target);
    const session = this.#sql.sessionById.get(sessionId);
    const nickname = session?.nickname;
    const facts =
      row === undefined
        ? undefined
        : {
            type: row.type as ChatEvent['type'],
            authorSessionId: row.session_id,
            deleted: row.deleted !== 0,
            roomOwner: row.room_owner,
          };
    const actor = { sessionId, nickname, username: session?.username ?? null };
    if (!decideMessageChange(change, { room, seq: target }, actor, facts)) return undefined;
    const author: EventAuthor = session === undefined ? { nickname: '', user: null, bot: false } : sessionAuthor(session);
    return { author, searchId: row?.search_id ?? null };
  }

  #editWrite(input: EditInput): EditResult {
    const checked = this.#checkChange('edit', input);
    if (checked === undefined) throw new Error('an edit always changes a live message');
    const { room, target, text, now } = input;
    this.#sql.setMessageText.run(text, room, target);
    if (checked.searchId !== null) this.#sql.reindexMessage.run(checked.searchId, searchRoomKey(room), text);
    const write = this.#append([{ room, type: 'edit', at: now, ...checked.author, target, text }], now, {
      sessionId: input.sessionId,
      clientId: undefined,
    });
    const [event] = write.events;
    if (event?.type !== 'edit') throw new Error('edit appended no edit event');
    return { ...write, event };
  }

  #deleteWrite(input: DeleteInput): DeleteResult {
    const checked = this.#checkChange('delete', input);
    if (checked === undefined) return { ...nothingWritten(), event: undefined };
    const { room, target, now } = input;
    this.#sql.eraseMessage.run(room, target, target);
    if (checked.searchId !== null) this.#sql.unindexMessage.run(checked.searchId);
    const write = this.#append([{ room, type: 'delete', at: now, ...checked.author, target }], now, {
      sessionId: input.sessionId,
      clientId: undefined,
    });
    const [event] = write.events;
    if (event?.type !== 'delete') throw new Error('delete appended no delete event');
    return { ...write, event };
  }

  /** The facts of a say read under the write lock, decided by the shared rules. */
  #checkSay(input: SayInput): SayDecision {
    const { sessionId, room, clientId } = input;
    const earlier = clientId === undefined ? undefined : this.#sql.eventByClientId.get(sessionId, clientId);
    const session = this.#sql.sessionById.get(sessionId);
    return decideSay(input, {
      earlier: earlier === undefined ? undefined : rowToEvent(earlier),
      roomExists: this.#sql.roomByName.get(room) !== undefined,
      member: this.#sql.isMember.get(room, sessionId) !== undefined,
      author: session === undefined ? undefined : sessionAuthor(session),
    });
  }

  #readRoomDetail(room: RoomName): RoomDetail | undefined {
    const row = this.#sql.roomByName.get(room);
    if (!row) return undefined;
    return { name: row.name, seq: row.seq, occupants: this.#sql.occupantsOf.all(room).map((nickname) => ({ nickname })) };
  }

  #readHistory(room: RoomName, query: HistoryQuery): ChatEvent[] {
    if (!this.#sql.roomByName.get(room)) throw roomNotFound(room);
    const limit = rowLimit(query.limit);
    if ('after' in query) return this.#sql.eventsAfter.all(room, query.after, limit).map(rowToEvent);
    const newestFirst =
      'before' in query ? this.#sql.eventsBefore.all(room, query.before, limit) : this.#sql.eventsLatest.all(room, limit);
    return newestFirst.reverse().map(rowToEvent);
  }

  #claimOutboxWrite(input: ClaimInput): OutboxEntry[] {
    const rows = this.#sql.claimableOutbox.all(input.olderThan, input.now, rowLimit(input.limit));
    const claimedUntil = input.now + input.leaseMs;
    return rows.map((row) => {
      this.#sql.claimOutboxRow.run(claimedUntil, row.id);
      return { id: row.id, events: JSON.parse(row.events_json) as ChatEvent[], createdAt: row.created_at };
    });
  }
}

/**
 * Opens (creating when missing) the SQLite store at `path`: WAL journal,
 * `synchronous=NORMAL` (a commit survives a process crash; only a power
 * loss can undo the last ones; 17× faster than FULL here), a 5 s busy timeout, foreign keys on, schema migrated. Throws
 * `SchemaTooNewError` for a file written by a newer release.
 */
export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  const log = options.log ?? silentLogger;
  if (options.path !== ':memory:' && options.path !== '') mkdirSync(dirname(options.path), { recursive: true });
  const db = new Database(options.path, { timeout: BUSY_TIMEOUT_MS });
  try {
    // busy_timeout first: switching to WAL needs a lock another process may hold.
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    // A deleted message's text must be gone from the file, not only unlinked:
    // freed cell content is overwritten with zeros (FAST: no extra I/O).
    db.pragma('secure_delete = FAST');
    db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
    const applied = migrate(db, undefined, log);
    log.info({ path: options.path, migrationsApplied: applied.length }, 'store opened');
    return new SqliteStore(db, log);
  } catch (error) {
    db.close();
    throw error;
  }
}
