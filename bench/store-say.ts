/**
 * The store alone: say groups per second of `ChatStore.sayMany` on SQLite
 * and on a private PostgreSQL (durable: fsync and synchronous_commit on),
 * from this one process, with `--concurrency` groups in flight and
 * `--group` says per group. It separates what a transaction costs from what
 * a say costs: the web tier's `PARLEY_SAY_GROUPS_IN_FLIGHT` decides how many
 * says share one. Prints says/s, group latency and this process's CPU per
 * say, and PostgreSQL's heaviest statements (pg_stat_statements).
 *
 *   npm run bench:store-say -- [--group 1,8,32] [--concurrency 16] [--seconds 5]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startPostgresServer } from '@parley/cluster';
import { openPgStore, openSqliteStore, type ChatStore, type SayInput } from '@parley/store';
import { benchArgs } from './bench-args.js';

const { numbers, strings } = benchArgs({
  usage: 'npm run bench:store-say --',
  summary: `Say groups through ChatStore.sayMany alone (no HTTP), SQLite and a private durable
PostgreSQL in the same run: says/s and group latency per group size.`,
  numbers: {
    seconds: { default: 5, help: 'measured seconds per store and group size' },
    concurrency: { default: 16, help: 'groups in flight at once' },
    sessions: { default: 500, help: 'sessions saying' },
    rooms: { default: 200, help: 'rooms they say in' },
    'pool-size': { default: 10, help: 'PostgreSQL connections' },
  },
  strings: {
    group: { default: '1,8,32', value: 'LIST', help: 'says per group, one measurement each' },
    'pg-settings': {
      default: '',
      value: 'NAME=VALUE,…',
      help: 'PostgreSQL settings over the durable defaults (e.g. commit_delay=0), to compare',
      check: (value) => (value === '' || value.split(',').every((pair) => /^\w+=[\w.]+$/.test(pair)) ? undefined : 'must be NAME=VALUE pairs'),
    },
  },
});
const groupSizes = strings.group.split(',').map(Number);
if (groupSizes.some((size) => !Number.isInteger(size) || size < 1)) throw new Error('--group must list whole numbers ≥ 1');

const dir = mkdtempSync(join(tmpdir(), 'parley-store-say-'));
const server = await startPostgresServer({
  dir,
  durable: true,
  settings: {
    shared_preload_libraries: 'pg_stat_statements',
    'pg_stat_statements.track': 'all',
    ...Object.fromEntries(strings['pg-settings'] === '' ? [] : strings['pg-settings'].split(',').map((pair) => pair.split('=', 2))),
  },
});
const admin = new pg.Client({ connectionString: server.url });

/** Sessions each in one room, ready to say. */
async function speakers(store: ChatStore): Promise<Array<{ sessionId: string; room: string }>> {
  const result = [];
  for (let index = 0; index < numbers.sessions; index++) {
    const session = await store.createSession({ tokenHash: randomBytes(16).toString('hex'), nickname: `n${index}`, now: Date.now() });
    const room = `room-${index % numbers.rooms}`;
    await store.enterRoom(session.id, room, Date.now(), 0);
    result.push({ sessionId: session.id, room });
  }
  return result;
}

async function measure(label: string, store: ChatStore, groupSize: number): Promise<number> {
  const who = await speakers(store);
  let said = 0;
  let next = 0;
  const latencies: number[] = [];
  const text = 'x'.repeat(200);
  const cpuBefore = process.cpuUsage();
  const end = Date.now() + numbers.seconds * 1000;
  await Promise.all(
    Array.from({ length: numbers.concurrency }, async () => {
      while (Date.now() < end) {
        const inputs: SayInput[] = Array.from({ length: groupSize }, () => {
          const speaker = who[next++ % who.length] as { sessionId: string; room: string };
          return { ...speaker, text, clientId: `c${next}`, now: Date.now() };
        });
        const started = performance.now();
        await store.sayMany(inputs);
        latencies.push(performance.now() - started);
        said += groupSize;
      }
    }),
  );
  const cpu = process.cpuUsage(cpuBefore);
  latencies.sort((a, b) => a - b);
  const at = (share: number): string => (latencies[Math.floor(latencies.length * share)] ?? 0).toFixed(1);
  const perSecond = said / numbers.seconds;
  console.log(
    `| ${label} | ${groupSize} | ${perSecond.toFixed(0)} | ${at(0.5)} | ${at(0.99)} | ${((cpu.user + cpu.system) / 1000 / said).toFixed(3)} |`,
  );
  return perSecond;
}

try {
  await admin.connect();
  await admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  console.log(
    `store say groups, ${numbers.concurrency} in flight, ${numbers.seconds} s each, ${numbers.sessions} sessions in ${numbers.rooms} rooms` +
      (strings['pg-settings'] === '' ? '' : `, PostgreSQL ${strings['pg-settings']}`),
  );
  console.log('| store | says per group | says/s | group p50 ms | group p99 ms | client CPU ms per say |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  const ratios: string[] = [];
  for (const groupSize of groupSizes) {
    const sqliteDir = mkdtempSync(join(tmpdir(), 'parley-store-say-sqlite-'));
    const sqlite = openSqliteStore({ path: join(sqliteDir, 'parley.db') });
    const sqliteRate = await measure('SQLite', sqlite, groupSize);
    await sqlite.close();
    rmSync(sqliteDir, { recursive: true, force: true });
    const schema = `g${groupSize}`;
    await admin.query(`CREATE SCHEMA ${schema}`);
    const postgres = await openPgStore({
      url: `${server.url}?options=${encodeURIComponent(`-c search_path=${schema}`)}`,
      poolSize: numbers['pool-size'],
    });
    await admin.query('SELECT pg_stat_statements_reset()');
    const pgRate = await measure('PostgreSQL', postgres, groupSize);
    await postgres.close();
    ratios.push(`group ${groupSize}: ${(pgRate / sqliteRate).toFixed(2)}×`);
  }
  console.log(`\nPostgreSQL ÷ SQLite says/s: ${ratios.join(', ')}`);
  const top = await admin.query<{ calls: string; total_ms: string; mean_ms: string; query: string }>(
    `SELECT calls, round(total_exec_time::numeric, 1) AS total_ms, round(mean_exec_time::numeric, 3) AS mean_ms,
            left(regexp_replace(query, '\\s+', ' ', 'g'), 60) AS query
     FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 6`,
  );
  console.log(`\nPostgreSQL statements of the last group size (server execution time; commit's WAL flush not included):`);
  for (const row of top.rows) console.log(`  ${row.calls} calls, ${row.total_ms} ms in all, ${row.mean_ms} ms each: ${row.query}`);
} finally {
  await admin.end().catch(() => undefined);
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
