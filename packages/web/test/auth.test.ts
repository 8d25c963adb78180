import { expect } from 'chai';
import { call, newSession, snapshot, startHarness, uniqueRoom, type Harness } from './harness.js';

describe('authentication and CSRF', () => {
  let harness: Harness;
  let session: string;
  let room: string;

  before(async () => {
    harness = await startHarness({ seams: 'memory' });
    session = await newSession(harness, 'alice');
    room = uniqueRoom();
    await call(harness, 'POST', `/api/rooms/${room}/enter`, { session });
  });

  after(async () => {
    await harness?.close();
  });

  const writes = (): Array<{ method: string; path: string; json?: object }> => [
    { method: 'DELETE', path: '/api/session' },
    { method: 'POST', path: '/api/nick', json: { nickname: 'mallory' } },
    { method: 'POST', path: `/api/rooms/${room}/enter` },
    { method: 'POST', path: `/api/rooms/${room}/leave` },
    { method: 'POST', path: `/api/rooms/${room}/say`, json: { text: 'hi' } },
  ];
  const writeNames = ['DELETE /api/session', 'POST /api/nick', 'enter', 'leave', 'say'];

  for (const [index, name] of writeNames.entries()) {
    it(`refuses ${name} without a session with 401 unauthorized and changes nothing`, async () => {
      const write = writes()[index]!;
      const before = await snapshot(harness, room);
      const answer = await call(harness, write.method, write.path, write.json === undefined ? {} : { json: write.json });
      expect(answer.status).to.equal(401);
      expect(answer.json.error.code).to.equal('unauthorized');
      expect(await snapshot(harness, room)).to.deep.equal(before);
    });

    it(`refuses ${name} with an unknown session with 401 unauthorized and changes nothing`, async () => {
      const write = writes()[index]!;
      const before = await snapshot(harness, room);
      const unknown = 'A'.repeat(43);
      const answer = await call(harness, write.method, write.path, { session: unknown, ...(write.json === undefined ? {} : { json: write.json }) });
      expect(answer.status).to.equal(401);
      expect(answer.json.error.code).to.equal('unauthorized');
      expect(await snapshot(harness, room)).to.deep.equal(before);
    });

    it(`refuses a cookie-authenticated ${name} without X-Requested-With with 403 csrf_required and changes nothing`, async () => {
      const write = writes()[index]!;
      const before = await snapshot(harness, room);
      const answer = await call(harness, write.method, write.path, {
        headers: { cookie: `parley_session=${session}` },
        ...(write.json === undefined ? {} : { json: write.json }),
      });
      expect(answer.status).to.equal(403);
      expect(answer.json.error.code).to.equal('csrf_required');
      expect(await snapshot(harness, room)).to.deep.equal(before);
      expect((await call(harness, 'GET', '/api/session', { session })).json).to.deep.equal({ nickname: 'alice', username: null, rooms: [room] });
    });
  }

  it('accepts a cookie-authenticated write with X-Requested-With: XMLHttpRequest', async () => {
    const answer = await call(harness, 'POST', `/api/rooms/${room}/say`, {
      headers: { cookie: `parley_session=${session}`, 'x-requested-with': 'XMLHttpRequest' },
      json: { text: 'from the browser' },
    });
    expect(answer.status).to.equal(201);
  });

  it('prefers the Authorization header over the cookie', async () => {
    const other = await newSession(harness, 'bob');
    const answer = await call(harness, 'GET', '/api/session', { session: other, headers: { cookie: `parley_session=${session}` } });
    expect(answer.json.nickname).to.equal('bob');
  });

  it('refuses an Authorization header that is not Bearer with 401 unauthorized', async () => {
    const answer = await call(harness, 'GET', '/api/session', { headers: { authorization: `Basic ${session}` } });
    expect(answer.status).to.equal(401);
    expect(answer.json.error.code).to.equal('unauthorized');
  });

  it('refuses a GET without a session with 401 unauthorized', async () => {
    const answer = await call(harness, 'GET', '/api/session');
    expect(answer.status).to.equal(401);
    expect(answer.json.error.code).to.equal('unauthorized');
  });

  it('refuses a GET with an unknown session with 401 unauthorized', async () => {
    const answer = await call(harness, 'GET', '/api/session', { session: 'B'.repeat(43) });
    expect(answer.status).to.equal(401);
    expect(answer.json.error.code).to.equal('unauthorized');
  });

  it('refuses ?session= on a JSONP GET inside the callback (session_in_url), reading nothing as the session', async () => {
    const answer = await call(harness, 'GET', `/api/session?callback=cb&session=${session}`);
    expect(answer.status).to.equal(200);
    expect(answer.text).to.match(/^\/\*\*\/cb\(\{"error":\{"code":"session_in_url"/);
    expect(answer.text).not.to.include('alice');
  });

  it('reads a JSONP GET with a Bearer session (a script loader that can set headers)', async () => {
    const answer = await call(harness, 'GET', '/api/session?callback=cb', { session });
    expect(answer.text).to.equal(`/**/cb(${JSON.stringify({ nickname: 'alice', username: null, rooms: [room] })});`);
  });

  it('refuses ?session= on a GET without callback, even beside a Bearer session, with 400 session_in_url', async () => {
    for (const name of ['session', '%73ession']) {
      const answer = await call(harness, 'GET', `/api/session?${name}=${session}`, { session });
      expect(answer.status).to.equal(400);
      expect(answer.json.error.code).to.equal('session_in_url');
    }
  });

  it('refuses ?session= on a POST with 400 session_in_url, changing nothing', async () => {
    const before = await snapshot(harness, room);
    const answer = await call(harness, 'POST', `/api/rooms/${room}/say?callback=cb&session=${session}`, { json: { text: 'hi' } });
    expect(answer.status).to.equal(400);
    expect(answer.json.error.code).to.equal('session_in_url');
    expect(await snapshot(harness, room)).to.deep.equal(before);
  });

  it('ignores the session cookie on a JSONP GET, which any page could include', async () => {
    const answer = await call(harness, 'GET', '/api/session?callback=cb', { headers: { cookie: `parley_session=${session}` } });
    expect(answer.status).to.equal(200);
    expect(answer.text).to.match(/^\/\*\*\/cb\(\{"error":\{"code":"unauthorized"/);
  });
});
