import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { startPostgresServer, type PostgresServerHandle } from '@parley/cluster';

/** A private PostgreSQL for one test file, and fresh schemas in it for each test. */
export interface PrivatePostgres {
  readonly server: PostgresServerHandle;
  /** A superuser pool on the `parley` database (DDL, inspection, locks held by hand). */
  readonly admin: pg.Pool;
  /**
   * Creates an empty schema and returns a URL whose connections use it
   * (`search_path`), so each test starts from nothing in milliseconds.
   */
  freshSchema(): Promise<FreshSchema>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/** One test's empty schema. */
export interface FreshSchema {
  name: string;
  /** The server's URL with `options=-c search_path=<name>`. */
  url: string;
  /** Drops the schema and everything in it. */
  drop(): Promise<void>;
}

let schemaCounter = 0;

/** `url` whose connections search `schema` first. */
export function urlWithSchema(url: string, schema: string): string {
  return `${url}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

/**
 * Starts one PostgreSQL (fsync off: tests never crash the machine) in a temp
 * directory. The directory is opened to other users so that, as root, the
 * unprivileged server user keeps its data inside it and `stop` removes all.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-pg-test-'));
  await chmod(dir, 0o755);
  let server: PostgresServerHandle;
  try {
    server = await startPostgresServer({ dir, durable: false });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const admin = new pg.Pool({ connectionString: server.url, max: 4 });
  admin.on('error', () => undefined);
  return {
    server,
    admin,
    async freshSchema() {
      schemaCounter += 1;
      const name = `t${process.pid}_${schemaCounter}`;
      await admin.query(`CREATE SCHEMA ${name}`);
      return {
        name,
        url: urlWithSchema(server.url, name),
        drop: async () => {
          await admin.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
        },
      };
    },
    async stop() {
      // A client a failed test never released would keep end() waiting: the server stops regardless.
      const ended = admin.end().catch(() => undefined);
      await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
      await server.stop();
      await rm(dir, { recursive: true, force: true });
      // Only if the server could not reach `dir` and kept its data elsewhere.
      if (!server.dataDir.startsWith(dir)) await rm(dirname(server.dataDir), { recursive: true, force: true });
    },
  };
}
