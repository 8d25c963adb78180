/**
 * `npm run migrate:sqlite-to-postgres -- --from FILE --to URL`: copies a
 * Parley SQLite file into PostgreSQL (see `copySqliteToPostgres`). Exit 0
 * when complete, 1 on a failure or a conflict, 2 on bad options, 130 when
 * interrupted (what was copied stays; running it again resumes).
 */
import type { Logger } from '@parley/protocol';
import { UsageError, numberValue, readCommandLine, type CommandLine, type CommandSpec } from '@parley/protocol/node';
import { checkPostgresUrl, describePostgresUrl } from './pg-url.js';
import { CopyConflictError, copySqliteToPostgres } from './sqlite-to-postgres.js';

const COPY_COMMAND = {
  command: 'npm run migrate:sqlite-to-postgres --',
  summary: 'Copies a Parley SQLite database into PostgreSQL.',
  options: {
    from: {
      type: 'string',
      placeholder: 'FILE',
      required: true,
      help: 'the SQLite file (npm start keeps it at .run/data/parley.db), opened read-only: stop the web processes first',
    },
    to: {
      type: 'string',
      placeholder: 'URL',
      required: true,
      help: 'postgres://user:password@host:port/database; its schema is created or migrated first',
    },
    batch: { type: 'string', placeholder: 'N', default: '1000', help: 'rows per transaction' },
  },
  notes:
    'Copies sessions (they keep working), rooms, every event with its seq and id, memberships and\n' +
    'unacknowledged outbox rows. Resumable and idempotent: a run that stopped is completed by running\n' +
    'it again, and a second run changes nothing. Refuses (writing nothing) a database where a room\n' +
    'already has a different history, or a session or outbox id means something else.',
} as const satisfies CommandSpec;

/** The checked options; throws `UsageError` (help, exit 2) for anything missing or malformed. */
function copyOptions({ values }: CommandLine<typeof COPY_COMMAND.options>): { from: string; to: string; batchSize: number } {
  if (values.from === undefined || values.to === undefined) throw new UsageError('--from and --to are required');
  try {
    checkPostgresUrl(values.to);
  } catch (error) {
    throw new UsageError(`--to ${(error as Error).message}`);
  }
  return { from: values.from, to: values.to, batchSize: numberValue('batch', values.batch, { min: 1, integer: true }) };
}

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

const options = readCommandLine(COPY_COMMAND, process.argv.slice(2), copyOptions);
const log = lineLogger();
const stop = new AbortController();
process.once('SIGINT', () => {
  log.warn({}, 'stopping after the current batch');
  stop.abort();
});

const target = describePostgresUrl(options.to);
log.info({ from: options.from, host: target.host, port: target.port, database: target.database }, 'copying');
try {
  const report = await copySqliteToPostgres({ ...options, log, signal: stop.signal });
  process.stdout.write(
    `copied: ${report.sessions} sessions, ${report.rooms} rooms, ${report.events} events, ` +
      `${report.memberships} memberships, ${report.outbox} outbox rows (new in this run)\n`,
  );
} catch (error) {
  log.error({ err: error }, error instanceof CopyConflictError ? 'refused' : 'copy failed');
  process.exit(stop.signal.aborted ? 130 : 1);
}
