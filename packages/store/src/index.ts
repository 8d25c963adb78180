export type {
  ChatStore,
  EnterResult,
  HistoryQuery,
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
export { SchemaTooNewError } from './schema-version.js';
