import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { silentLogger, type Logger } from '@parley/protocol';
import type { ChatStore } from '../src/chat-store.js';
import { CopyConflictError, copySqliteToPostgres, openPgStore, openSqliteStore, type PgStore } from '../src/index.js';
import { startPrivatePostgres, type FreshSchema, type PrivatePostgres } from './helpers/private-postgres.js';

const execFileAsync = promisify(execFile);
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = fileURLToPath(new URL('../src/sqlite-to-postgres-cli.ts', import.meta.url));
const T0 = 1_763_740_000_000;
const ROOMS = ['attic', 'dev', 'lobby'];

/** The token hash of each nickname's session in the populated file. */
const TOKENS = { alice: 'a'.repeat(64), bob: 'b'.repeat(64), carol: 'c'.repeat(64), dave: 'd'.repeat(64) };

/**
 * A SQLite file with what a running Parley leaves: sessions (one ended),
 * three rooms, messages with and without clientIds, a say group, a nick
 * change, leaves, and an outbox half acknowledged.
 */
async function populate(path: string): Promise<void> {
  const store = openSqliteStore({ path });
  try {
    const session = async (nickname: keyof typeof TOKENS, at: number) =>
      (await store.createSession({ tokenHash: TOKENS[nickname], nickname, now: at })).id;
    const alice = await session('alice', T0);
    const bob = await session('bob', T0 + 1);
    const carol = await session('carol', T0 + 2);
    const dave = await session('dave', T0 + 3);
    for (const [id, room] of [[alice, 'lobby'], [alice, 'dev'], [bob, 'lobby'], [carol, 'dev'], [carol, 'attic'], [dave, 'lobby']] as const) {
      await store.enterRoom(id, room, T0 + 10, 0);
    }
    for (let index = 0; index < 23; index++) {
      await store.say({ sessionId: alice, room: 'lobby', text: `alice ${index} ✓`, clientId: `a-${index}`, now: T0 + 100 + index });
    }
    await store.sayMany(
      Array.from({ length: 12 }, (_, index) => ({ sessionId: index % 2 === 0 ? bob : carol, room: index % 2 === 0 ? 'lobby' : 'dev', text: `group ${index}`, now: T0 + 200 })),
    );
    await store.changeNickname(carol, 'caroline', T0 + 300);
    await store.say({ sessionId: carol, room: 'attic', text: 'line 1\nline 2', clientId: 'c-1', now: T0 + 301 });
    await store.leaveRoom(alice, 'dev', T0 + 400);
    await store.deleteSession(dave, T0 + 500);
    const pending = await store.claimOutbox({ olderThan: Number.MAX_SAFE_INTEGER, limit: 1000, leaseMs: 0, now: T0 });
    await store.acknowledgeOutbox(pending.slice(0, Math.floor(pending.length / 2)).map((row) => row.id));
  } finally {
    await store.close();
  }
}

/** Everything a caller of the store can see, in a comparable shape. */
async function everything(store: ChatStore): Promise<unknown> {
  const rooms = await store.listRooms(100);
  const details = await Promise.all(ROOMS.map((room) => store.getRoom(room)));
  const histories = await Promise.all(ROOMS.map((room) => store.readEvents(room, { after: 0, limit: 10_000 })));
  const sessions = await Promise.all(Object.values(TOKENS).map((hash) => store.findSession(hash, T0)));
  const sessionRooms = await Promise.all(sessions.map(async (session) => (session === undefined ? [] : store.sessionRooms(session.id))));
  const outbox = await store.claimOutbox({ olderThan: Number.MAX_SAFE_INTEGER, limit: 1000, leaseMs: 0, now: T0 });
  return { rooms, details, histories, sessions, sessionRooms, outbox };
}

