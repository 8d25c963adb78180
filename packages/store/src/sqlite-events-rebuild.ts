import type { Database } from 'better-sqlite3';

/**
 * SQLite's `events` columns as migration 3 (edits, deletions, search) made
 * them; the identity step derives its own from these. Released: never edit.
 */
export const EVENT_COLUMNS_V3: readonly string[] = [
  'room       TEXT NOT NULL REFERENCES rooms (name)',
  'seq        INTEGER NOT NULL CHECK (seq >= 1)',
  'id         TEXT NOT NULL UNIQUE',
  "type       TEXT NOT NULL CHECK (type IN ('message', 'enter', 'leave', 'nick', 'kick', 'edit', 'delete'))",
  'at         INTEGER NOT NULL',
  'nickname   TEXT NOT NULL',
  'text       TEXT',
  'from_nick  TEXT',
  'session_id TEXT',
  'client_id  TEXT',
  'target     INTEGER',
  'edited     INTEGER NOT NULL DEFAULT 0',
  'deleted    INTEGER NOT NULL DEFAULT 0',
  'search_id  INTEGER',
];

/**
 * Rebuilds SQLite's `events` table with the column definitions `columns`
 * (its key stays `(room, seq)`, WITHOUT ROWID), copying every column the old
 * table has and the new one names, and recreates its indexes. SQLite cannot
 * change a CHECK constraint in place, so a schema step that must (the event
 * types of migration 3, dropping that CHECK in 4) rebuilds the table this one
 * way. Runs inside the step's transaction.
 */
export function rebuildSqliteEvents(db: Database, columns: readonly string[]): void {
  const existing = new Set(db.prepare<[], { name: string }>('SELECT name FROM pragma_table_info(\'events\')').all().map((column) => column.name));
  const copied = columns.map((column) => column.split(' ', 1)[0] ?? '').filter((name) => existing.has(name)).join(', ');
  db.exec(`
    CREATE TABLE events_rebuilt (
      ${columns.join(',\n      ')},
      PRIMARY KEY (room, seq)
    ) WITHOUT ROWID;
    INSERT INTO events_rebuilt (${copied}) SELECT ${copied} FROM events;
    DROP TABLE events;
    ALTER TABLE events_rebuilt RENAME TO events;
    CREATE UNIQUE INDEX events_by_client_id ON events (session_id, client_id) WHERE client_id IS NOT NULL;
    -- A delete erases the text of the message's edits too.
    CREATE INDEX events_by_target ON events (room, target) WHERE target IS NOT NULL;
    CREATE UNIQUE INDEX events_by_search_id ON events (search_id) WHERE search_id IS NOT NULL;
  `);
}
