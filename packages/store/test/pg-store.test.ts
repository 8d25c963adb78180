import type { ChildProcess } from 'node:child_process';
import { connect, createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import pg from 'pg';
import { pino } from 'pino';
import { ChatError, isLiveMessage, type ChatEvent } from '@parley/protocol';
import { findFreePort } from '@parley/cluster';
import { PG_MIGRATIONS, migratePg, type PgMigration } from '../src/pg-migrations.js';
import { PgStore, SchemaTooNewError, openPgStore, type SayGroupResult, type SayInput } from '../src/index.js';
import { chatStoreConformance } from './chat-store-conformance.js';
import { messageChangesConformance } from './message-changes-conformance.js';
import { startLineChild } from './helpers/line-child.js';
import { expectMigratedMessageSearchable } from './helpers/migrated-search.js';
import { startPrivatePostgres, type FreshSchema, type PrivatePostgres } from './helpers/private-postgres.js';

const WRITER_SCRIPT = fileURLToPath(new URL('./fixtures/pg-concurrent-writer.ts', import.meta.url));
const T0 = 1_763_740_000_000;

async function expectRejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, but the call succeeded');
}

describe('PgStore', function () {
  // initdb and the first start take a few seconds on a busy machine.
  this.timeout(60_000);
  let postgres: PrivatePostgres;

  before(async () => {
    postgres = await startPrivatePostgres();
  });

  after(async () => {
    await postgres?.stop();
  });

  chatStoreConformance('PgStore', async () => {
    const schema = await postgres.freshSchema();
    const store = await openPgStore({ url: schema.url, poolSize: 4 });
    return {
      store,
      async cleanup() {
        await store.close();
        await schema.drop();
      },
    };
  });

  messageChangesConformance('PgStore', async () => {
    const schema = await postgres.freshSchema();
    const store = await openPgStore({ url: schema.url, poolSize: 4 });
    return {
      store,
      async cleanup() {
        await store.close();
        await schema.drop();
      },
    };
  });

  describe('migrating a schema of version 1 (before edits and search)', () => {
    it('keeps its history, makes its messages searchable, editable and deletable', async () => {
      const schema = await postgres.freshSchema();
      const pool = new pg.Pool({ connectionString: schema.url, max: 1 });
      try {
        await migratePg(pool, PG_MIGRATIONS.slice(0, 1));
        for (const sql of [
          "INSERT INTO sessions VALUES ('s1', 'hash', 'alice', 1, 1)",
          "INSERT INTO rooms VALUES ('lobby', 2, 1, 1)",
          "INSERT INTO memberships VALUES ('lobby', 's1', 1)",
          "INSERT INTO events VALUES ('lobby', 1, 'e1', 'enter', 1, 'alice', NULL, NULL, NULL, NULL)",
          "INSERT INTO events VALUES ('lobby', 2, 'e2', 'message', 2, 'alice', 'old searchable words', NULL, 's1', 'c1')",
        ]) {
          await pool.query(sql);
        }
      } finally {
        await pool.end();
      }
      const store = await openPgStore({ url: schema.url, poolSize: 2 });
      try {
        await expectMigratedMessageSearchable(store);
      } finally {
        await store.close();
        await schema.drop();
      }
    });
  });

  describe('on PostgreSQL', () => {
    let schema: FreshSchema;
    const closing: Array<{ close(): Promise<void> } | pg.Pool> = [];

    beforeEach(async () => {
      schema = await postgres.freshSchema();
    });

    afterEach(async () => {
      for (const handle of closing.splice(0)) await (handle instanceof pg.Pool ? handle.end() : handle.close());
      await schema.drop();
    });

    async function open(poolSize = 4): Promise<PgStore> {
      const store = await openPgStore({ url: schema.url, poolSize });
      closing.push(store);
      return store;
    }

    function pool(max = 2): pg.Pool {
      const created = new pg.Pool({ connectionString: schema.url, max });
      created.on('error', () => undefined);
      closing.push(created);
      return created;
    }

    it('logs an idle connection that failed without the connection it hangs on the error', async () => {
      let logged: (line: string) => void = () => undefined;
      const failureLogged = new Promise<string>((resolve, reject) => {
        logged = (line) => line.includes('idle database connection failed') && resolve(line);
        setTimeout(() => reject(new Error('no idle-connection failure logged within 10 s')), 10_000).unref();
      });
      const log = pino({ level: 'warn' }, { write: (line: string) => logged(line) });
      const store = await openPgStore({ url: schema.url, poolSize: 2, log });
      closing.push(store);
      await store.roomHeads(['lobby']);
      await sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'parley'");
      const line = await failureLogged;
      expect(JSON.parse(line)).to.have.nested.property('err.code', '57P01');
      expect(line).not.to.include('connectionParameters');
      expect(line).not.to.include('"client"');
    });

    /** One SQL statement in the test's schema. */
    async function sql<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
      const client = new pg.Client({ connectionString: schema.url });
      await client.connect();
      try {
        return (await client.query<R>(text, values)).rows;
      } finally {
        await client.end();
      }
    }

    /**
     * Runs `says` as one group while another connection holds a transaction
     * that `hold` opened; commits it once the group is seen waiting on a lock
     * (`waitingOn` names the lock in the assertion) and returns the group.
     */
    async function sayManyBehindLock(
      store: PgStore,
      hold: (holder: pg.Client) => Promise<void>,
      says: SayInput[],
      waitingOn: string,
    ): Promise<SayGroupResult> {
      const holder = new pg.Client({ connectionString: schema.url });
      await holder.connect();
      try {
        await holder.query('BEGIN');
        await hold(holder);
        const saying = store.sayMany(says);
        let waiting: unknown[] = [];
        for (const started = Date.now(); waiting.length === 0 && Date.now() - started < 5000; ) {
          waiting = await sql("SELECT pid FROM pg_stat_activity WHERE application_name = 'parley' AND wait_event_type = 'Lock'");
        }
        expect(waiting, waitingOn).to.have.length(1);
        await holder.query('COMMIT');
        return await saying;
      } finally {
        await holder.end();
      }
    }

    async function aliceIn(store: PgStore, ...rooms: string[]): Promise<string> {
      const session = await store.createSession({ tokenHash: `hash-${Math.random()}`, nickname: 'alice', now: T0 });
      for (const room of rooms) await store.enterRoom(session.id, room, T0, 0);
      return session.id;
    }

    describe('migrations', () => {
      it('creates the schema on a fresh database and records every step in schema_migrations', async () => {
        await open();
        const steps = await sql<{ version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version');
        expect(steps).to.deep.equal(PG_MIGRATIONS.map(({ version, name }) => ({ version, name })));
        const tables = await sql<{ name: string }>(
          'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1',
        );
        expect(tables.map((row) => row.name)).to.deep.equal([
          'accounts',
          'events',
          'memberships',
          'outbox',
          'room_members',
          'rooms',
          'schema_migrations',
          'sessions',
        ]);
      });

      it('keeps rooms, history and guest sessions of a schema made before accounts, all public and without account', async () => {
        expect(await migratePg(pool(), PG_MIGRATIONS.slice(0, 1))).to.deep.equal([1]);
        await sql(`INSERT INTO sessions (id, token_hash, nickname, created_at, last_seen_at) VALUES ('s1', 'h1', 'old', 1, 1)`);
        await sql(`INSERT INTO rooms (name, seq, occupants, created_at) VALUES ('lobby', 1, 1, 1)`);
        await sql(`INSERT INTO memberships (room, session_id, entered_at) VALUES ('lobby', 's1', 1)`);
        await sql(`INSERT INTO events (room, seq, id, type, at, nickname, text, session_id, client_id)
                   VALUES ('lobby', 1, 'e1', 'message', 1, 'old', 'hello', 's1', 'c1')`);
        const store = await open();
        expect(await store.findSession('h1', 2)).to.deep.include({ id: 's1', nickname: 'old', username: null, botName: null });
        expect(await store.readEvents('lobby', { after: 0, limit: 10 })).to.deep.equal([
          { room: 'lobby', seq: 1, type: 'message', at: 1, nickname: 'old', user: null, text: 'hello', id: 'e1' },
        ]);
        expect(await store.roomInfo('lobby')).to.deep.equal({ name: 'lobby', visibility: 'public', owner: null });
        expect((await store.say({ sessionId: 's1', room: 'lobby', text: 'again', now: 3 })).event).to.deep.include({ seq: 2, user: null });
      });

      it('applies nothing when opened again, and keeps the data', async () => {
        const first = await open();
        const sessionId = await aliceIn(first, 'lobby');
        await first.close();
        expect(await migratePg(pool())).to.deep.equal([]);
        const second = await open();
        expect(await second.roomSeq('lobby')).to.equal(1);
        expect(await second.sessionRooms(sessionId)).to.deep.equal(['lobby']);
      });

      it('applies each step exactly once when many processes open a fresh database at once', async () => {
        const calls: number[] = [];
        const steps: PgMigration[] = [1, 2, 3].map((version) => ({
          version,
          name: `step ${version}`,
          async up(client) {
            calls.push(version);
            // Slow enough that every opener is inside migratePg before the first step ends.
            await client.query('SELECT pg_sleep(0.05)');
            await client.query(`CREATE TABLE t${version} (x integer)`);
          },
        }));
        const results = await Promise.all(Array.from({ length: 6 }, () => migratePg(pool(1), steps)));
        expect(results.flat().sort()).to.deep.equal([1, 2, 3]);
        expect(calls.sort()).to.deep.equal([1, 2, 3]);
        expect(await sql('SELECT version FROM schema_migrations ORDER BY version')).to.deep.equal([
          { version: 1 },
          { version: 2 },
          { version: 3 },
        ]);
      });

      it('rolls a failing step back together with its version', async () => {
        const failing: PgMigration = {
          version: 1,
          name: 'fails halfway',
          async up(client) {
            await client.query('CREATE TABLE half (x integer)');
            throw new Error('boom');
          },
        };
        expect(String(await expectRejection(migratePg(pool(), [failing])))).to.contain('boom');
        expect(await sql("SELECT to_regclass('half') AS half, to_regclass('schema_migrations') AS migrations")).to.deep.equal([
          { half: null, migrations: null },
        ]);
      });

      it('refuses to open a schema that newer code has migrated', async () => {
        await open();
        await sql("INSERT INTO schema_migrations (version, name) VALUES ($1, 'from the future')", [PG_MIGRATIONS.length + 1]);
        const error = await expectRejection(openPgStore({ url: schema.url }));
        expect(error).to.be.instanceOf(SchemaTooNewError);
        expect(String(error)).to.match(/newer than this code supports/);
      });
    });

    describe('seq under failures', () => {
      it('leaves no gap when a say group rolls back', async () => {
        const store = await open();
        const sessionId = await aliceIn(store, 'lobby');
        await sql(`CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$
                   BEGIN IF NEW.text = 'boom' THEN RAISE EXCEPTION 'disk says no'; END IF; RETURN NEW; END $$`);
        await sql('CREATE TRIGGER boom BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION boom()');
        const says = ['a', 'boom', 'c'].map((text, index) => ({ sessionId, room: 'lobby', text, clientId: `c-${index}`, now: T0 }));
        expect(String(await expectRejection(store.sayMany(says)))).to.contain('disk says no');
        await sql('DROP TRIGGER boom ON events');
        expect(await store.roomSeq('lobby')).to.equal(1);
        expect(await store.outboxDepth()).to.equal(1);
        // No clientId was recorded and no seq is skipped: the retry gets seq 2.
        const retried = await store.say({ sessionId, room: 'lobby', text: 'a', clientId: 'c-0', now: T0 });
        expect([retried.duplicate, retried.event.seq]).to.deep.equal([false, 2]);
        expect((await store.readEvents('lobby', { after: 0, limit: 10 })).map((event) => event.seq)).to.deep.equal([1, 2]);
      });

      it('rejects with unavailable when its connection dies mid-write, and leaves no gap', async () => {
        const store = await open();
        const sessionId = await aliceIn(store, 'lobby');
        const holder = new pg.Client({ connectionString: schema.url });
        await holder.connect();
        try {
          // Hold the room's lock so the say group waits inside its transaction.
          await holder.query('BEGIN');
          await holder.query("SELECT seq FROM rooms WHERE name = 'lobby' FOR UPDATE");
          const saying = expectRejection(store.sayMany([{ sessionId, room: 'lobby', text: 'lost', clientId: 'c-1', now: T0 }]));
          let waiting: Array<{ pid: number }> = [];
          for (const started = Date.now(); waiting.length === 0 && Date.now() - started < 5000; ) {
            waiting = await sql<{ pid: number }>(
              "SELECT pid FROM pg_stat_activity WHERE application_name = 'parley' AND wait_event_type = 'Lock'",
            );
          }
          expect(waiting, 'a store connection waiting for the room lock').to.have.length(1);
          await sql('SELECT pg_terminate_backend($1)', [waiting[0]?.pid]);
          const error = await saying;
          expect(error).to.be.instanceOf(ChatError);
          expect([(error as ChatError).code, (error as ChatError).status]).to.deep.equal(['unavailable', 503]);
          await holder.query('ROLLBACK');
        } finally {
          await holder.end();
        }
        // The pool replaced the dead connection; the retry is stored at seq 2.
        const retried = await store.say({ sessionId, room: 'lobby', text: 'lost', clientId: 'c-1', now: T0 });
        expect([retried.duplicate, retried.event.seq]).to.deep.equal([false, 2]);
      });

      it('answers unavailable while the server cannot be reached', async () => {
        const port = await findFreePort();
        const unreachable = new pg.Pool({ connectionString: `postgres://parley@127.0.0.1:${port}/parley`, connectionTimeoutMillis: 2000 });
        unreachable.on('error', () => undefined);
        const store = new PgStore(unreachable);
        closing.push(store);
        for (const attempt of [store.roomSeq('lobby'), store.sayMany([{ sessionId: 's', room: 'lobby', text: 'hi', now: T0 }])]) {
          const error = await expectRejection(attempt);
          expect(error).to.be.instanceOf(ChatError);
          expect((error as ChatError).code).to.equal('unavailable');
          expect((error as ChatError).retryAfterSeconds).to.equal(1);
        }
      });

      it('answers unavailable within 250 ms while another call is finding out whether a silent server is back', async () => {
        // A server that accepts connections and never answers (partitioned, or too busy recovering to fork).
        const silent = createServer(() => undefined);
        await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
        const { port } = silent.address() as AddressInfo;
        const hanging = new pg.Pool({ connectionString: `postgres://parley@127.0.0.1:${port}/parley`, connectionTimeoutMillis: 1500 });
        hanging.on('error', () => undefined);
        const store = new PgStore(hanging);
        closing.push(store);
        try {
          const first = await expectRejection(store.roomSeq('lobby'));
          expect((first as ChatError).code).to.equal('unavailable');
          // One of these tries the server again (and waits for its connect timeout); the rest must not wait behind it.
          const timed = await Promise.all(
            Array.from({ length: 5 }, async () => {
              const startedAt = Date.now();
              const error = await expectRejection(store.roomSeq('lobby'));
              return { ms: Date.now() - startedAt, code: (error as ChatError).code };
            }),
          );
          expect(timed.map(({ code }) => code)).to.deep.equal(Array(5).fill('unavailable'));
          expect(timed.filter(({ ms }) => ms < 500), `answer times ${timed.map(({ ms }) => ms).join(', ')} ms`).to.have.length(4);
        } finally {
          silent.close();
          silent.unref();
        }
      });

      it('serves calls that come while another call finds the server back, instead of refusing them', async () => {
        // A door in front of the real server: shut, every connection is cut at once (the server is down).
        const target = new URL(schema.url);
        let doorOpen = false;
        const door = createServer((client) => {
          if (!doorOpen) {
            client.destroy();
            return;
          }
          const upstream = connect(Number(target.port), target.hostname);
          client.pipe(upstream).pipe(client);
          client.on('error', () => upstream.destroy());
          upstream.on('error', () => client.destroy());
        });
        await new Promise<void>((resolve) => door.listen(0, '127.0.0.1', resolve));
        const through = new URL(schema.url);
        through.port = String((door.address() as AddressInfo).port);
        await aliceIn(await open(), 'lobby');
        const behindDoor = new pg.Pool({ connectionString: through.toString(), max: 4, connectionTimeoutMillis: 2000 });
        behindDoor.on('error', () => undefined);
        const guarded = new PgStore(behindDoor);
        closing.push(guarded);
        try {
          expect(((await expectRejection(guarded.roomHeads(['lobby']))) as ChatError).code).to.equal('unavailable');
          doorOpen = true;
          // The first of these tries the server; the others arrive while it does.
          const heads = await Promise.all(Array.from({ length: 5 }, () => guarded.roomHeads(['lobby'])));
          // (a bare pool reads bigint as text)
          expect(heads.map((map) => Number(map.get('lobby')))).to.deep.equal(Array(5).fill(1));
        } finally {
          door.close();
          door.unref();
        }
      });

      it('refuses a bigint beyond 2^53 instead of rounding it', async () => {
        const store = await open();
        await aliceIn(store, 'lobby');
        await sql("UPDATE rooms SET seq = 9007199254740993 WHERE name = 'lobby'");
        expect(String(await expectRejection(store.roomSeq('lobby')))).to.match(/9007199254740993 does not fit/);
      });
    });

    describe('say groups', () => {
      it('stores the other 99 says of a group of 100 when one is refused', async () => {
        const store = await open();
        const sessionId = await aliceIn(store, 'lobby');
        const stranger = (await store.createSession({ tokenHash: 'hash-bob', nickname: 'bob', now: T0 })).id;
        const says = Array.from({ length: 100 }, (_, index) => ({
          sessionId: index === 49 ? stranger : sessionId,
          room: 'lobby',
          text: `m${index}`,
          clientId: `c-${index}`,
          now: T0,
        }));
        const group = await store.sayMany(says);
        const refused = group.outcomes.flatMap((outcome, index) => (outcome.ok ? [] : [[index, (outcome.error as ChatError).code]]));
        expect(refused).to.deep.equal([[49, 'not_in_room']]);
        expect(group.write.events.map((event) => event.seq)).to.deep.equal(Array.from({ length: 99 }, (_, index) => index + 2));
        const history = await store.readEvents('lobby', { after: 1, limit: 200 });
        expect(history.map((event) => (isLiveMessage(event) ? event.text : ''))).to.deep.equal(
          says.filter((_, index) => index !== 49).map((say) => say.text),
        );
        expect(await store.outboxDepth()).to.equal(2);
      });

      it('commits a group of 200 says as one transaction, without a subtransaction per say', async () => {
        const store = await open();
        const sessionId = await aliceIn(store, 'lobby', 'dev');
        // Every transaction or savepoint that writes takes its own transaction id.
        const xid = async (): Promise<number> =>
          Number((await sql<{ xid: string }>('SELECT pg_current_xact_id()::text AS xid'))[0]?.xid);
        const before = await xid();
        const group = await store.sayMany(
          Array.from({ length: 200 }, (_, index) => ({ sessionId, room: index % 2 === 0 ? 'lobby' : 'dev', text: `m${index}`, now: T0 })),
        );
        const after = await xid();
        expect(group.write.events).to.have.length(200);
        // One id for the group, one for the second probe itself.
        expect(after - before).to.be.at.most(3);
      });

      it('refuses the say of a session kicked while its group waited for the room', async () => {
        const store = await open();
        const sessionId = await aliceIn(store, 'lobby');
        const bob = (await store.createSession({ tokenHash: 'hash-bob', nickname: 'bob', now: T0 })).id;
        await store.enterRoom(bob, 'lobby', T0, 0);
        // Another process holds the room and removes alice from it; her group
        // (one round trip: lock, read, write, commit) waits for the room, and
        // must decide on what that process committed, not on what it saw before.
        const group = await sayManyBehindLock(
          store,
          async (holder) => {
            await holder.query("SELECT seq FROM rooms WHERE name = 'lobby' FOR NO KEY UPDATE");
            await holder.query("DELETE FROM memberships WHERE room = 'lobby' AND session_id = $1", [sessionId]);
          },
          [
            { sessionId, room: 'lobby', text: 'after the kick', clientId: 'c-1', now: T0 },
            { sessionId: bob, room: 'lobby', text: 'still here', clientId: 'c-1', now: T0 },
          ],
          'the group waiting for the room lock',
        );
        const answers = group.outcomes.map((outcome) => (outcome.ok ? outcome.result.event.seq : (outcome.error as ChatError).code));
        expect(answers).to.deep.equal(['not_in_room', 3]);
        const history = await store.readEvents('lobby', { after: 0, limit: 10 });
        expect(history.map((event) => (isLiveMessage(event) ? event.text : event.type))).to.deep.equal(['enter', 'enter', 'still here']);
      });

      it('answers client_id_conflict, not a failed group, when another process commits the same clientId first', async () => {
        const store = await open();
        const sessionId = await aliceIn(store, 'lobby', 'dev');
        // Another writer stores (session, c-1) in another room and has not committed
        // yet: the group reads "no earlier event", then waits on the unique index.
        const group = await sayManyBehindLock(
          store,
          async (holder) => {
            const [dev] = (await holder.query<{ seq: string }>("UPDATE rooms SET seq = seq + 1 WHERE name = 'dev' RETURNING seq")).rows;
            await holder.query(
              `INSERT INTO events (room, seq, id, type, at, nickname, text, session_id, client_id)
               VALUES ('dev', $1, 'held-1', 'message', $2, 'alice', 'once', $3, 'c-1')`,
              [dev?.seq, T0, sessionId],
            );
          },
          [
            { sessionId, room: 'lobby', text: 'before', now: T0 },
            { sessionId, room: 'lobby', text: 'once', clientId: 'c-1', now: T0 },
            { sessionId, room: 'lobby', text: 'after', now: T0 },
          ],
          'the group waiting on the unique index',
        );
        const answers = group.outcomes.map((outcome) => (outcome.ok ? outcome.result.event.seq : (outcome.error as ChatError).code));
        expect(answers).to.deep.equal([2, 'client_id_conflict', 3]);
        expect(await sql("SELECT room, seq FROM events WHERE client_id = 'c-1'")).to.deep.equal([{ room: 'dev', seq: '2' }]);
        expect(await store.roomSeq('lobby')).to.equal(3);
      });
    });

    describe('outbox claims', () => {
      async function outboxRows(count: number): Promise<number[]> {
        const rows = await sql<{ id: string }>(
          "INSERT INTO outbox (events_json, created_at) SELECT '[]', $1 FROM generate_series(1, $2) RETURNING id",
          [T0, count],
        );
        return rows.map((row) => Number(row.id)).sort((a, b) => a - b);
      }

      it('never hands the same row to two stores claiming at once', async () => {
        const stores = [await open(2), await open(2)];
        const ids = await outboxRows(300);
        const claimedBy: number[][] = [[], []];
        await Promise.all(
          stores.map(async (store, index) => {
            for (;;) {
              const rows = await store.claimOutbox({ olderThan: T0, limit: 7, leaseMs: 60_000, now: T0 + 1 });
              if (rows.length === 0) return;
              claimedBy[index]?.push(...rows.map((row) => row.id));
            }
          }),
        );
        const [a = [], b = []] = claimedBy;
        expect(a.filter((id) => b.includes(id)), 'claimed twice').to.deep.equal([]);
        expect([...a, ...b].sort((x, y) => x - y)).to.deep.equal(ids);
        expect(a.length, 'both stores claimed').to.be.greaterThan(0);
        expect(b.length, 'both stores claimed').to.be.greaterThan(0);
      });

      it('skips a row another connection has locked instead of waiting for it', async () => {
        const store = await open();
        const ids = await outboxRows(3);
        const holder = new pg.Client({ connectionString: schema.url });
        await holder.connect();
        try {
          await holder.query('BEGIN');
          await holder.query('SELECT id FROM outbox WHERE id = $1 FOR UPDATE', [ids[0]]);
          const claim = store.claimOutbox({ olderThan: T0, limit: 10, leaseMs: 60_000, now: T0 + 1 });
          const late = new Promise<'waited'>((resolve) => setTimeout(() => resolve('waited'), 2000).unref());
          const claimed = await Promise.race([claim, late]);
          expect(claimed, 'the claim waited for the locked row').to.not.equal('waited');
          expect((claimed as Array<{ id: number }>).map((row) => row.id)).to.deep.equal(ids.slice(1));
          await holder.query('ROLLBACK');
        } finally {
          await holder.end();
        }
        expect((await store.claimOutbox({ olderThan: T0, limit: 10, leaseMs: 60_000, now: T0 + 1 })).map((row) => row.id)).to.deep.equal([
          ids[0],
        ]);
      });
    });

    describe('written by several processes', () => {
      const PROCESSES = 4;
      const LANES = 4;
      const DURATION_MS = 5000;
      const ROOMS = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5'];
      let children: ChildProcess[] = [];

      afterEach(() => {
        for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
        children = [];
      });

      it(`keeps every room's seqs 1..N with no duplicate and no deadlock: ${PROCESSES} processes x ${LANES} connections for ${DURATION_MS / 1000} s`, async function () {
        this.timeout(90_000);
        const writers = Array.from({ length: PROCESSES }, (_, index) =>
          startLineChild(WRITER_SCRIPT, [schema.url, ROOMS.join(','), `w${index}`, String(DURATION_MS), String(LANES)], `writer w${index}`),
        );
        children = writers.map((writer) => writer.child);
        // Every child has opened (and raced to migrate) the fresh schema before any writes.
        for (const writer of writers) expect(await writer.nextLine(30_000)).to.equal('ready');
        for (const writer of writers) writer.child.stdin?.end('go\n');
        const reports = await Promise.all(writers.map((writer) => writer.nextLine(DURATION_MS + 30_000)));
        let says = 0;
        for (const [index, line] of reports.entries()) {
          const report = JSON.parse(line) as { errors: number; says: number; groups: number; firstError?: string };
          expect(report.errors, `w${index}: ${report.firstError}\n${writers[index]?.stderr()}`).to.equal(0);
          expect(report.groups, `w${index} wrote say groups`).to.be.greaterThan(0);
          says += report.says;
        }
        expect(says, 'says stored in all').to.be.greaterThan(200);

        const store = await open();
        const everyEvent: ChatEvent[] = [];
        for (const room of ROOMS) {
          const head = (await store.roomSeq(room)) ?? 0;
          const events: ChatEvent[] = [];
          for (let page = await store.readEvents(room, { after: 0, limit: 1000 }); page.length > 0; ) {
            events.push(...page);
            page = await store.readEvents(room, { after: page.at(-1)?.seq ?? 0, limit: 1000 });
          }
          expect(events.map((event) => event.seq), `seqs of ${room}`).to.deep.equal(Array.from({ length: head }, (_, index) => index + 1));
          everyEvent.push(...events);
        }
        expect(new Set(everyEvent.map((event) => event.id)).size, 'distinct event ids').to.equal(everyEvent.length);
        const texts = everyEvent.flatMap((event) => (isLiveMessage(event) ? [event.text] : []));
        expect(new Set(texts).size, 'each clientId stored once').to.equal(texts.length);
        expect(texts.length).to.equal(says);
        // Every event is in exactly one outbox row.
        const outbox = await store.claimOutbox({ olderThan: Number.MAX_SAFE_INTEGER, limit: 1_000_000, leaseMs: 1, now: Date.now() });
        const carried = outbox.flatMap((row) => row.events.map((event) => event.id)).sort();
        expect(carried).to.deep.equal(everyEvent.map((event) => event.id).sort());
        // The occupant counters agree with the memberships.
        expect(
          await sql(`SELECT r.name FROM rooms r
                     WHERE r.occupants <> (SELECT count(*) FROM memberships m WHERE m.room = r.name)`),
        ).to.deep.equal([]);
      });
    });
  });
});
