/**
 * `npm run migrate:sqlite-to-postgres -- --from FILE --to URL`: copies a
 * Parley SQLite file into PostgreSQL (see `copySqliteToPostgres`). Exit 0
 * when complete, 1 on a failure or a conflict, 2 on bad options, 130 when
 * interrupted (what was copied stays; running it again resumes).
 */
import { parseArgs } from 'node:util';
import type { Logger } from '@parley/protocol';
import { checkPostgresUrl, describePostgresUrl } from './pg-url.js';
import { CopyConflictError, copySqliteToPostgres } from './sqlite-to-postgres.js';

const DEFAULT_BATCH = 1000;

const HELP = `Copies a Parley SQLite database into PostgreSQL.

usage: npm run migrate:sqlite-to-postgres -- --from FILE --to URL [--batch N]

  --from FILE   the SQLite file (npm start keeps it at .run/data/parley.db);
                opened read-only: stop the web processes that write it first
  --to URL      postgres://user:password@host:port/database; its schema is
                created or migrated first
  --batch N     rows per transaction (default ${DEFAULT_BATCH})
  --help        this text

Copies sessions (they keep working), rooms, every event with its seq and id,
memberships and unacknowledged outbox rows. Resumable and idempotent: a run
that stopped is completed by running it again, and a second run changes
nothing. Refuses (writing nothing) a database where a room already has a
different history, or a session or outbox id means something else.
`;

/** Prints `message key=value …` lines on stderr; never a URL (it may hold a password). */
function lineLogger(): Logger {
  const print = (level: string, fields: object, message: string): void => {
    const details = Object.entries(fields)
      .map(([key, value]) => `${key}=${value instanceof Error ? value.message : String(value)}`)
      .join(' ');
    process.stderr.write(`${level} ${message}${details === '' ? '' : ` ${details}`}\n`);
  };
  const logger: Logger = {
    debug: () => undefined,
    info: (fields, message) => print('info', fields, message),
    warn: (fields, message) => print('warn', fields, message),
    error: (fields, message) => print('error', fields, message),
    child: () => logger,
  };
  return logger;
}

function usageError(message: string): never {
  process.stderr.write(`${message}\n\n${HELP}`);
  process.exit(2);
}

let values: { from?: string; to?: string; batch?: string; help?: boolean };
try {
  ({ values } = parseArgs({
    options: { from: { type: 'string' }, to: { type: 'string' }, batch: { type: 'string' }, help: { type: 'boolean' } },
    strict: true,
    allowPositionals: false,
  }));
} catch (error) {
  usageError((error as Error).message);
}

if (values.help === true) {
  process.stdout.write(HELP);
  process.exit(0);
}
if (values.from === undefined || values.to === undefined) usageError('--from and --to are required');
try {
  checkPostgresUrl(values.to);
} catch (error) {
  usageError(`--to ${(error as Error).message}`);
}
const batchSize = values.batch === undefined ? DEFAULT_BATCH : Number(values.batch);
if (!Number.isSafeInteger(batchSize) || batchSize < 1) usageError('--batch must be a whole number of at least 1');

const log = lineLogger();
const stop = new AbortController();
process.once('SIGINT', () => {
  log.warn({}, 'stopping after the current batch');
  stop.abort();
});

const target = describePostgresUrl(values.to);
log.info({ from: values.from, host: target.host, port: target.port, database: target.database }, 'copying');
try {
  const report = await copySqliteToPostgres({ from: values.from, to: values.to, batchSize, log, signal: stop.signal });
  process.stdout.write(
    `copied: ${report.sessions} sessions, ${report.rooms} rooms, ${report.events} events, ` +
      `${report.memberships} memberships, ${report.outbox} outbox rows (new in this run)\n`,
  );
} catch (error) {
  log.error({ err: error }, error instanceof CopyConflictError ? 'refused' : 'copy failed');
  process.exit(stop.signal.aborted ? 130 : 1);
}
