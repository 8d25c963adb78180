import { join } from 'node:path';
import { expect } from 'chai';
import type { ChatEvent, ObserveAnswer } from '@parley/protocol';
import { signRequest } from '@parley/protocol/node';
import { readClusterFile } from '../src/cluster-file.js';
import { collectEvents, createSession, enterRoom, messages, request, say, uniqueRoom } from './helpers/api.js';
import { useCluster } from './helpers/cluster-fixture.js';

describe('cluster: JSONP and internal endpoints', function () {
  this.timeout(30_000);
  const fixture = useCluster();

  it('answers an observe with callback as a JSONP script', async () => {
    const { cluster } = fixture;
    const room = uniqueRoom('jsonp');
    const alice = await createSession(cluster.publicUrl, 'alice');
    const head = await enterRoom(cluster.publicUrl, alice, room);
    await say(cluster.publicUrl, alice, room, 'hello </script> badge');

    const answer = await request(`${cluster.publicUrl}/api/observe?rooms=${room}:${head}&wait=5&callback=Parley.badge_1`);
    expect(answer.status).to.equal(200);
    expect(answer.headers.get('content-type')).to.match(/^application\/javascript/);
    expect(answer.headers.get('x-content-type-options')).to.equal('nosniff');
    const match = /^\/\*\*\/Parley\.badge_1\(([\s\S]*)\);$/.exec(answer.text);
    expect(match, answer.text).to.not.equal(null);
    const body = JSON.parse(match?.[1] ?? '') as ObserveAnswer;
    expect(body.events.map((event) => event.seq)).to.deep.equal([head + 1]);
    expect(messages(body.events)[0]?.text).to.equal('hello </script> badge');
  });

  it('refuses hostile callback names with a 400 JSON error', async () => {
    const { cluster } = fixture;
    const room = uniqueRoom('callback');
    for (const callback of ['alert(1)//', 'a-b', 'a'.repeat(200), 'constructor[0]']) {
      const query = new URLSearchParams({ rooms: room, wait: '1', callback });
      const answer = await request(`${cluster.publicUrl}/api/observe?${query}`);
      expect(answer.status, callback).to.equal(400);
      expect(answer.headers.get('content-type'), callback).to.match(/^application\/json/);
      expect(JSON.parse(answer.text), callback).to.have.nested.property('error.code', 'invalid_callback');
    }
  });

  it('hides /internal/ endpoints behind nginx with a JSON 404', async () => {
    const { cluster } = fixture;
    const notify = await request(`${cluster.publicUrl}/internal/notify`, { method: 'POST', body: { events: [] } });
    const events = await request(`${cluster.publicUrl}/internal/rooms/lobby/events?after=0`);
    const encoded = await request(`${cluster.publicUrl}/%69nternal/notify`, { method: 'POST', body: { events: [] } });
    for (const answer of [notify, events, encoded]) {
      expect(answer.status).to.equal(404);
      expect(JSON.parse(answer.text)).to.deep.equal({ error: { code: 'not_found', message: 'not found' } });
    }
  });

  it('refuses forged notifications on a chatserver internal port and changes nothing', async () => {
    const { cluster } = fixture;
    const room = uniqueRoom('forged');
    const alice = await createSession(cluster.publicUrl, 'alice');
    const head = await enterRoom(cluster.publicUrl, alice, room);
    const forged: ChatEvent = {
      room,
      seq: head + 1,
      type: 'message',
      at: Date.now(),
      id: 'forged-event',
      nickname: 'mallory',
      user: null,
      text: 'forged',
    };
    const body = JSON.stringify({ events: [forged] });
    const chatservers = readClusterFile(join(cluster.runDir, 'cluster.json')).filter((entry) => entry.role === 'chatserver');

    for (const chatserver of chatservers) {
      const url = `http://127.0.0.1:${chatserver.internalPort}/internal/notify`;
      const unsigned = await request(url, { method: 'POST', body: { events: [forged] } });
      expect(unsigned.status).to.equal(401);
      expect(JSON.parse(unsigned.text)).to.have.nested.property('error.code', 'signature_required');

      const wrongSecret = signRequest('w'.repeat(64), { method: 'POST', path: '/internal/notify', body });
      const forgedAnswer = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...wrongSecret },
        body,
        signal: AbortSignal.timeout(5000),
      });
      expect(forgedAnswer.status).to.equal(403);
      expect(await forgedAnswer.json()).to.have.nested.property('error.code', 'bad_signature');
    }

    // The real message takes the seq the forgery claimed, on every chatserver.
    await say(cluster.publicUrl, alice, room, 'genuine');
    for (const chatserver of chatservers) {
      const events = await collectEvents(`http://127.0.0.1:${chatserver.port}`, `${room}:${head}`, (seen) => seen.length >= 1, 10_000);
      expect(events.map((event) => [event.seq, event.id === 'forged-event', messages([event])[0]?.text])).to.deep.equal([
        [head + 1, false, 'genuine'],
      ]);
    }
  });
});
