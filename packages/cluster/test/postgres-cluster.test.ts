import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import pg from 'pg';
import type { ChatEvent, LiveMessageEvent } from '@parley/protocol';
import type { ClusterProcessInfo } from '../src/cluster-file.js';
import { collectEvents, createSession, enterRoom, json, messages, request, say, uniqueRoom } from './helpers/api.js';
import { sleep } from '../src/wait.js';
import { useCluster } from './helpers/cluster-fixture.js';
import { accessLogLines } from './helpers/access-log.js';
import { BACK_WITHIN_MS, DELIVERED_WITHIN_MS, awaitPromptDelivery, clusterEntry, killNineAndAwaitBack, sayToParkedObserver } from './helpers/restarts.js';

/** Runs one query on its own connection (the test's view of the database, not the web tier's). */
async function query<Row>(url: string, sql: string, values: unknown[] = []): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query(sql, values)).rows as Row[];
  } finally {
    await client.end();
  }
}

/** The web port (`upstream=127.0.0.1:PORT`) of every say to `room` in nginx's access log, once it lists `count`. */
async function sayUpstreams(runDir: string, room: string, count: number): Promise<string[]> {
  const isSay = (line: string): boolean => line.includes(`POST /api/rooms/${room}/say `);
  const lines = await accessLogLines(join(runDir, 'nginx', 'access.log'), (all) => all.filter(isSay).length >= count);
  return lines.filter(isSay).map((line) => /upstream=127\.0\.0\.1:(\d+)/.exec(line)?.[1] ?? 'none');
}

