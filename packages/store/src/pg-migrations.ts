import type { ClientBase, Pool } from 'pg';
import { silentLogger, type Logger } from '@parley/protocol';
import { IDENTITY_STEP_NAME, identityPg } from './identity-schema.js';
import { SchemaTooNewError, checkMigrationOrder } from './schema-version.js';

/**
 * One step of the PostgreSQL schema. Versions are 1, 2, 3, … in array order
 * and count apart from SQLite's (each dialect has its own history); a step is
 * never edited once released: a change is a new step.
 */
export interface PgMigration {
  /** The row this step adds to `schema_migrations`. */
  version: number;
  /** What the step does, for logs and `schema_migrations.name`. */
  name: string;
  /** Applies the step; runs inside the caller's transaction, under the migration lock. */
  up(client: ClientBase): Promise<void>;
}

/** Runs the statements one by one (a pipelined connection refuses several commands in one string). */
function statements(...sql: string[]): (client: ClientBase) => Promise<void> {
  return async (client) => {
    for (const text of sql) await client.query(text);
  };
}

/**
 * Parley's PostgreSQL schema, oldest step first (SQLite's is in `sqlite-migrations.ts`).
 *
 * Types, chosen on purpose: times (epoch ms) and seqs are `bigint`, which `pg`
 * returns as strings; `PgStore` parses them with an int8 parser scoped to its
 * pool that refuses anything beyond 2^53 instead of rounding it. Identifiers,
 * room names and keys are `text COLLATE "C"`: byte order, as SQLite sorts
 * them, whatever the database's locale (room lists, occupant order and the
 * order rooms are locked in must not depend on it), and cheaper to compare.
 */
export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    name: 'sessions, rooms, memberships, events, outbox',
    up: statements(
      `CREATE TABLE sessions (
        id           text COLLATE "C" PRIMARY KEY,
        token_hash   text COLLATE "C" NOT NULL UNIQUE,
        nickname     text NOT NULL,
        created_at   bigint NOT NULL,
        last_seen_at bigint NOT NULL
      )`,
      // The expiry purge asks for the sessions unused longest.
      'CREATE INDEX sessions_by_last_seen ON sessions (last_seen_at)',
      // seq is the room's head (0 before its first event) and the lock every
      // write to the room takes; occupants is kept here so listing rooms never
      // counts memberships.
      `CREATE TABLE rooms (
        name       text COLLATE "C" PRIMARY KEY,
        seq        bigint NOT NULL DEFAULT 0 CHECK (seq >= 0),
        occupants  integer NOT NULL DEFAULT 0 CHECK (occupants >= 0),
        created_at bigint NOT NULL
      )`,
      'CREATE INDEX rooms_by_occupants ON rooms (occupants DESC, name)',
      `CREATE TABLE memberships (
        room       text COLLATE "C" NOT NULL REFERENCES rooms (name),
        session_id text COLLATE "C" NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        entered_at bigint NOT NULL,
        PRIMARY KEY (room, session_id)
      )`,
      'CREATE INDEX memberships_by_session ON memberships (session_id, room)',
      // session_id has no foreign key: messages outlive the session that said them.
      `CREATE TABLE events (
        room       text COLLATE "C" NOT NULL REFERENCES rooms (name),
        seq        bigint NOT NULL CHECK (seq >= 1),
        id         text COLLATE "C" NOT NULL UNIQUE,
        type       text NOT NULL CHECK (type IN ('message', 'enter', 'leave', 'nick')),
        at         bigint NOT NULL,
        nickname   text NOT NULL,
        text       text,
        from_nick  text,
        session_id text COLLATE "C",
        client_id  text COLLATE "C",
        PRIMARY KEY (room, seq)
      )`,
      // The idempotency key: a say racing another with the same (session,
      // clientId) fails on it instead of storing the message twice.
      `CREATE UNIQUE INDEX events_by_client_id ON events (session_id, client_id)
        WHERE client_id IS NOT NULL`,
      `CREATE TABLE outbox (
        id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        events_json   text NOT NULL,
        created_at    bigint NOT NULL,
        claimed_until bigint
      )`,
    ),
  },
  {
    version: 2,
    name: 'edit and delete events, message search (tsvector, GIN)',
    up: statements(
      // `kick` too, for accounts.
      'ALTER TABLE events DROP CONSTRAINT events_type_check',
      `ALTER TABLE events ADD CONSTRAINT events_type_check
        CHECK (type IN ('message', 'enter', 'leave', 'nick', 'kick', 'edit', 'delete'))`,
      `ALTER TABLE events
        ADD COLUMN target  bigint,
        ADD COLUMN edited  boolean NOT NULL DEFAULT false,
        ADD COLUMN deleted boolean NOT NULL DEFAULT false,
        ADD COLUMN search  tsvector GENERATED ALWAYS AS
          (CASE WHEN type = 'message' AND text IS NOT NULL THEN to_tsvector('simple', text) END) STORED`,
      // A delete erases the text of the message's edits too.
      'CREATE INDEX events_by_target ON events (room, target) WHERE target IS NOT NULL',
      'CREATE INDEX events_search ON events USING gin (search) WHERE search IS NOT NULL',
    ),
  },
  { version: 3, name: IDENTITY_STEP_NAME, up: identityPg },
];

/**
 * First key of the migration lock (the second is the schema's hash, so stores
 * in different schemas of one database do not wait for each other): "PRLY".
 */
const MIGRATION_LOCK_KEY = 0x50524c59;

async function readVersion(client: ClientBase): Promise<number> {
  const table = await client.query<{ present: boolean }>("SELECT to_regclass('schema_migrations') IS NOT NULL AS present");
  if (table.rows[0]?.present !== true) return 0;
  const result = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations');
  return result.rows[0]?.version ?? 0;
}

/**
 * Brings the schema (of the connection's `search_path`) up to the last of
 * `migrations`. Each step runs in its own transaction under
 * `pg_advisory_xact_lock`, together with its `schema_migrations` row, and
 * re-reads the version under the lock: several web processes starting at
 * once apply every step exactly once, and a failed step leaves neither its
 * changes nor its row. Throws `SchemaTooNewError` for a schema written by
 * newer code. Returns the versions it applied.
 */
export async function migratePg(
  pool: Pool,
  migrations: readonly PgMigration[] = PG_MIGRATIONS,
  log: Logger = silentLogger,
): Promise<number[]> {
  checkMigrationOrder(migrations);
  const latest = migrations.length;
  const applied: number[] = [];
  const client = await pool.connect();
  let broken = false;
  try {
    const current = await readVersion(client);
    if (current > latest) throw new SchemaTooNewError(current, latest);
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      await client.query('BEGIN');
      try {
        await client.query('SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))', [MIGRATION_LOCK_KEY]);
        await client.query(
          `CREATE TABLE IF NOT EXISTS schema_migrations (
            version    integer PRIMARY KEY,
            name       text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
          )`,
        );
        // Another process may have applied it since we read the version.
        const version = await readVersion(client);
        if (version > latest) throw new SchemaTooNewError(version, latest);
        if (version >= migration.version) {
          await client.query('COMMIT');
          continue;
        }
        await migration.up(client);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw error;
      }
      applied.push(migration.version);
      log.info({ version: migration.version, migration: migration.name }, 'store migration applied');
    }
    return applied;
  } finally {
    client.release(broken);
  }
}
