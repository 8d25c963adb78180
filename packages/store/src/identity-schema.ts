import type { Database } from 'better-sqlite3';
import type { ClientBase } from 'pg';
import { EVENT_COLUMNS_V3, rebuildSqliteEvents } from './sqlite-events-rebuild.js';

/**
 * The schema step of accounts, private rooms, direct messages, kicks and bot
 * tokens, for each dialect (listed in `sqlite-migrations.ts` and
 * `pg-migrations.ts`). An existing database keeps its rooms (all public),
 * history (events without an account: `username` NULL) and guest sessions.
 *
 * - `accounts`: username, argon2id hash, the nickname a sign-in starts with.
 * - `sessions.username`: the signed-in account (NULL: a guest);
 *   `sessions.bot_name`: set for an account's bot token (never expires).
 * - `rooms.visibility` / `rooms.owner`: private rooms and who manages them.
 * - `room_members`: the accounts that may read a private room.
 * - `events.username` / `bot` / `kicked`: the author's account, whether a bot
 *   wrote it, and a kick's removed username (`events.target` is the seq an
 *   edit or a delete acts on, from the step before).
 *
 * This step comes after the edit/delete/search step, whose columns it keeps
 * (`target`, `edited`, `deleted`, `search_id`) and whose SQLite search index
 * (`message_search`, keyed by `events.search_id`) it leaves as it is.
 */
export const IDENTITY_STEP_NAME = 'accounts, private rooms, members, kicks, bot tokens';

/** SQLite: events is rebuilt, because its CHECK on `type` cannot be altered in place. */
export function identitySqlite(db: Database): void {
  db.exec(`
    CREATE TABLE accounts (
      username      TEXT PRIMARY KEY,
      password_hash TEXT NOT NULL,
      nickname      TEXT NOT NULL,
      created_at    INTEGER NOT NULL
    );

    ALTER TABLE sessions ADD COLUMN username TEXT REFERENCES accounts (username);
    ALTER TABLE sessions ADD COLUMN bot_name TEXT;
    CREATE INDEX sessions_by_username ON sessions (username) WHERE username IS NOT NULL;

    ALTER TABLE rooms ADD COLUMN visibility TEXT NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'private'));
    ALTER TABLE rooms ADD COLUMN owner TEXT REFERENCES accounts (username);

    CREATE TABLE room_members (
      room     TEXT NOT NULL REFERENCES rooms (name),
      username TEXT NOT NULL REFERENCES accounts (username),
      added_at INTEGER NOT NULL,
      PRIMARY KEY (room, username)
    ) WITHOUT ROWID;
    CREATE INDEX room_members_by_username ON room_members (username, room);
  `);
  // The event type is checked by the code that writes it: a new type (kick
  // here, later others) then needs no rebuild of the biggest table.
  rebuildSqliteEvents(db, [
    ...EVENT_COLUMNS_V3.map((column) => (column.startsWith('type ') ? 'type       TEXT NOT NULL' : column)),
    'username   TEXT',
    'bot        INTEGER NOT NULL DEFAULT 0',
    'kicked     TEXT',
  ]);
}

/** PostgreSQL: the same tables and columns; the type CHECK is dropped, as in SQLite. */
export async function identityPg(client: ClientBase): Promise<void> {
  const statements = [
    `CREATE TABLE accounts (
      username      text COLLATE "C" PRIMARY KEY,
      password_hash text NOT NULL,
      nickname      text NOT NULL,
      created_at    bigint NOT NULL
    )`,
    'ALTER TABLE sessions ADD COLUMN username text COLLATE "C" REFERENCES accounts (username)',
    'ALTER TABLE sessions ADD COLUMN bot_name text',
    'CREATE INDEX sessions_by_username ON sessions (username) WHERE username IS NOT NULL',
    `ALTER TABLE rooms ADD COLUMN visibility text NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'private'))`,
    'ALTER TABLE rooms ADD COLUMN owner text COLLATE "C" REFERENCES accounts (username)',
    `CREATE TABLE room_members (
      room     text COLLATE "C" NOT NULL REFERENCES rooms (name),
      username text COLLATE "C" NOT NULL REFERENCES accounts (username),
      added_at bigint NOT NULL,
      PRIMARY KEY (room, username)
    )`,
    'CREATE INDEX room_members_by_username ON room_members (username, room)',
    'ALTER TABLE events DROP CONSTRAINT IF EXISTS events_type_check',
    'ALTER TABLE events ADD COLUMN username text COLLATE "C"',
    'ALTER TABLE events ADD COLUMN bot boolean NOT NULL DEFAULT false',
    'ALTER TABLE events ADD COLUMN kicked text',
  ];
  for (const text of statements) await client.query(text);
}