describe('SQLite to PostgreSQL copy', function () {
  this.timeout(60_000);
  let postgres: PrivatePostgres;
  let dir: string;
  let file: string;
  let expected: unknown;
  let totalEvents: number;
  let schema: FreshSchema;
  const opened: PgStore[] = [];

  before(async () => {
    postgres = await startPrivatePostgres();
    dir = await mkdtemp(join(tmpdir(), 'parley-copy-'));
    file = join(dir, 'parley.db');
    await populate(file);
    const sqlite = openSqliteStore({ path: file });
    expected = await everything(sqlite);
    totalEvents = (await Promise.all(ROOMS.map((room) => sqlite.roomSeq(room)))).reduce<number>((sum, seq) => sum + (seq ?? 0), 0);
    await sqlite.close();
  });

  after(async () => {
    await postgres?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    schema = await postgres.freshSchema();
  });

  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
    await schema.drop();
  });

  async function openTarget(): Promise<PgStore> {
    const store = await openPgStore({ url: schema.url });
    opened.push(store);
    return store;
  }

  async function rowCounts(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const table of ['sessions', 'rooms', 'memberships', 'events', 'outbox']) {
      const result = await postgres.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema.name}.${table}`);
      counts[table] = result.rows[0]?.n ?? -1;
    }
    return counts;
  }

  it('copies every room, event, session, membership and outbox row, so both stores answer alike', async () => {
    const report = await copySqliteToPostgres({ from: file, to: schema.url, batchSize: 7 });
    expect(totalEvents).to.equal(46);
    expect(report).to.deep.equal({ sessions: 3, rooms: 3, events: totalEvents, memberships: 4, outbox: (await rowCounts()).outbox });
    expect(report.outbox).to.be.greaterThan(0);
    const target = await openTarget();
    expect(await everything(target)).to.deep.equal(expected);
  });

  it('copies accounts, bot tokens, private rooms with their members and kicks, keeping them private', async () => {
    const identityFile = join(dir, 'identity.db');
    const source = openSqliteStore({ path: identityFile });
    for (const username of ['ana', 'bob']) await source.createAccount({ username, passwordHash: `h-${username}`, nickname: username, now: T0 });
    const ana = await source.createSession({ tokenHash: 'ana-hash', nickname: 'ana', now: T0, username: 'ana' });
    const bob = await source.createSession({ tokenHash: 'bob-hash', nickname: 'bob', now: T0, username: 'bob' });
    const bot = await source.createSession({ tokenHash: 'bot-hash', nickname: 'ci', now: T0, username: 'ana', botName: 'ci' });
    await source.createRoom({ room: 'team', visibility: 'private', owner: 'ana', now: T0 });
    await source.addMember('team', 'bob', T0);
    await source.createSession({ tokenHash: 'guest-hash', nickname: 'guest', now: T0 });
    for (const session of [ana, bob]) await source.enterRoom(session.id, 'team', T0, 0);
    await source.enterRoom(bot.id, 'lobby', T0, 0);
    await source.say({ sessionId: bot.id, room: 'lobby', text: 'beep', now: T0 });
    await source.removeMember({ room: 'team', username: 'bob', bySessionId: ana.id, now: T0 + 1 });
    const history = await source.readEvents('team', { after: 0, limit: 100 });
    const lobby = await source.readEvents('lobby', { after: 0, limit: 100 });
    await source.close();
    await copySqliteToPostgres({ from: identityFile, to: schema.url });
    const target = await openTarget();
    expect(await target.readEvents('team', { after: 0, limit: 100 })).to.deep.equal(history);
    expect(await target.readEvents('lobby', { after: 0, limit: 100 })).to.deep.equal(lobby);
    expect(lobby.at(-1)).to.deep.include({ user: 'ana', bot: true });
    expect([...(await target.roomAccess(['team'], 'bob'))]).to.deep.equal([['team', 'hidden']]);
    expect([...(await target.roomAccess(['team'], 'ana'))]).to.deep.equal([['team', 'member']]);
    expect(await target.roomInfo('team')).to.deep.equal({ name: 'team', visibility: 'private', owner: 'ana' });
    expect(await target.findSession('bot-hash', T0)).to.deep.include({ username: 'ana', botName: 'ci' });
    expect((await target.findAccount('bob'))?.passwordHash).to.equal('h-bob');
  });

  it('leaves sessions and idempotency keys working, and new events numbered after the copied ones', async () => {
    await copySqliteToPostgres({ from: file, to: schema.url });
    const target = await openTarget();
    const alice = await target.findSession(TOKENS.alice, T0);
    if (alice === undefined) throw new Error('alice was not copied');
    const repeated = await target.say({ sessionId: alice.id, room: 'lobby', text: 'alice 3 ✓', clientId: 'a-3', now: T0 + 1000 });
    expect(repeated.duplicate).to.equal(true);
    const history = (expected as { histories: Array<Array<{ id: string; seq: number }>> }).histories[ROOMS.indexOf('lobby')] ?? [];
    expect(repeated.event.id).to.equal(history.find((event) => 'text' in event && event.text === 'alice 3 ✓')?.id);
    const fresh = await target.say({ sessionId: alice.id, room: 'lobby', text: 'on PostgreSQL now', now: T0 + 1001 });
    expect(fresh.event.seq).to.equal((history.at(-1)?.seq ?? 0) + 1);
    // New outbox rows are numbered after the copied ones.
    expect(fresh.outboxId).to.be.greaterThan(Math.max(...(expected as { outbox: Array<{ id: number }> }).outbox.map((row) => row.id)));
  });

  it('changes nothing when run a second time', async () => {
    await copySqliteToPostgres({ from: file, to: schema.url });
    const counts = await rowCounts();
    const again = await copySqliteToPostgres({ from: file, to: schema.url, batchSize: 3 });
    expect(again).to.deep.equal({ sessions: 0, rooms: 0, events: 0, memberships: 0, outbox: 0 });
    expect(await rowCounts()).to.deep.equal(counts);
    expect(await everything(await openTarget())).to.deep.equal(expected);
  });

  it('completes on a second run after the first was interrupted half-way through a room', async () => {
    const stop = new AbortController();
    let batches = 0;
    const stopAfterThreeBatches: Logger = {
      ...silentLogger,
      debug(_fields, message) {
        if (message === 'events copied' && ++batches === 3) stop.abort();
      },
      child: () => stopAfterThreeBatches,
    };
    let failure: unknown;
    await copySqliteToPostgres({ from: file, to: schema.url, batchSize: 4, log: stopAfterThreeBatches, signal: stop.signal }).catch(
      (error: unknown) => (failure = error),
    );
    expect(String(failure)).to.match(/interrupted/);
    // attic (3 events, one batch) and two batches of dev's 10 are in; the rest is not.
    const partial = (await rowCounts()).events ?? 0;
    expect(partial).to.equal(3 + 4 + 4);
    const report = await copySqliteToPostgres({ from: file, to: schema.url, batchSize: 4 });
    expect(report.events).to.equal(totalEvents - partial);
    expect(await everything(await openTarget())).to.deep.equal(expected);
  });

  it('refuses, writing nothing, a database where a room has another history', async () => {
    const target = await openTarget();
    const other = await target.createSession({ tokenHash: 'e'.repeat(64), nickname: 'eve', now: T0 });
    await target.enterRoom(other.id, 'lobby', T0, 0);
    const before = await rowCounts();
    let failure: unknown;
    await copySqliteToPostgres({ from: file, to: schema.url }).catch((error: unknown) => (failure = error));
    expect(failure).to.be.instanceOf(CopyConflictError);
    expect(String(failure)).to.match(/room lobby already has a different history/);
    expect(await rowCounts()).to.deep.equal(before);
  });

  describe('command line', () => {
    async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
      try {
        const { stdout, stderr } = await execFileAsync(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: REPO_ROOT, timeout: 30_000 });
        return { code: 0, stdout, stderr };
      } catch (error) {
        const failed = error as { code?: number; stdout?: string; stderr?: string };
        return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
      }
    }

    it('prints its options and defaults for --help and exits 0', async () => {
      const { code, stdout } = await run('--help');
      expect(code).to.equal(0);
      for (const option of ['--from FILE', '--to URL', '--batch N', 'default 1000']) expect(stdout).to.include(option);
    });

    it('prints the help and exits 2 for an unknown option or a missing one', async () => {
      for (const args of [['--form', file, '--to', schema.url], ['--from', file], ['--from', file, '--to', 'mysql://db/x']]) {
        const { code, stderr } = await run(...args);
        expect(code, args.join(' ')).to.equal(2);
        expect(stderr, args.join(' ')).to.include('usage: npm run migrate:sqlite-to-postgres');
      }
    });

    it('copies the file and never prints the password of the URL', async () => {
      const withPassword = schema.url.replace('postgres://parley@', 'postgres://parley:pw-not-for-logs@');
      const { code, stdout, stderr } = await run('--from', file, '--to', withPassword);
      expect(code, stderr).to.equal(0);
      expect(stdout).to.match(/copied: 3 sessions, 3 rooms, 46 events, 4 memberships, \d+ outbox rows/);
      expect(stdout + stderr).to.not.include('pw-not-for-logs');
      expect(await everything(await openTarget())).to.deep.equal(expected);
    });
  });
});
