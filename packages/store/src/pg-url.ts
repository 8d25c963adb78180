/**
 * `PARLEY_DATABASE_URL` and the `--to` of the SQLite copy: checked, and
 * described for logs without the password (a log line or an error message
 * never carries a credential).
 */

/** Where a PostgreSQL URL points, for logs: never the user's password. */
export interface PostgresTarget {
  host: string;
  port: number;
  database: string;
}

/**
 * Returns `raw` when it is a `postgres://` or `postgresql://` URL with a host;
 * otherwise throws an Error whose message does not repeat the URL.
 */
export function checkPostgresUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error('must be a postgres:// or postgresql:// URL');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new Error('must be a postgres:// or postgresql:// URL');
  if (url.hostname === '') throw new Error('must name a host (postgres://user@host:port/database)');
  return raw;
}

/** Host, port (5432 by default) and database (the user's name by default, as libpq does) of a checked URL. */
export function describePostgresUrl(raw: string): PostgresTarget {
  const url = new URL(raw);
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || decodeURIComponent(url.username) || 'postgres';
  return { host: url.hostname, port: url.port === '' ? 5432 : Number(url.port), database };
}

/**
 * `raw` with its password replaced by `***`; a placeholder when it has no
 * `//user:password@host` part a password could be told apart in
 * (`user:secret@host` parses as a scheme and a path).
 */
export function redactPostgresUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return '(not a URL; not shown)';
  }
  if (url.host === '' || !raw.includes('//')) return '(not a URL with a host; not shown)';
  if (url.password !== '') url.password = '***';
  return url.toString();
}
