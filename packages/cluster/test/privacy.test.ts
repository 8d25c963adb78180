import { join } from 'node:path';
import { expect } from 'chai';
import type { ChatEvent } from '@parley/protocol';
import { readClusterFile } from '../src/cluster-file.js';
import { createSession, json, request, uniqueRoom, type RawAnswer } from './helpers/api.js';
import { useCluster } from './helpers/cluster-fixture.js';

/**
 * The privacy table, through nginx: every endpoint that names a room, asked
 * about a private room by an anonymous caller, a guest, an account that is
 * no member, a member and a kicked member. Everyone but the member gets
 * exactly the answer of a room that does not exist, and no answer holds the
 * room's text, its occupants or its head.
 */
describe('private rooms through nginx: the privacy table', function () {
  this.timeout(120_000);
  const fixture = useCluster();
  const PASSWORD = 'a long enough password';
  const SECRET_TEXT = 'the launch is on friday';

  async function account(label: string): Promise<{ username: string; session: string }> {
    const username = `${label}${Math.random().toString(36).slice(2, 8)}`;
    const answer = await json<{ session: string }>(`${fixture.cluster.publicUrl}/api/accounts`, {
      method: 'POST',
      body: { username, password: PASSWORD },
      expected: 201,
    });
    return { username, session: answer.session };
  }

  /** One row of the table: a request about `room`, asked as `session` (undefined: anonymous). */
  type Ask = (room: string, session: string | undefined) => Promise<RawAnswer>;

  it('answers every caller but a member exactly as for a missing room, on every endpoint, and leaks nothing', async () => {
    const base = fixture.cluster.publicUrl;
    const owner = await account('owner');
    const member = await account('member');
    const kicked = await account('kicked');
    const outsider = await account('outsider');
    const guest = await createSession(base, 'guest');
    const room = uniqueRoom('team');
    // The same letters in another order: the badge's width depends on them.
    const missing = [...room].reverse().join('');
    await json(`${base}/api/rooms`, { method: 'POST', session: owner.session, body: { name: room, visibility: 'private' }, expected: 201 });
    for (const who of [member, kicked]) {
      await request(`${base}/api/rooms/${room}/members`, { method: 'POST', session: owner.session, body: { username: who.username } });
    }
    for (const who of [owner, member, kicked]) await json(`${base}/api/rooms/${room}/enter`, { method: 'POST', session: who.session, expected: 200 });
    await json(`${base}/api/rooms/${room}/say`, { method: 'POST', session: owner.session, body: { text: SECRET_TEXT }, expected: 201 });
    const kick = await request(`${base}/api/rooms/${room}/members/${kicked.username}`, { method: 'DELETE', session: owner.session });
    expect(kick.status).to.equal(204);

    const sessionQuery = (session: string | undefined) => (session === undefined ? '' : `&session=${session}`);
    const asks: Record<string, Ask> = {
      'GET detail': (name, session) => request(`${base}/api/rooms/${name}`, { ...(session === undefined ? {} : { session }) }),
      'GET detail JSONP': (name, session) => request(`${base}/api/rooms/${name}?callback=cb${sessionQuery(session)}`),
      'GET history': (name, session) => request(`${base}/api/rooms/${name}/events?after=0`, { ...(session === undefined ? {} : { session }) }),
      'GET history JSONP': (name, session) => request(`${base}/api/rooms/${name}/events?after=0&callback=cb${sessionQuery(session)}`),
      'POST say': (name, session) => request(`${base}/api/rooms/${name}/say`, { method: 'POST', body: { text: 'hello?' }, ...(session === undefined ? {} : { session }) }),
      'POST leave': (name, session) => request(`${base}/api/rooms/${name}/leave`, { method: 'POST', ...(session === undefined ? {} : { session }) }),
      'POST observe-ticket': (name, session) => request(`${base}/api/observe-ticket`, { method: 'POST', body: { room: name }, ...(session === undefined ? {} : { session }) }),
      'POST members': (name, session) => request(`${base}/api/rooms/${name}/members`, { method: 'POST', body: { username: 'someone' }, ...(session === undefined ? {} : { session }) }),
      'GET observe': (name, session) => request(`${base}/api/observe?rooms=${name}:0&wait=0${sessionQuery(session)}`),
      'GET observe JSONP': (name, session) => request(`${base}/api/observe?rooms=${name}:0&wait=0&callback=cb${sessionQuery(session)}`),
      'GET observe past 0': (name, session) => request(`${base}/api/observe?rooms=${name}:2&wait=0${sessionQuery(session)}`),
      'GET badge SVG': (name) => request(`${base}/badge/${name}.svg`),
    };
    const callers: Record<string, string | undefined> = {
      anonymous: undefined,
      guest,
      'non-member account': outsider.session,
      'kicked member': kicked.session,
    };
    const normalise = (answer: RawAnswer, name: string) => ({
      status: answer.status,
      type: answer.headers.get('content-type'),
      body: answer.text.split(name).join('ROOM'),
    });
    for (const [callerName, session] of Object.entries(callers)) {
      for (const [askName, ask] of Object.entries(asks)) {
        const hidden = await ask(room, session);
        const absent = await ask(missing, session);
        expect(normalise(hidden, room), `${askName} as ${callerName}`).to.deep.equal(normalise(absent, missing));
        for (const secret of [SECRET_TEXT, owner.username, member.username]) {
          expect(hidden.text, `${askName} as ${callerName}`).to.not.include(secret);
        }
      }
      // Enter creates a missing room, so it cannot answer alike; for a private room it is 404 room_not_found.
      if (session !== undefined) {
        const enter = await request(`${base}/api/rooms/${room}/enter`, { method: 'POST', session });
        expect([enter.status, JSON.parse(enter.text).error.code], `enter as ${callerName}`).to.deep.equal([404, 'room_not_found']);
      }
      const list = await json<{ rooms: Array<{ name: string }> }>(`${base}/api/rooms`, { ...(session === undefined ? {} : { session }), expected: 200 });
      expect(list.rooms.map((entry) => entry.name), `room list as ${callerName}`).to.not.include(room);
    }

    // The member reads everything.
    const history = await json<{ events: ChatEvent[] }>(`${base}/api/rooms/${room}/events?after=0`, { session: member.session, expected: 200 });
    expect(history.events.map((event) => event.type)).to.deep.equal(['enter', 'enter', 'enter', 'message', 'kick']);
    expect(history.events.at(-1)).to.deep.include({ type: 'kick', target: kicked.username, user: owner.username });
    const observed = await json<{ events: ChatEvent[] }>(`${base}/api/observe?rooms=${room}:0&wait=0`, { session: member.session, expected: 200 });
    expect(observed.events).to.have.length(5);
    const list = await json<{ rooms: Array<{ name: string }> }>(`${base}/api/rooms`, { session: member.session, expected: 200 });
    expect(list.rooms.map((entry) => entry.name)).to.include(room);
  });

  it('stops a kicked member\'s observes within 1 s on every chatserver, while the owner keeps receiving', async () => {
    const base = fixture.cluster.publicUrl;
    const chatservers = readClusterFile(join(fixture.cluster.runDir, 'cluster.json')).filter((entry) => entry.role === 'chatserver');
    expect(chatservers).to.have.length(2);
    const owner = await account('owner');
    const member = await account('member');
    const room = uniqueRoom('kick');
    await json(`${base}/api/rooms`, { method: 'POST', session: owner.session, body: { name: room, visibility: 'private' }, expected: 201 });
    await request(`${base}/api/rooms/${room}/members`, { method: 'POST', session: owner.session, body: { username: member.username } });
    await json(`${base}/api/rooms/${room}/enter`, { method: 'POST', session: owner.session, expected: 200 });
    await json(`${base}/api/rooms/${room}/enter`, { method: 'POST', session: member.session, expected: 200 });
    const head = (await json<{ seq: number }>(`${base}/api/rooms/${room}`, { session: owner.session, expected: 200 })).seq;
    // One parked observe of the member on each chatserver, directly.
    const parked = chatservers.map((entry) =>
      request(`http://127.0.0.1:${entry.port}/api/observe?rooms=${room}:${head}&wait=20`, { session: member.session, timeoutMs: 25_000 }),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const kickAnswered = Date.now();
    expect((await request(`${base}/api/rooms/${room}/members/${member.username}`, { method: 'DELETE', session: owner.session })).status).to.equal(204);
    for (const answer of await Promise.all(parked)) {
      expect(answer.status).to.equal(200);
      const events = (JSON.parse(answer.text) as { events: ChatEvent[] }).events;
      expect(events.map((event) => event.type)).to.deep.equal(['kick']);
    }
    await json(`${base}/api/rooms/${room}/say`, { method: 'POST', session: owner.session, body: { text: 'after the kick' }, expected: 201 });
    for (const entry of chatservers) {
      const next = await request(`http://127.0.0.1:${entry.port}/api/observe?rooms=${room}:${head + 1}&wait=0`, { session: member.session });
      expect(next.status, next.text).to.equal(400);
      expect(next.text).to.not.include('after the kick');
      const fresh = await request(`http://127.0.0.1:${entry.port}/api/observe?rooms=${room}&wait=0`, { session: member.session });
      expect(JSON.parse(fresh.text)).to.deep.equal({ events: [], cursor: `${room}:0` });
      // Waits for the owner's next event (answered at once when it is there): the
      // say was acknowledged, its notify to this chatserver may still be on its way.
      const ownerView = await request(`http://127.0.0.1:${entry.port}/api/observe?rooms=${room}:${head + 1}&wait=5`, { session: owner.session, timeoutMs: 10_000 });
      expect((JSON.parse(ownerView.text) as { events: ChatEvent[] }).events.map((event) => event.type)).to.deep.equal(['message']);
    }
    expect(Date.now() - kickAnswered).to.be.below(1000);
  });

  it('refuses a revoked bot token at once on the web tier and on every chatserver', async () => {
    const base = fixture.cluster.publicUrl;
    const chatservers = readClusterFile(join(fixture.cluster.runDir, 'cluster.json')).filter((entry) => entry.role === 'chatserver');
    const owner = await account('owner');
    const room = uniqueRoom('bots');
    await json(`${base}/api/rooms`, { method: 'POST', session: owner.session, body: { name: room, visibility: 'private' }, expected: 201 });
    const created = await json<{ id: string; token: string }>(`${base}/api/tokens`, { method: 'POST', session: owner.session, body: { name: 'ci' }, expected: 201 });
    await json(`${base}/api/rooms/${room}/enter`, { method: 'POST', session: created.token, expected: 200 });
    const said = await json<{ event: ChatEvent }>(`${base}/api/rooms/${room}/say`, { method: 'POST', session: created.token, body: { text: 'beep' }, expected: 201 });
    expect(said.event).to.deep.include({ bot: true, user: owner.username, nickname: 'ci' });
    const head = said.event.seq;
    const parked = chatservers.map((entry) =>
      request(`http://127.0.0.1:${entry.port}/api/observe?rooms=${room}:${head}&wait=20`, { session: created.token, timeoutMs: 25_000 }),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const revokedAt = Date.now();
    expect((await request(`${base}/api/tokens/${created.id}`, { method: 'DELETE', session: owner.session })).status).to.equal(204);
    expect((await request(`${base}/api/rooms/${room}/say`, { method: 'POST', session: created.token, body: { text: 'again' } })).status).to.equal(401);
    await Promise.all(parked);
    for (const entry of chatservers) {
      const next = await request(`http://127.0.0.1:${entry.port}/api/observe?rooms=${room}&wait=0`, { session: created.token });
      expect(JSON.parse(next.text)).to.deep.equal({ events: [], cursor: `${room}:0` });
    }
    expect(Date.now() - revokedAt).to.be.below(1000);
  });
});
