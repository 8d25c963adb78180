import type { Logger } from '@parley/protocol';
import type { ChatStore } from './chat-store.js';
import { openPgStore } from './pg-store.js';
import { openSqliteStore } from './sqlite-store.js';

/** Which store a process opens: what its config says. */
export interface StoreChoice {
  /** `PARLEY_DATABASE_URL`: a `postgres://` URL selects PostgreSQL; `null` keeps SQLite. */
  databaseUrl: string | null;
  /** `PARLEY_DB_PATH`: the SQLite file, when `databaseUrl` is `null`. */
  sqlitePath: string;
  /** Connections per process on PostgreSQL. @default 10 */
  poolSize?: number;
  /** @default silentLogger */
  log?: Logger;
}

/**
 * The one place a process picks its `ChatStore`: PostgreSQL when a database
 * URL is configured, else the embedded SQLite file. Callers never look at
 * which one they got.
 */
export async function openStore(choice: StoreChoice): Promise<ChatStore> {
  const log = choice.log;
  if (choice.databaseUrl !== null) {
    return openPgStore({ url: choice.databaseUrl, ...(log === undefined ? {} : { log }), ...(choice.poolSize === undefined ? {} : { poolSize: choice.poolSize }) });
  }
  return openSqliteStore({ path: choice.sqlitePath, ...(log === undefined ? {} : { log }) });
}
