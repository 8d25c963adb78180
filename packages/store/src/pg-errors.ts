import { ChatError } from '@parley/protocol';

// Node's socket errors when the server cannot be reached or drops the connection.
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
/**
 * SQLSTATEs that mean "this server cannot serve you now": class 08
 * (connection exception), admin/crash shutdown, cannot connect now (starting
 * or recovering), too many connections, and a transaction ended by
 * `idle_in_transaction_session_timeout` (this process stalled mid-write).
 */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '25P03']);
// `pg` reports a dropped connection and a full pool without a code.
const DRIVER_MESSAGES = [
  'Connection terminated',
  'connection error and is not queryable',
  'timeout exceeded when trying to connect',
  'Client was closed and is not queryable',
];

/** What `pg` errors carry besides their message. */
interface PgErrorFields {
  code?: unknown;
  constraint?: unknown;
}

function fieldsOf(error: unknown): PgErrorFields {
  return typeof error === 'object' && error !== null ? (error as PgErrorFields) : {};
}

/** Whether `error` says the database cannot be reached or is not serving (retrying later can succeed). */
export function isConnectionFailure(error: unknown): boolean {
  const { code } = fieldsOf(error);
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(code))) return true;
  const message = error instanceof Error ? error.message : '';
  return DRIVER_MESSAGES.some((text) => message.includes(text));
}

/** Whether `error` is the unique index on `(session_id, client_id)` refusing a second event for a key. */
export function isClientIdRace(error: unknown): boolean {
  const { code, constraint } = fieldsOf(error);
  return code === '23505' && constraint === 'events_by_client_id';
}

/** The answer a caller gets while the database cannot be reached: 503 `unavailable`, retry in a second. */
export function databaseUnavailable(): ChatError {
  return new ChatError('unavailable', 'the database is unavailable; retry shortly', { retryAfterSeconds: 1 });
}
