import { join } from 'node:path';
import { expect } from 'chai';
import type { ChatEvent } from '@parley/protocol';
import { readClusterFile } from '../src/cluster-file.js';
import { collectEvents, createSession, enterRoom, json, messages, observe, request, say, uniqueRoom } from './helpers/api.js';
import { accessLogLines } from './helpers/access-log.js';
import { useCluster } from './helpers/cluster-fixture.js';

describe('cluster: delivery through nginx', function () {
  this.timeout(40_000);
  const fixture = useCluster();

  it('delivers 20 says once and in order to observers spread over both chatservers', async () => {
    const { cluster } = fixture;
    const room = uniqueRoom('spread');
    const alice = await createSession(cluster.publicUrl, 'alice');
    const head = await enterRoom(cluster.publicUrl, alice, room);
    const chatservers = readClusterFile(join(cluster.runDir, 'cluster.json')).filter((entry) => entry.role === 'chatserver');
    expect(chatservers).to.have.length(2);

    const count = 20;
    const expectedSeqs = Array.from({ length: count }, (_, i) => head + 1 + i);
    const enough = (events: ChatEvent[]): boolean => messages(events).length >= count;
    // Six through nginx (least_conn spreads them) and one straight to each chatserver.
    const origins = [
      ...Array.from({ length: 6 }, () => cluster.publicUrl),
      ...chatservers.map((entry) => `http://127.0.0.1:${entry.port}`),
    ];
    const observers = origins.map((origin) => collectEvents(origin, `${room}:${head}`, enough, 25_000));

    for (let i = 0; i < count; i++) await say(cluster.publicUrl, alice, room, `message ${i}`);
    const results = await Promise.all(observers);

    for (const events of results) {
      expect(events.map((event) => event.seq)).to.deep.equal(expectedSeqs);
      expect(messages(events).map((event) => event.text)).to.deep.equal(expectedSeqs.map((_, i) => `message ${i}`));
    }
    // nginx's access log names the upstream of every observe: both chatservers served some.
    const upstreamsIn = (lines: string[]): Set<string | undefined> =>
      new Set(lines.filter((line) => line.includes(`/api/observe?rooms=${room}`)).map((line) => /upstream=127\.0\.0\.1:(\d+)/.exec(line)?.[1]));
    const chatPorts = chatservers.map((entry) => String(entry.port));
    const upstreams = upstreamsIn(
      await accessLogLines(join(cluster.runDir, 'nginx', 'access.log'), (lines) => chatPorts.every((port) => upstreamsIn(lines).has(port))),
    );
    for (const entry of chatservers) expect(upstreams).to.include(String(entry.port));
  });

  it('delivers enter, nick and leave events to an observer', async () => {
    const { cluster } = fixture;
    const room = uniqueRoom('presence');
    const alice = await createSession(cluster.publicUrl, 'alice');
    const head = await enterRoom(cluster.publicUrl, alice, room);
    const observer = collectEvents(cluster.publicUrl, `${room}:${head}`, (events) => events.length >= 3, 15_000);

    const bob = await createSession(cluster.publicUrl, 'bob');
    await enterRoom(cluster.publicUrl, bob, room);
    await json(`${cluster.publicUrl}/api/nick`, { method: 'POST', session: bob, body: { nickname: 'bobby' }, expected: 200 });
    const left = await request(`${cluster.publicUrl}/api/rooms/${room}/leave`, { method: 'POST', session: bob });
    expect(left.status).to.equal(204);

    const events = await observer;
    expect(events.map((event) => [event.seq, event.type, event.nickname])).to.deep.equal([
      [head + 1, 'enter', 'bob'],
      [head + 2, 'nick', 'bobby'],
      [head + 3, 'leave', 'bobby'],
    ]);
    expect(events[1]).to.include({ from: 'bob' });
  });

  it('pages through history forwards and backwards', async () => {
    const { cluster } = fixture;
    const room = uniqueRoom('history');
    const alice = await createSession(cluster.publicUrl, 'alice');
    await enterRoom(cluster.publicUrl, alice, room); // seq 1
    for (let i = 2; i <= 12; i++) await say(cluster.publicUrl, alice, room, `line ${i}`);
    const page = async (query: string): Promise<number[]> => {
      const answer = await json<{ events: ChatEvent[] }>(`${cluster.publicUrl}/api/rooms/${room}/events?${query}`, {
        session: alice,
        expected: 200,
      });
      return answer.events.map((event) => event.seq);
    };

    expect(await page('after=0&limit=5')).to.deep.equal([1, 2, 3, 4, 5]);
    expect(await page('after=5&limit=5')).to.deep.equal([6, 7, 8, 9, 10]);
    expect(await page('after=10&limit=5')).to.deep.equal([11, 12]);
    expect(await page('before=13&limit=5')).to.deep.equal([8, 9, 10, 11, 12]);
    expect(await page('before=3&limit=5')).to.deep.equal([1, 2]);
  });

  it('observes several rooms with one cursor and advances only the room that changed', async () => {
    const { cluster } = fixture;
    const first = uniqueRoom('multi-a');
    const second = uniqueRoom('multi-b');
    const alice = await createSession(cluster.publicUrl, 'alice');
    const firstHead = await enterRoom(cluster.publicUrl, alice, first);
    const secondHead = await enterRoom(cluster.publicUrl, alice, second);
    const cursor = `${first}:${firstHead},${second}:${secondHead}`;

    const pending = observe(cluster.publicUrl, cursor, 10);
    await say(cluster.publicUrl, alice, second, 'in the second room');
    const answer = await pending;
    expect(answer.events.map((event) => [event.room, event.seq])).to.deep.equal([[second, secondHead + 1]]);
    expect(answer.cursor).to.equal(`${first}:${firstHead},${second}:${secondHead + 1}`);

    await say(cluster.publicUrl, alice, first, 'in the first room');
    const next = await observe(cluster.publicUrl, answer.cursor, 10);
    expect(next.events.map((event) => [event.room, event.seq])).to.deep.equal([[first, firstHead + 1]]);
    expect(next.cursor).to.equal(`${first}:${firstHead + 1},${second}:${secondHead + 1}`);
  });
});
