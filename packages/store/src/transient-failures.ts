/**
 * Database failures that say "not now" rather than "never": nothing was
 * stored, and the same request can succeed later without anyone fixing
 * anything (a full disk that is cleaned up, a lock held past the busy
 * timeout). Callers answer them 503 `unavailable` with `Retry-After`
 * instead of 500 `internal`.
 */

// better-sqlite3's SqliteError codes (extended codes start with the primary one).
const SQLITE_TRANSIENT = /^SQLITE_(FULL|BUSY|LOCKED|IOERR|NOMEM|CANTOPEN|PROTOCOL)(_|$)/;

/**
 * PostgreSQL SQLSTATEs: class 53 (insufficient resources: disk full, out of
 * memory, too many connections), lock_not_available (lock_timeout),
 * query_canceled (statement_timeout), serialization and deadlock failures,
 * and I/O errors. Unreachable servers are `isConnectionFailure`'s.
 */
const POSTGRES_TRANSIENT = new Set(['55P03', '57014', '40001', '40P01', '58030']);

/** Whether `error` is a database failure that a retry a little later can get past. */
export function isTransientDatabaseFailure(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return false;
  return SQLITE_TRANSIENT.test(code) || code.startsWith('53') || POSTGRES_TRANSIENT.has(code);
}
