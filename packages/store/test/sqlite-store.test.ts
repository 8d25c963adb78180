import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { isLiveMessage } from '@parley/protocol';
import { MIGRATIONS, SchemaTooNewError, migrate, type Migration } from '../src/sqlite-migrations.js';
import { openSqliteStore, type SqliteStore } from '../src/index.js';
import { isLockBusy } from '../src/sqlite-store.js';
import { chatStoreConformance } from './chat-store-conformance.js';
import { messageChangesConformance } from './message-changes-conformance.js';
import { startLineChild, type LineChild } from './helpers/line-child.js';
import { expectMigratedMessageSearchable } from './helpers/migrated-search.js';

const WRITER_SCRIPT = fileURLToPath(new URL('./fixtures/concurrent-writer.ts', import.meta.url));

function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'parley-store-'));
}

/** A store on a fresh file in a temporary directory, removed with it. */
async function openTempStore() {
  const dir = await tempDir();
  const store = openSqliteStore({ path: join(dir, 'parley.db') });
  return {
    store,
    async cleanup() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

chatStoreConformance('SqliteStore', openTempStore);

messageChangesConformance('SqliteStore', openTempStore);

describe('SqliteStore migrating a file of schema 2 (before edits and search)', () => {
  it('keeps its history, makes its messages searchable, editable and deletable', async () => {
    const dir = await tempDir();
    try {
      const path = join(dir, 'parley.db');
      const old = new Database(path);
      migrate(old, MIGRATIONS.slice(0, 2));
      old.exec(`
        INSERT INTO sessions VALUES ('s1', 'hash', 'alice', 1, 1);
        INSERT INTO rooms VALUES ('lobby', 2, 1, 1);
        INSERT INTO memberships VALUES ('lobby', 's1', 1);
        INSERT INTO events VALUES ('lobby', 1, 'e1', 'enter', 1, 'alice', NULL, NULL, NULL, NULL);
        INSERT INTO events VALUES ('lobby', 2, 'e2', 'message', 2, 'alice', 'old searchable words', NULL, 's1', 'c1');
      `);
      old.close();
      const store = openSqliteStore({ path });
      try {
        await expectMigratedMessageSearchable(store);
        // The idempotency key survived the rebuild of the events table.
        const again = await store.say({ sessionId: 's1', room: 'lobby', text: 'old searchable words', clientId: 'c1', now: 5 });
        expect(again.duplicate).to.equal(true);
      } finally {
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('SqliteStore on a file', () => {
  let dir: string;
  const opened: Array<SqliteStore | Database.Database> = [];

  beforeEach(async () => {
    dir = await tempDir();
  });

  afterEach(async () => {
    for (const handle of opened.splice(0)) await handle.close();
    await rm(dir, { recursive: true, force: true });
  });

  function open(path = join(dir, 'parley.db')): SqliteStore {
    const store = openSqliteStore({ path });
    opened.push(store);
    return store;
  }

  function openRaw(path = join(dir, 'parley.db')): Database.Database {
    const db = new Database(path);
    opened.push(db);
    return db;
  }

  it('creates the missing directories of its path', () => {
    const path = join(dir, 'nested', 'deeper', 'parley.db');
    open(path);
    expect(existsSync(path)).to.equal(true);
  });

  it('puts the database in WAL mode', () => {
    open();
    expect(openRaw().pragma('journal_mode', { simple: true })).to.equal('wal');
  });

  it('records the latest migration in user_version', () => {
    open();
    expect(openRaw().pragma('user_version', { simple: true })).to.equal(MIGRATIONS.length);
  });

  it('keeps its data across a close and a reopen', async () => {
    const first = open();
    const session = await first.createSession({ tokenHash: 'hash-a', nickname: 'alice', now: 1 });
    await first.enterRoom(session.id, 'lobby', 2, 0);
    await first.close();
    const second = open();
    expect((await second.findSession('hash-a', 3))?.id).to.equal(session.id);
    expect(await second.roomSeq('lobby')).to.equal(1);
    expect(await second.outboxDepth()).to.equal(1);
  });

  it('finds the sessions to purge through an index, also in a database made before the index', async () => {
    // A version-1 database with a session, as an older release left it.
    const path = join(dir, 'v1.db');
    const raw = openRaw(path);
    migrate(raw, MIGRATIONS.slice(0, 1));
    raw.prepare("INSERT INTO sessions (id, token_hash, nickname, created_at, last_seen_at) VALUES ('s1', 'h1', 'old', 1, 1)").run();
    raw.close();
    const store = open(path);
    expect((await store.findSession('h1', 2))?.nickname).to.equal('old');
    const plan = openRaw(path)
      .prepare('EXPLAIN QUERY PLAN SELECT id FROM sessions WHERE last_seen_at < ? ORDER BY last_seen_at LIMIT ?')
      .all(10, 100) as Array<{ detail: string }>;
    expect(plan.map((row) => row.detail).join('; ')).to.include('sessions_by_last_seen');
  });

  it('keeps rooms, history and guest sessions of a database made before accounts, all public and without account', async () => {
    const path = join(dir, 'v2.db');
    const raw = openRaw(path);
    migrate(raw, MIGRATIONS.slice(0, 2));
    raw.exec(`
      INSERT INTO sessions (id, token_hash, nickname, created_at, last_seen_at) VALUES ('s1', 'h1', 'old', 1, 1);
      INSERT INTO rooms (name, seq, occupants, created_at) VALUES ('lobby', 2, 1, 1);
      INSERT INTO memberships (room, session_id, entered_at) VALUES ('lobby', 's1', 1);
      INSERT INTO events (room, seq, id, type, at, nickname, text, from_nick, session_id, client_id)
        VALUES ('lobby', 1, 'e1', 'enter', 1, 'old', NULL, NULL, NULL, NULL),
               ('lobby', 2, 'e2', 'message', 2, 'old', 'hello', NULL, 's1', 'c1');
    `);
    raw.close();
    const store = open(path);
    expect(await store.findSession('h1', 2)).to.deep.include({ id: 's1', nickname: 'old', username: null, botName: null });
    expect(await store.readEvents('lobby', { after: 0, limit: 10 })).to.deep.equal([
      { room: 'lobby', seq: 1, type: 'enter', at: 1, nickname: 'old', user: null, id: 'e1' },
      { room: 'lobby', seq: 2, type: 'message', at: 2, nickname: 'old', user: null, text: 'hello', id: 'e2' },
    ]);
    expect(await store.roomInfo('lobby')).to.deep.equal({ name: 'lobby', visibility: 'public', owner: null });
    const said = await store.say({ sessionId: 's1', room: 'lobby', text: 'again', now: 3 });
    expect(said.event).to.deep.include({ seq: 3, user: null });
    // The idempotency key survived the rebuild of the events table.
    expect((await store.say({ sessionId: 's1', room: 'lobby', text: 'hello', clientId: 'c1', now: 4 })).duplicate).to.equal(true);
  });

  it('applies each migration exactly once across reopenings', () => {
    const calls: number[] = [];
    const steps: Migration[] = [1, 2].map((version) => ({
      version,
      name: `step ${version}`,
      up(db) {
        calls.push(version);
        db.exec(`CREATE TABLE t${version} (x INTEGER)`);
      },
    }));
    const path = join(dir, 'steps.db');
    expect(migrate(openRaw(path), steps)).to.deep.equal([1, 2]);
    expect(migrate(openRaw(path), steps)).to.deep.equal([]);
    expect(migrate(openRaw(path), [...steps, { version: 3, name: 'step 3', up: () => calls.push(3) }])).to.deep.equal([3]);
    expect(calls).to.deep.equal([1, 2, 3]);
  });

  it('rolls a failing migration back together with its version', () => {
    const db = openRaw(join(dir, 'failing.db'));
    const failing: Migration = {
      version: 1,
      name: 'fails halfway',
      up(handle) {
        handle.exec('CREATE TABLE half (x INTEGER)');
        throw new Error('boom');
      },
    };
    expect(() => migrate(db, [failing])).to.throw('boom');
    expect(db.pragma('user_version', { simple: true })).to.equal(0);
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'half'").get()).to.deep.equal({ n: 0 });
  });

  it('refuses to open a database whose schema is newer than the code', () => {
    const path = join(dir, 'newer.db');
    const raw = new Database(path);
    raw.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    raw.close();
    expect(() => open(path)).to.throw(SchemaTooNewError, /newer than this code supports/);
  });

  describe('sayMany when SQLite fails a say (not a refusal)', () => {
    async function aliceInLobby(store: SqliteStore): Promise<string> {
      const session = await store.createSession({ tokenHash: 'hash-a', nickname: 'alice', now: 1 });
      await store.enterRoom(session.id, 'lobby', 2, 0);
      return session.id;
    }

    function sayABoomC(store: SqliteStore, sessionId: string) {
      return store.sayMany(['a', 'boom', 'c'].map((text, index) => ({ sessionId, room: 'lobby', text, clientId: `c-${index}`, now: 3 })));
    }

    async function expectNothingStoredBut(store: SqliteStore, sessionId: string): Promise<void> {
      const events = await store.readEvents('lobby', { after: 0, limit: 10 });
      expect(events.map((event) => event.type)).to.deep.equal(['enter']);
      expect(await store.roomSeq('lobby')).to.equal(1);
      expect(await store.outboxDepth()).to.equal(1);
      // No clientId was recorded and no seq is reused: the retry gets seq 2.
      const retried = await store.say({ sessionId, room: 'lobby', text: 'a', clientId: 'c-0', now: 4 });
      expect([retried.duplicate, retried.event.seq]).to.deep.equal([false, 2]);
    }

    it('rejects the whole group with nothing stored when SQLite rolls the whole transaction back', async () => {
      const store = open();
      const sessionId = await aliceInLobby(store);
      openRaw().exec(
        "CREATE TRIGGER boom BEFORE INSERT ON events WHEN NEW.text = 'boom' BEGIN SELECT RAISE(ROLLBACK, 'disk says no'); END",
      );
      let failure: unknown;
      await sayABoomC(store, sessionId).catch((error: unknown) => (failure = error));
      expect(String(failure)).to.contain('disk says no');
      openRaw().exec('DROP TRIGGER boom');
      await expectNothingStoredBut(store, sessionId);
    });

    it('rejects the whole group with nothing stored when a say fails with an SQLite error that keeps the transaction', async () => {
      const store = open();
      const sessionId = await aliceInLobby(store);
      openRaw().exec(
        "CREATE TRIGGER boom BEFORE INSERT ON events WHEN NEW.text = 'boom' BEGIN SELECT RAISE(ABORT, 'statement says no'); END",
      );
      let failure: unknown;
      await sayABoomC(store, sessionId).catch((error: unknown) => (failure = error));
      expect(String(failure)).to.contain('statement says no');
      openRaw().exec('DROP TRIGGER boom');
      await expectNothingStoredBut(store, sessionId);
    });
  });

  it('can be closed twice', async () => {
    const store = open();
    await store.close();
    await store.close();
  });
});

describe('lock-wait retry', () => {
  it('retries SQLITE_BUSY and its extended codes, nothing else', () => {
    const codes = ['SQLITE_BUSY', 'SQLITE_BUSY_RECOVERY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_LOCKED', 'SQLITE_FULL', 'SQLITE_IOERR'];
    const retried = codes.filter((code) => isLockBusy(new Database.SqliteError('lock', code)));
    expect(retried).to.deep.equal(['SQLITE_BUSY', 'SQLITE_BUSY_RECOVERY', 'SQLITE_BUSY_SNAPSHOT']);
    expect([isLockBusy(new Error('SQLITE_BUSY')), isLockBusy(undefined)]).to.deep.equal([false, false]);
  });

  it('waits for another connection\'s write lock on timers, not in SQLite\'s busy handler that freezes the event loop', async () => {
    const dir = await tempDir();
    const store = openSqliteStore({ path: join(dir, 'parley.db') });
    const other = new Database(join(dir, 'parley.db'), { timeout: 0 });
    try {
      const session = await store.createSession({ tokenHash: 'hash-a', nickname: 'alice', now: 1 });
      await store.enterRoom(session.id, 'lobby', 2, 0);
      other.exec('BEGIN IMMEDIATE');
      // The 50 ms timer that releases the lock only fires if the store's wait leaves the loop running.
      const saying = store.sayMany([{ sessionId: session.id, room: 'lobby', text: 'waited', now: 3 }]);
      await new Promise((resolve) => setTimeout(resolve, 50));
      other.exec('COMMIT');
      const group = await saying;
      expect(group.write.events.map((event) => event.seq)).to.deep.equal([2]);
    } finally {
      other.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('SqliteStore shared by several processes', () => {
  const WRITERS = 3;
  const MESSAGES_PER_WRITER = 150;
  let dir: string;
  let children: ChildProcess[] = [];

  beforeEach(async () => {
    dir = await tempDir();
  });

  afterEach(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    children = [];
    await rm(dir, { recursive: true, force: true });
  });

  function startWriter(path: string, nickname: string): LineChild {
    const writer = startLineChild(WRITER_SCRIPT, [path, 'race', nickname, String(MESSAGES_PER_WRITER)], `writer ${nickname}`);
    children.push(writer.child);
    return writer;
  }

  it(`numbers ${WRITERS * MESSAGES_PER_WRITER} concurrent messages from ${WRITERS} processes without gap, duplicate or error`, async function () {
    this.timeout(15_000);
    const path = join(dir, 'shared.db');
    const writers = Array.from({ length: WRITERS }, (_, index) => startWriter(path, `writer${index}`));
    // Every child has opened the file (migrating it concurrently) and entered the room before any says.
    for (const writer of writers) expect(await writer.nextLine(10_000)).to.equal('ready');
    for (const writer of writers) writer.child.stdin?.end('go\n');
    const reports = await Promise.all(writers.map((writer) => writer.nextLine(10_000)));

    for (const [index, line] of reports.entries()) {
      expect(JSON.parse(line), `writer${index} stderr:\n${writers[index]?.stderr()}`).to.deep.equal({
        said: MESSAGES_PER_WRITER,
        errors: 0,
      });
    }

    const store = openSqliteStore({ path });
    try {
      const events = await store.readEvents('race', { after: 0, limit: 10_000 });
      const total = WRITERS + WRITERS * MESSAGES_PER_WRITER;
      expect(events.map((event) => event.seq)).to.deep.equal(Array.from({ length: total }, (_, index) => index + 1));
      expect(new Set(events.map((event) => event.id)).size).to.equal(total);
      expect(await store.roomSeq('race')).to.equal(total);
      expect(await store.outboxDepth()).to.equal(total);
      // Each writer's own messages keep the order it said them in.
      for (let index = 0; index < WRITERS; index++) {
        const texts = events.flatMap((event) => (isLiveMessage(event) && event.nickname === `writer${index}` ? [event.text] : []));
        expect(texts).to.deep.equal(Array.from({ length: MESSAGES_PER_WRITER }, (_, n) => `writer${index} ${n}`));
      }
    } finally {
      await store.close();
    }
  });
});