describe('cluster on PostgreSQL (PARLEY_STORE=postgres)', function () {
  this.timeout(60_000);
  // Durable, as npm start runs it: with synchronous_commit off a kill -9 could lose the last say.
  const fixture = useCluster({ store: 'postgres' });

  it('lists its private PostgreSQL in cluster.json with pid, port and a URL without a password', () => {
    const { cluster } = fixture;
    const entry = clusterEntry(cluster, 'postgres');
    expect(entry).to.deep.equal({
      role: 'postgres',
      name: 'postgres',
      pid: cluster.postgres?.pid,
      port: cluster.postgres?.port,
      url: `postgres://parley@127.0.0.1:${cluster.postgres?.port}/parley`,
    });
    expect(entry.port).to.not.equal(5432);
    // The SQLite file of the default store is never made.
    expect(existsSync(join(cluster.runDir, 'data', 'parley.db'))).to.equal(false);
  });

  it('says, observes and pages history through nginx, every event stored in PostgreSQL', async () => {
    const { cluster } = fixture;
    const room = uniqueRoom('pg');
    const alice = await createSession(cluster.publicUrl, 'alice');
    const head = await enterRoom(cluster.publicUrl, alice, room);
    const count = 12;
    const observer = collectEvents(cluster.publicUrl, `${room}:${head}`, (events) => messages(events).length >= count, 20_000);
    const said: LiveMessageEvent[] = [];
    for (let i = 0; i < count; i++) said.push(...messages([await say(cluster.publicUrl, alice, room, `message ${i}`, `c-${i}`)]));
    const observed = await observer;
    expect(observed.map((event) => event.seq)).to.deep.equal(said.map((event) => event.seq));
    expect(said.map((event) => event.seq)).to.deep.equal(Array.from({ length: count }, (_, i) => head + 1 + i));

    // A retried say (same clientId) answers the same event.
    const again = await say(cluster.publicUrl, alice, room, 'message 3', 'c-3');
    expect(again).to.deep.equal(said[3]);

    const page = await json<{ events: ChatEvent[] }>(`${cluster.publicUrl}/api/rooms/${room}/events?after=${head}&limit=5`, { session: alice, expected: 200 });
    expect(page.events).to.deep.equal(said.slice(0, 5));
    const before = await json<{ events: ChatEvent[] }>(`${cluster.publicUrl}/api/rooms/${room}/events?before=${head + count + 1}&limit=3`, { session: alice, expected: 200 });
    expect(before.events).to.deep.equal(said.slice(-3));

    const rows = await query<{ seq: string; text: string }>(
      clusterEntry(cluster, 'postgres').url as string,
      "SELECT seq, text FROM events WHERE room = $1 AND type = 'message' ORDER BY seq",
      [room],
    );
    expect(rows.map((row) => [Number(row.seq), row.text])).to.deep.equal(said.map((event) => [event.seq, event.text]));
  });

  it('spreads says over both web processes, with one gapless seq per room', async () => {
    const { cluster } = fixture;
    const room = uniqueRoom('spread');
    const sessions = await Promise.all(['ann', 'ben', 'cat', 'dan'].map((name) => createSession(cluster.publicUrl, name)));
    for (const session of sessions) await enterRoom(cluster.publicUrl, session, room);
    const head = await enterRoom(cluster.publicUrl, sessions[0] as string, room);
    // Four speakers at once, five says each.
    await Promise.all(sessions.map(async (session, speaker) => {
      for (let i = 0; i < 5; i++) await say(cluster.publicUrl, session, room, `${speaker}-${i}`);
    }));
    const webPorts = cluster.processes().filter((entry) => entry.role === 'web').map((entry) => String(entry.port));
    const upstreams = await sayUpstreams(cluster.runDir, room, 20);
    expect(upstreams).to.have.length(20);
    for (const port of webPorts) expect(upstreams.filter((upstream) => upstream === port).length, `says taken by web on ${port}`).to.be.above(0);

    const { events } = await json<{ events: ChatEvent[] }>(`${cluster.publicUrl}/api/rooms/${room}/events?after=${head}&limit=50`, { session: sessions[0] as string, expected: 200 });
    expect(events.map((event) => event.seq)).to.deep.equal(Array.from({ length: 20 }, (_, i) => head + 1 + i));
    expect(new Set(messages(events).map((event) => event.text)).size).to.equal(20);
  });

  it('restarts a SIGKILLed PostgreSQL within 5 s; a say then reaches a parked observer within 1 s, history intact', async () => {
    const { cluster } = fixture;
    const room = uniqueRoom('pgkill');
    const alice = await createSession(cluster.publicUrl, 'alice');
    await enterRoom(cluster.publicUrl, alice, room);
    const before = await say(cluster.publicUrl, alice, room, 'before the kill');
    const serving = async (entry: ClusterProcessInfo): Promise<boolean> => {
      const [row] = await query<{ one: number }>(entry.url as string, 'SELECT 1 AS one');
      return row?.one === 1;
    };
    const back = await killNineAndAwaitBack(cluster, 'postgres', serving);
    expect(back.after.port).to.equal(back.before.port);
    expect(back.after.url).to.equal(back.before.url);
    console.log(`      postgres back after ${back.backMs} ms`);
    await cluster.waitUntilReady(15_000);
    // Clients reconnect with their own backoff: prompt again within 5 s of being back.
    const probes = await awaitPromptDelivery(cluster, BACK_WITHIN_MS);
    console.log(`      delivering promptly again after ${probes} probe(s)`);
    expect(await sayToParkedObserver(cluster)).to.be.at.most(DELIVERED_WITHIN_MS);
    const { events } = await json<{ events: ChatEvent[] }>(`${cluster.publicUrl}/api/rooms/${room}/events?after=0&limit=10`, { session: alice, expected: 200 });
    expect(messages(events)).to.deep.equal([before]);
  });

  it('takes says again as soon as PostgreSQL is back from -m immediate: nginx keeps the web processes that answered 503 meanwhile', async () => {
    const { cluster } = fixture;
    const postgres = cluster.postgres;
    if (postgres === undefined) throw new Error('no PostgreSQL in this cluster');
    const room = uniqueRoom('pgdown');
    const alice = await createSession(cluster.publicUrl, 'alice');
    await enterRoom(cluster.publicUrl, alice, room);
    // One say every 50 ms, each with its own clientId, through nginx.
    const attempts: Array<{ at: number; status: number; text: string }> = [];
    let saying = true;
    const speaker = (async () => {
      for (let n = 0; saying; n++) {
        const at = Date.now();
        try {
          const answer = await request(`${cluster.publicUrl}/api/rooms/${room}/say`, {
            method: 'POST',
            session: alice,
            body: { text: `say ${n}`, clientId: `c-${n}` },
            timeoutMs: 5000,
          });
          attempts.push({ at, status: answer.status, text: answer.text });
        } catch (error) {
          attempts.push({ at, status: 0, text: String(error) });
        }
        await sleep(50);
      }
    })();
    let readyAt = 0;
    try {
      await sleep(300);
      await postgres.stopImmediate();
      // Longer than nginx's fail_timeout (2 s): an upstream it marked failed is probed again meanwhile.
      await sleep(2500);
      await postgres.start();
      readyAt = Date.now();
      await sleep(2000);
    } finally {
      saying = false;
      await speaker;
    }
    const refused = attempts.filter((attempt) => attempt.status !== 201 && attempt.at < readyAt);
    // A new connection to a just-recovered PostgreSQL: a moment's grace.
    const afterReady = attempts.filter((attempt) => attempt.at >= readyAt + 500);
    console.log(`      ${attempts.length} says, ${refused.length} refused while PostgreSQL was down, ${afterReady.length} sent from 500 ms after it was back`);
    expect(refused.length, 'says refused while PostgreSQL was down').to.be.above(0);
    // The web process's own answer, never nginx's "service unavailable" for web processes it took out of rotation.
    const notFromWeb = refused.filter((attempt) => !attempt.text.includes('the database is unavailable'));
    expect(notFromWeb.length, `refusals not from a web process, e.g. ${notFromWeb[0]?.status} ${notFromWeb[0]?.text.trim()}`).to.equal(0);
    expect(afterReady.length).to.be.above(5);
    expect(afterReady.filter((attempt) => attempt.status !== 201).map((attempt) => `${attempt.at - readyAt} ms after ready: ${attempt.status} ${attempt.text.trim()}`)).to.deep.equal([]);
  });
});
