import type { Database } from 'better-sqlite3';
import { silentLogger, type Logger } from '@parley/protocol';
import { IDENTITY_STEP_NAME, identitySqlite } from './identity-schema.js';
import { SchemaTooNewError, checkMigrationOrder } from './schema-version.js';
import { searchRoomKey } from './search-words.js';
import { EVENT_COLUMNS_V3, rebuildSqliteEvents } from './sqlite-events-rebuild.js';

export { SchemaTooNewError } from './schema-version.js';

/**
 * One step of the schema. Versions are 1, 2, 3, … in array order; a step is
 * never edited once released: a change is a new step.
 */
export interface Migration {
  /** The `PRAGMA user_version` the database has after this step. */
  version: number;
  /** What the step does, for logs. */
  name: string;
  /** Applies the step; runs inside the caller's IMMEDIATE transaction. */
  up(db: Database): void;
}

/** Parley's SQLite schema, oldest step first (PostgreSQL's is in `pg-migrations.ts`). */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'sessions, rooms, memberships, events, outbox',
    up(db) {
      db.exec(`
        CREATE TABLE sessions (
          id           TEXT PRIMARY KEY,
          token_hash   TEXT NOT NULL UNIQUE,
          nickname     TEXT NOT NULL,
          created_at   INTEGER NOT NULL,
          last_seen_at INTEGER NOT NULL
        );

        -- seq is the room's head (0 before its first event); occupants is kept
        -- here so listing rooms never counts memberships.
        CREATE TABLE rooms (
          name       TEXT PRIMARY KEY,
          seq        INTEGER NOT NULL DEFAULT 0,
          occupants  INTEGER NOT NULL DEFAULT 0 CHECK (occupants >= 0),
          created_at INTEGER NOT NULL
        );
        CREATE INDEX rooms_by_occupants ON rooms (occupants DESC, name);

        CREATE TABLE memberships (
          room       TEXT NOT NULL REFERENCES rooms (name),
          session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
          entered_at INTEGER NOT NULL,
          PRIMARY KEY (room, session_id)
        ) WITHOUT ROWID;
        CREATE INDEX memberships_by_session ON memberships (session_id, room);

        -- session_id has no foreign key: messages outlive the session that said them.
        CREATE TABLE events (
          room       TEXT NOT NULL REFERENCES rooms (name),
          seq        INTEGER NOT NULL CHECK (seq >= 1),
          id         TEXT NOT NULL UNIQUE,
          type       TEXT NOT NULL CHECK (type IN ('message', 'enter', 'leave', 'nick')),
          at         INTEGER NOT NULL,
          nickname   TEXT NOT NULL,
          text       TEXT,
          from_nick  TEXT,
          session_id TEXT,
          client_id  TEXT,
          PRIMARY KEY (room, seq)
        ) WITHOUT ROWID;
        CREATE UNIQUE INDEX events_by_client_id ON events (session_id, client_id)
          WHERE client_id IS NOT NULL;

        CREATE TABLE outbox (
          id            INTEGER PRIMARY KEY AUTOINCREMENT,
          events_json   TEXT NOT NULL,
          created_at    INTEGER NOT NULL,
          claimed_until INTEGER
        );
      `);
    },
  },
  {
    version: 2,
    name: 'sessions by last use',
    // The expiry purge asks for the sessions unused longest; without this it
    // scans the whole sessions table every few minutes.
    up(db) {
      db.exec('CREATE INDEX sessions_by_last_seen ON sessions (last_seen_at)');
    },
  },
  {
    version: 3,
    name: 'edit and delete events, message search (FTS5)',
    // SQLite cannot change a CHECK constraint in place: the events table is
    // rebuilt with the new event types (`kick` too, for accounts) and the
    // columns of edits and deletions. The search index is a contentless FTS5
    // table (it keeps no copy of any text, and a delete removes a message's
    // words at once: contentless_delete), keyed by `events.search_id`.
    up(db) {
      rebuildSqliteEvents(db, EVENT_COLUMNS_V3);
      db.exec(`
        CREATE VIRTUAL TABLE message_search USING fts5 (
          room_key, text, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 0'
        );
      `);
      // Messages said before this step become searchable too.
      const messages = db
        .prepare<[], { room: string; seq: number; text: string }>(
          "SELECT room, seq, text FROM events WHERE type = 'message' AND text IS NOT NULL ORDER BY room, seq",
        )
        .all();
      const index = db.prepare<[string, string]>('INSERT INTO message_search (room_key, text) VALUES (?, ?)');
      const link = db.prepare<[number | bigint, string, number]>('UPDATE events SET search_id = ? WHERE room = ? AND seq = ?');
      for (const message of messages) {
        const { lastInsertRowid } = index.run(searchRoomKey(message.room), message.text);
        link.run(lastInsertRowid, message.room, message.seq);
      }
    },
  },
  { version: 4, name: IDENTITY_STEP_NAME, up: identitySqlite },
];

function readVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings the database up to the last of `migrations`, each step in its own
 * IMMEDIATE transaction together with its `PRAGMA user_version`, so a crash
 * leaves a consistent version and two processes opening a fresh file at once
 * apply every step exactly once (the second re-reads the version under the
 * write lock and skips). Throws `SchemaTooNewError` for a database written by
 * newer code. Returns the versions it applied.
 */
export function migrate(
  db: Database,
  migrations: readonly Migration[] = MIGRATIONS,
  log: Logger = silentLogger,
): number[] {
  checkMigrationOrder(migrations);
  const latest = migrations.length;
  const applied: number[] = [];
  const current = readVersion(db);
  if (current > latest) throw new SchemaTooNewError(current, latest);
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    const step = db.transaction(() => {
      // Another process may have applied it since we read the version.
      const version = readVersion(db);
      if (version > latest) throw new SchemaTooNewError(version, latest);
      if (version >= migration.version) return false;
      migration.up(db);
      db.pragma(`user_version = ${migration.version}`);
      return true;
    });
    if (step.immediate()) {
      applied.push(migration.version);
      log.info({ version: migration.version, migration: migration.name }, 'store migration applied');
    }
  }
  return applied;
}
