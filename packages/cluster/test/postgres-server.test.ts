import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import pg from 'pg';
import { startPostgresServer, type PostgresServerHandle } from '../src/postgres-server.js';

async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('private PostgreSQL server', function () {
  this.timeout(90_000);
  let dir: string;
  let server: PostgresServerHandle | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'parley-pg-'));
    // mkdtemp makes it 700: as root PostgreSQL runs as another user, who must
    // reach it, or its data would go under the temp directory and outlive rmSync.
    chmodSync(dir, 0o755);
  });

  afterEach(async () => {
    await server?.stop();
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts on a free loopback port with the parley database, never on 5432', async () => {
    server = await startPostgresServer({ dir, durable: false });
    expect(server.dataDir).to.equal(join(dir, 'data'));
    expect(server.port).to.not.equal(5432);
    expect(server.url).to.equal(`postgres://parley@127.0.0.1:${server.port}/parley`);
    const [row] = (await query(server.url, 'SELECT current_database() AS db, current_user AS who')) as Array<{ db: string; who: string }>;
    expect(row).to.deep.equal({ db: 'parley', who: 'parley' });
  });

  it('keeps committed rows through kill -9 and an immediate stop, on the same port', async () => {
    server = await startPostgresServer({ dir });
    await query(server.url, 'CREATE TABLE notes (text TEXT NOT NULL)');
    await query(server.url, "INSERT INTO notes VALUES ('before kill')");
    const firstPid = server.pid;
    await server.kill();
    expect(server.pid).to.equal(undefined);
    await server.start();
    expect(server.pid).to.be.a('number').and.not.equal(firstPid);
    await query(server.url, "INSERT INTO notes VALUES ('before immediate stop')");
    await server.stopImmediate();
    await server.start();
    expect(await query(server.url, 'SELECT text FROM notes ORDER BY text')).to.deep.equal([
      { text: 'before immediate stop' },
      { text: 'before kill' },
    ]);
  });

  it('as root, a data directory moved out of an unreachable dir is removed with it when the process ends', async function () {
    if (process.getuid?.() !== 0) this.skip();
    chmodSync(dir, 0o700);
    // A separate process: the removal happens when that process exits.
    const script = `
      import { rmSync } from 'node:fs';
      import { startPostgresServer } from '@parley/cluster';
      const server = await startPostgresServer({ dir: ${JSON.stringify(dir)}, durable: false });
      console.log(server.dataDir);
      await server.stop();
      rmSync(${JSON.stringify(dir)}, { recursive: true, force: true });
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { timeout: 60_000 });
    const dataDir = stdout.trim().split('\n').at(-1) ?? '';
    expect(dataDir.startsWith(join(tmpdir(), 'parley-postgres-')), dataDir).to.equal(true);
    expect(existsSync(dirname(dataDir)), `${dirname(dataDir)} outlived its cluster`).to.equal(false);
  });
});
