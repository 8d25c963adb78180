import Database from 'better-sqlite3';
import pg from 'pg';
import { silentLogger, type Logger, type RoomName } from '@parley/protocol';
import { INT8_AS_NUMBER } from './pg-int8.js';
import { migratePg } from './pg-migrations.js';
import { MIGRATIONS as SQLITE_MIGRATIONS } from './sqlite-migrations.js';

/** Options of `copySqliteToPostgres`. */
export interface SqliteToPostgresOptions {
  /** The SQLite file, opened read-only: stop the web processes that write it first. */
  from: string;
  /** The PostgreSQL database (`postgres://…`); its schema is created or migrated first. */
  to: string;
  /** Rows per transaction; a run that stops keeps every batch it committed. @default 1000 */
  batchSize?: number;
  /** @default silentLogger */
  log?: Logger;
  /** Aborting stops the copy between two batches (a later run resumes from there). @default none: runs to the end */
  signal?: AbortSignal;
}

/** What one run wrote: rows new to PostgreSQL (a second run over the same data reports zeros). */
export interface CopyReport {
  sessions: number;
  rooms: number;
  events: number;
  memberships: number;
  outbox: number;
}

/** The target already holds other data where the copy would write (a room's history, a session id, an outbox id). */
export class CopyConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CopyConflictError';
  }
}

interface SqliteRoom {
  name: RoomName;
  seq: number;
  occupants: number;
  created_at: number;
  visibility: string;
  owner: string | null;
}

interface SqliteSession {
  id: string;
  token_hash: string;
  nickname: string;
  created_at: number;
  last_seen_at: number;
  username: string | null;
  bot_name: string | null;
}

interface SqliteEvent {
  room: RoomName;
  seq: number;
  id: string;
  type: string;
  at: number;
  nickname: string;
  text: string | null;
  from_nick: string | null;
  session_id: string | null;
  client_id: string | null;
  username: string | null;
  /** SQLite's 0 or 1; PostgreSQL's column is a boolean. */
  bot: number | boolean;
  kicked: string | null;
  /** The seq an edit or a delete acts on. */
  target: number | null;
  /** SQLite's 0 or 1; PostgreSQL's columns are booleans. */
  edited: number | boolean;
  deleted: number | boolean;
}

interface SqliteOutboxRow {
  id: number;
  events_json: string;
  created_at: number;
}

/** Splits `rows` into arrays of at most `size`. */
function* batches<T>(rows: Iterable<T>, size: number): Generator<T[]> {
  let batch: T[] = [];
  for (const row of rows) {
    batch.push(row);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** `rows` turned into one array per column, for `unnest($1::type[], …)`. */
function columns<T>(rows: readonly T[], keys: ReadonlyArray<keyof T>): unknown[][] {
  return keys.map((key) => rows.map((row) => row[key]));
}

const EVENT_KEYS = [
  'room', 'seq', 'id', 'type', 'at', 'nickname', 'text', 'from_nick', 'session_id', 'client_id', 'username', 'bot', 'kicked',
  'target', 'edited', 'deleted',
] as const;

/**
 * Copies a Parley SQLite file into PostgreSQL: sessions (token hashes, so
 * every session keeps working), rooms, every event with its seq, id, text,
 * nickname and idempotency key, memberships, and the outbox rows not yet
 * acknowledged (with their ids). First checks everything it would write
 * against what PostgreSQL holds and throws `CopyConflictError` (writing
 * nothing) when a room has a different history there, or a session or outbox
 * id means something else. Then copies in batches, each one transaction that
 * also moves the room's head, so it is resumable and idempotent: a run that
 * stopped half-way is completed by the next, and a run over copied data
 * changes nothing.
 */
export async function copySqliteToPostgres(options: SqliteToPostgresOptions): Promise<CopyReport> {
  const log = options.log ?? silentLogger;
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 1000));
  const sqlite = new Database(options.from, { readonly: true, fileMustExist: true });
  const pool = new pg.Pool({ connectionString: options.to, max: 1, types: INT8_AS_NUMBER, application_name: 'parley-copy' });
  pool.on('error', (error: Error) => log.warn({ err: error }, 'database connection failed'));
  try {
    const version = sqlite.pragma('user_version', { simple: true }) as number;
    if (version !== SQLITE_MIGRATIONS.length) {
      throw new Error(
        `${options.from} has SQLite schema version ${version}; this release copies version ${SQLITE_MIGRATIONS.length} ` +
          '(open it once with this release of Parley first)',
      );
    }
    await migratePg(pool, undefined, log);
    const copier = new Copier(sqlite, pool, batchSize, log, options.signal);
    await copier.checkConflicts();
    return await copier.copy();
  } finally {
    sqlite.close();
    await pool.end();
  }
}

