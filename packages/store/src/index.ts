export type {
  ChatStore,
  EnterResult,
  HistoryQuery,
  OutboxEntry,
  SayResult,
  SessionRecord,
  StoredWrite,
} from './chat-store.js';
export { SqliteStore, openSqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
