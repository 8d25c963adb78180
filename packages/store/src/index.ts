export type {
  AccountRecord,
  BotTokenRecord,
  RevokedToken,
  RoomInfo,
  ChatStore,
  EnterResult,
  HistoryQuery,
  NewSessionInput,
  OutboxEntry,
  SayGroupResult,
  SayInput,
  SayOutcome,
  SayResult,
  PurgeResult,
  SessionRecord,
  StoredWrite,
} from './chat-store.js';
export { SqliteStore, openSqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
export { PgStore, openPgStore, type PgStoreOptions } from './pg-store.js';
export { openStore, type StoreChoice } from './open-store.js';
export { checkPostgresUrl, describePostgresUrl, redactPostgresUrl, type PostgresTarget } from './pg-url.js';
export { SchemaTooNewError } from './schema-version.js';
export { CopyConflictError, copySqliteToPostgres, type CopyReport, type SqliteToPostgresOptions } from './sqlite-to-postgres.js';
export { isTransientDatabaseFailure } from './transient-failures.js';