/** One run of the copy: the open SQLite file and PostgreSQL pool. */
class Copier {
  readonly #report: CopyReport = { sessions: 0, rooms: 0, events: 0, memberships: 0, outbox: 0 };

  constructor(
    private readonly sqlite: Database.Database,
    private readonly pool: pg.Pool,
    private readonly batchSize: number,
    private readonly log: Logger,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** Throws `CopyConflictError` before anything is written when PostgreSQL holds other data under the same keys. */
  async checkConflicts(): Promise<void> {
    for (const room of this.#rooms()) {
      const target = await this.#targetHead(room.name);
      if (target === undefined || target === 0) continue;
      if (target > room.seq) {
        throw new CopyConflictError(`room ${room.name} has ${target} events in PostgreSQL but only ${room.seq} in SQLite: not the same room`);
      }
      // The events already there must be this room's own, seq for seq.
      const ids = this.sqlite.prepare<[RoomName, number], { seq: number; id: string }>(
        'SELECT seq, id FROM events WHERE room = ? AND seq <= ? ORDER BY seq',
      );
      for (const batch of batches(ids.iterate(room.name, target), 5000)) {
        const first = batch[0]?.seq ?? 0;
        const last = batch.at(-1)?.seq ?? 0;
        const there = await this.pool.query<{ seq: number; id: string }>(
          'SELECT seq, id FROM events WHERE room = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq',
          [room.name, first, last],
        );
        const differs = there.rows.length !== batch.length || there.rows.some((row, index) => row.id !== batch[index]?.id || row.seq !== batch[index]?.seq);
        if (differs) throw new CopyConflictError(`room ${room.name} already has a different history in PostgreSQL (seqs ${first}..${last})`);
      }
    }
    const sessions = this.sqlite.prepare<[], Pick<SqliteSession, 'id' | 'token_hash'>>('SELECT id, token_hash FROM sessions ORDER BY id');
    for (const batch of batches(sessions.iterate(), 5000)) {
      const there = await this.pool.query<{ id: string; token_hash: string }>(
        'SELECT id, token_hash FROM sessions WHERE id = ANY($1::text[]) OR token_hash = ANY($2::text[])',
        [batch.map((row) => row.id), batch.map((row) => row.token_hash)],
      );
      const ours = new Map(batch.map((row) => [row.id, row.token_hash]));
      const clash = there.rows.find((row) => ours.get(row.id) !== row.token_hash);
      // Never the token hash in a message: it is as good as the session for a lookup.
      if (clash !== undefined) throw new CopyConflictError(`session ${clash.id} in PostgreSQL is another session than the one in SQLite`);
    }
    const outbox = this.sqlite.prepare<[], SqliteOutboxRow>('SELECT id, events_json, created_at FROM outbox ORDER BY id');
    for (const batch of batches(outbox.iterate(), 5000)) {
      const there = await this.pool.query<{ id: number; events_json: string }>(
        'SELECT id, events_json FROM outbox WHERE id = ANY($1::bigint[])',
        [batch.map((row) => row.id)],
      );
      const ours = new Map(batch.map((row) => [row.id, row.events_json]));
      const clash = there.rows.find((row) => ours.get(row.id) !== row.events_json);
      if (clash !== undefined) throw new CopyConflictError(`outbox row ${clash.id} in PostgreSQL holds other events than the one in SQLite`);
    }
  }

  /** Copies everything, batch by batch; returns what was new. */
  async copy(): Promise<CopyReport> {
    await this.#copyAccounts();
    await this.#copySessions();
    for (const room of this.#rooms()) await this.#copyRoom(room);
    await this.#copyOutbox();
    this.log.info({ ...this.#report }, 'copy complete');
    return { ...this.#report };
  }

  #rooms(): Iterable<SqliteRoom> {
    // All of them at once: the conflict check and the copy both query PostgreSQL per room.
    return this.sqlite
      .prepare<[], SqliteRoom>('SELECT name, seq, occupants, created_at, visibility, owner FROM rooms ORDER BY name')
      .all();
  }

  async #targetHead(room: RoomName): Promise<number | undefined> {
    const result = await this.pool.query<{ seq: number }>('SELECT seq FROM rooms WHERE name = $1', [room]);
    return result.rows[0]?.seq;
  }

  #stopIfAborted(): void {
    if (this.signal?.aborted === true) {
      throw new Error('copy interrupted; what was copied is kept, and running it again resumes', { cause: this.signal.reason });
    }
  }

  /** Runs `work` in one transaction on one connection. */
  async #transaction(work: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await work(client);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** Accounts first: sessions, rooms and members refer to them. A second run keeps what is there. */
  async #copyAccounts(): Promise<void> {
    const accounts = this.sqlite.prepare<[], { username: string; password_hash: string; nickname: string; created_at: number }>(
      'SELECT username, password_hash, nickname, created_at FROM accounts ORDER BY username',
    );
    for (const batch of batches(accounts.iterate(), this.batchSize)) {
      this.#stopIfAborted();
      await this.pool.query(
        `INSERT INTO accounts (username, password_hash, nickname, created_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])
         ON CONFLICT (username) DO NOTHING`,
        columns(batch, ['username', 'password_hash', 'nickname', 'created_at']),
      );
    }
  }

  async #copySessions(): Promise<void> {
    const sessions = this.sqlite.prepare<[], SqliteSession>(
      'SELECT id, token_hash, nickname, created_at, last_seen_at, username, bot_name FROM sessions ORDER BY id',
    );
    for (const batch of batches(sessions.iterate(), this.batchSize)) {
      this.#stopIfAborted();
      // A session copied before takes the file's nickname and last use again: a second run changes nothing.
      const result = await this.pool.query<{ inserted: boolean }>(
        `INSERT INTO sessions (id, token_hash, nickname, created_at, last_seen_at, username, bot_name)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::text[])
         ON CONFLICT (id) DO UPDATE SET nickname = EXCLUDED.nickname, last_seen_at = EXCLUDED.last_seen_at
         RETURNING (xmax = 0) AS inserted`,
        columns(batch, ['id', 'token_hash', 'nickname', 'created_at', 'last_seen_at', 'username', 'bot_name']),
      );
      this.#report.sessions += result.rows.filter((row) => row.inserted).length;
    }
  }

