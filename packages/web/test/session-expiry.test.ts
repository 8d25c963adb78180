import { expect } from 'chai';
import { PRESENCE_EXPIRE_PATH } from '@parley/protocol';
import { hashSessionToken, signRequest } from '@parley/protocol/node';
import { TEST_SECRET, call, newSession, snapshot, startHarness, uniqueRoom, type Harness } from './harness.js';

const MINUTE = 60_000;
const TTL = 60 * MINUTE;

describe('session expiry and logout', () => {
  let harness: Harness;
  let clock = Date.now();

  before(async () => {
    harness = await startHarness({ seams: 'memory', now: () => clock, env: { PARLEY_SESSION_TTL_MS: String(TTL) } });
  });

  after(async () => {
    await harness?.close();
  });

  async function enteredSession(room: string, nickname: string): Promise<string> {
    const session = await newSession(harness, nickname);
    expect((await call(harness, 'POST', `/api/rooms/${room}/enter`, { session })).status).to.equal(200);
    return session;
  }

  async function occupants(room: string): Promise<string[]> {
    const answer = await call(harness, 'GET', `/api/rooms/${room}`);
    return (answer.json.occupants as Array<{ nickname: string }>).map((occupant) => occupant.nickname).sort();
  }

  it('keeps a session that is used within the TTL (sliding expiry)', async () => {
    const session = await newSession(harness, 'regular');
    for (let step = 0; step < 3; step++) {
      clock += TTL - MINUTE;
      expect((await call(harness, 'GET', '/api/session', { session })).status).to.equal(200);
    }
  });

  it('refuses a session unused for longer than the TTL with 401 session_expired everywhere, changing nothing', async () => {
    const room = uniqueRoom();
    const session = await enteredSession(room, 'sleeper');
    clock += TTL + 1;
    const read = await call(harness, 'GET', '/api/session', { session });
    expect(read.status).to.equal(401);
    expect(read.json.error.code).to.equal('session_expired');
    const before = await snapshot(harness, room);
    const say = await call(harness, 'POST', `/api/rooms/${room}/say`, { session, json: { text: 'late' } });
    expect(say.status).to.equal(401);
    expect(say.json.error.code).to.equal('session_expired');
    expect(await snapshot(harness, room)).to.deep.equal(before);
    const jsonp = await call(harness, 'GET', '/api/session?callback=cb', { session });
    expect(jsonp.text).to.match(/^\/\*\*\/cb\(\{"error":\{"code":"session_expired"/);
    // Being refused does not revive it.
    expect((await call(harness, 'GET', '/api/session', { session })).json.error.code).to.equal('session_expired');
  });

  it('is not revived by the presence sweeper leaving it from a room', async () => {
    const room = uniqueRoom();
    const session = await enteredSession(room, 'unobserved');
    clock += TTL + 1;
    const body = JSON.stringify({ room, tokenHashes: [hashSessionToken(session)] });
    const headers = { 'content-type': 'application/json', ...signRequest(TEST_SECRET, { method: 'POST', path: PRESENCE_EXPIRE_PATH, body }) };
    expect((await call(harness, 'POST', PRESENCE_EXPIRE_PATH, { body, headers })).json).to.deep.equal({ left: 1 });
    expect((await call(harness, 'GET', '/api/session', { session })).json.error.code).to.equal('session_expired');
  });

  it('logs an expired session out with 204 and a cleared cookie', async () => {
    const room = uniqueRoom();
    const session = await enteredSession(room, 'expired-leaver');
    clock += TTL + 1;
    const answer = await call(harness, 'DELETE', '/api/session', { session });
    expect(answer.status).to.equal(204);
    expect(answer.headers.get('set-cookie')).to.match(/^parley_session=; .*Max-Age=0/);
    expect(await occupants(room)).to.deep.equal([]);
    expect((await call(harness, 'GET', '/api/session', { session })).json.error.code).to.equal('unauthorized');
  });

  it('purges expired sessions: they leave their rooms with a leave event and become unknown', async () => {
    const room = uniqueRoom();
    const expired = await enteredSession(room, 'gone');
    clock += TTL - MINUTE;
    const active = await enteredSession(room, 'here');
    clock += 2 * MINUTE;
    const head = (await harness.store.roomSeq(room)) ?? 0;
    expect(await harness.web.purger.runOnce()).to.be.at.least(1);
    expect(await occupants(room)).to.deep.equal(['here']);
    const events = await harness.store.readEvents(room, { after: head, limit: 10 });
    expect(events.map((event) => `${event.type}:${event.nickname}`)).to.deep.equal(['leave:gone']);
    const read = await call(harness, 'GET', '/api/session', { session: expired });
    expect(read.status).to.equal(401);
    expect(read.json.error.code).to.equal('unauthorized');
    expect((await call(harness, 'GET', '/api/session', { session: active })).status).to.equal(200);
  });
});