  async #copyRoom(room: SqliteRoom): Promise<void> {
    const created = await this.pool.query(
      `INSERT INTO rooms (name, seq, occupants, created_at, visibility, owner) VALUES ($1, 0, 0, $2, $3, $4)
       ON CONFLICT (name) DO NOTHING`,
      [room.name, room.created_at, room.visibility, room.owner],
    );
    // Members before events: a private room must never exist in PostgreSQL without them.
    const roomMembers = this.sqlite
      .prepare<[RoomName], { username: string; added_at: number }>('SELECT username, added_at FROM room_members WHERE room = ?')
      .all(room.name);
    if (roomMembers.length > 0) {
      await this.pool.query(
        `INSERT INTO room_members (room, username, added_at)
         SELECT $1, * FROM unnest($2::text[], $3::bigint[]) ON CONFLICT (room, username) DO NOTHING`,
        [room.name, ...columns(roomMembers, ['username', 'added_at'])],
      );
    }
    this.#report.rooms += created.rowCount ?? 0;
    let head = (await this.#targetHead(room.name)) ?? 0;
    const events = this.sqlite.prepare<[RoomName, number], SqliteEvent>(
      `SELECT ${EVENT_KEYS.join(', ')} FROM events WHERE room = ? AND seq > ? ORDER BY seq`,
    );
    let copied = 0;
    for (const batch of batches(events.iterate(room.name, head), this.batchSize)) {
      this.#stopIfAborted();
      const last = batch.at(-1)?.seq ?? head;
      const from = head;
      await this.#transaction(async (client) => {
        await client.query(
          `INSERT INTO events (${EVENT_KEYS.join(', ')})
           SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[],
                                $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
                                $11::text[], $12::boolean[], $13::text[], $14::bigint[], $15::boolean[], $16::boolean[])`,
          columns(
            batch.map((event) => ({ ...event, bot: event.bot === 1, edited: event.edited === 1, deleted: event.deleted === 1 })),
            EVENT_KEYS,
          ),
        );
        // The head moves with its events; if anyone else wrote to the room meanwhile, nothing is kept.
        const moved = await client.query('UPDATE rooms SET seq = $1 WHERE name = $2 AND seq = $3', [last, room.name, from]);
        if (moved.rowCount !== 1) throw new CopyConflictError(`room ${room.name} was written to in PostgreSQL during the copy`);
      });
      head = last;
      copied += batch.length;
      this.log.debug({ room: room.name, seq: head }, 'events copied');
    }
    this.#report.events += copied;
    if (head !== room.seq) throw new Error(`room ${room.name} ends at seq ${head} in PostgreSQL, ${room.seq} in SQLite`);

    const members = this.sqlite.prepare<[RoomName], { room: RoomName; session_id: string; entered_at: number }>(
      'SELECT room, session_id, entered_at FROM memberships WHERE room = ? ORDER BY session_id',
    );
    for (const batch of batches(members.iterate(room.name), this.batchSize)) {
      this.#stopIfAborted();
      const entered = await this.pool.query(
        `INSERT INTO memberships (room, session_id, entered_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
         ON CONFLICT (room, session_id) DO NOTHING`,
        columns(batch, ['room', 'session_id', 'entered_at']),
      );
      this.#report.memberships += entered.rowCount ?? 0;
    }
    await this.pool.query('UPDATE rooms SET occupants = $1 WHERE name = $2', [room.occupants, room.name]);
    if (copied > 0) this.log.info({ room: room.name, events: copied, seq: head }, 'room copied');
  }

  async #copyOutbox(): Promise<void> {
    const rows = this.sqlite.prepare<[], SqliteOutboxRow>('SELECT id, events_json, created_at FROM outbox ORDER BY id');
    for (const batch of batches(rows.iterate(), this.batchSize)) {
      this.#stopIfAborted();
      // Same ids, so a second run finds them; unclaimed, so the relay queues them soon.
      const inserted = await this.pool.query(
        `INSERT INTO outbox (id, events_json, created_at) OVERRIDING SYSTEM VALUE
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[])
         ON CONFLICT (id) DO NOTHING`,
        columns(batch, ['id', 'events_json', 'created_at']),
      );
      this.#report.outbox += inserted.rowCount ?? 0;
    }
    // New rows must be numbered after the copied ones (nextval wastes one id, never reuses one).
    await this.pool.query(
      `SELECT setval(pg_get_serial_sequence('outbox', 'id'),
                     GREATEST((SELECT max(id) FROM outbox), nextval(pg_get_serial_sequence('outbox', 'id'))))`,
    );
  }
}
