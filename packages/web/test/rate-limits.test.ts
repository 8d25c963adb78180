import { expect } from 'chai';
import { call, snapshot, startHarness, uniqueRoom, type Answer, type RedisHarness } from './harness.js';

let addressCounter = 0;
/** A client address no other test uses; the harness's loopback peer is a trusted proxy, so X-Real-IP counts. */
function uniqueAddress(): string {
  addressCounter += 1;
  return `10.9.${Math.floor(addressCounter / 250)}.${addressCounter % 250}`;
}

function expectRateLimited(answer: Answer): void {
  expect(answer.status, answer.text).to.equal(429);
  expect(answer.json.error.code).to.equal('rate_limited');
  const retryAfter = Number(answer.headers.get('retry-after'));
  expect(retryAfter).to.be.within(1, 60);
}

describe('rate limits', () => {
  let harness: RedisHarness;

  before(async () => {
    harness = await startHarness({
      rateLimits: true,
      env: {
        PARLEY_RATE_SAY_PER_SESSION: '3',
        PARLEY_RATE_SAY_PER_IP: '5',
        PARLEY_RATE_SESSION_PER_IP: '2',
        PARLEY_RATE_ENTER_PER_SESSION: '2',
        PARLEY_RATE_SIGNUP_PER_IP: '2',
        PARLEY_RATE_SIGNIN_PER_IP: '3',
      },
    });
  });

  after(async () => {
    await harness?.close();
  });

  async function newSessionFrom(ip: string, nickname = 'alice'): Promise<string> {
    const answer = await call(harness, 'POST', '/api/session', { json: { nickname }, headers: { 'x-real-ip': ip } });
    expect(answer.status, answer.text).to.equal(201);
    return answer.json.session as string;
  }

  async function enteredSession(ip: string, room: string): Promise<string> {
    const session = await newSessionFrom(ip);
    expect((await call(harness, 'POST', `/api/rooms/${room}/enter`, { session, headers: { 'x-real-ip': ip } })).status).to.equal(200);
    return session;
  }

  const say = (session: string, room: string, ip: string, body: Record<string, unknown> = { text: 'hi' }) =>
    call(harness, 'POST', `/api/rooms/${room}/say`, { session, json: body, headers: { 'x-real-ip': ip } });

  it('answers the say over a session\'s limit 429 rate_limited with Retry-After, and stores nothing', async () => {
    const ip = uniqueAddress();
    const room = uniqueRoom();
    const session = await enteredSession(ip, room);
    for (let i = 0; i < 3; i++) expect((await say(session, room, ip)).status).to.equal(201);
    const before = await snapshot(harness, room);
    expectRateLimited(await say(session, room, ip));
    expect(await snapshot(harness, room)).to.deep.equal(before);
  });

  it('limits says per client address across sessions', async () => {
    const ip = uniqueAddress();
    const room = uniqueRoom();
    const first = await enteredSession(ip, room);
    const second = await enteredSession(ip, room);
    for (let i = 0; i < 3; i++) expect((await say(first, room, ip)).status).to.equal(201);
    expect((await say(second, room, ip)).status).to.equal(201);
    expect((await say(second, room, ip)).status).to.equal(201);
    expectRateLimited(await say(second, room, ip));
  });

  it('does not charge an idempotent repeat of a say (same clientId)', async () => {
    const ip = uniqueAddress();
    const room = uniqueRoom();
    const session = await enteredSession(ip, room);
    const first = await say(session, room, ip, { text: 'once', clientId: 'c-1' });
    for (let i = 0; i < 4; i++) {
      const repeat = await say(session, room, ip, { text: 'once', clientId: 'c-1' });
      expect(repeat.status).to.equal(201);
      expect(repeat.json.event).to.deep.equal(first.json.event);
    }
    expect((await say(session, room, ip, { text: 'two' })).status).to.equal(201);
    expect((await say(session, room, ip, { text: 'three' })).status).to.equal(201);
    expectRateLimited(await say(session, room, ip, { text: 'four' }));
  });

  it('does not charge a say that fails validation', async () => {
    const ip = uniqueAddress();
    const room = uniqueRoom();
    const session = await enteredSession(ip, room);
    for (let i = 0; i < 5; i++) expect((await say(session, room, ip, { text: '' })).status).to.equal(400);
    for (let i = 0; i < 3; i++) expect((await say(session, room, ip)).status).to.equal(201);
  });

  it('limits sessions created per client address', async () => {
    const ip = uniqueAddress();
    await newSessionFrom(ip);
    await newSessionFrom(ip);
    expectRateLimited(await call(harness, 'POST', '/api/session', { json: { nickname: 'third' }, headers: { 'x-real-ip': ip } }));
  });

  it('limits sign-ups per client address, and refuses the next one with 429 before creating it', async () => {
    const ip = uniqueAddress();
    const signUp = (username: string) =>
      call(harness, 'POST', '/api/accounts', { json: { username, password: 'long enough password' }, headers: { 'x-real-ip': ip } });
    const base = `rl${Math.random().toString(36).slice(2, 8)}`;
    expect((await signUp(`${base}a`)).status).to.equal(201);
    expect((await signUp(`${base}b`)).status).to.equal(201);
    expectRateLimited(await signUp(`${base}c`));
    expect(await harness.store.findAccount(`${base}c`)).to.equal(undefined);
  });

  it('limits sign-in attempts per client address, right or wrong, so passwords cannot be guessed fast', async () => {
    const ip = uniqueAddress();
    const username = `rl${Math.random().toString(36).slice(2, 8)}`;
    expect((await call(harness, 'POST', '/api/accounts', { json: { username, password: 'long enough password' } })).status).to.equal(201);
    const signIn = (password: string) =>
      call(harness, 'POST', '/api/session', { json: { username, password }, headers: { 'x-real-ip': ip } });
    expect((await signIn('wrong password 1')).status).to.equal(401);
    expect((await signIn('wrong password 2')).status).to.equal(401);
    expect((await signIn('long enough password')).status).to.equal(201);
    expectRateLimited(await signIn('long enough password'));
    // Another address is not affected.
    expect((await call(harness, 'POST', '/api/session', { json: { username, password: 'long enough password' } })).status).to.equal(201);
  });

  it('limits enters per session', async () => {
    const ip = uniqueAddress();
    const session = await newSessionFrom(ip);
    expect((await call(harness, 'POST', `/api/rooms/${uniqueRoom()}/enter`, { session })).status).to.equal(200);
    expect((await call(harness, 'POST', `/api/rooms/${uniqueRoom()}/enter`, { session })).status).to.equal(200);
    const room = uniqueRoom();
    expectRateLimited(await call(harness, 'POST', `/api/rooms/${room}/enter`, { session }));
    expect((await call(harness, 'GET', `/api/rooms/${room}`)).status).to.equal(404);
  });

  it('keeps the counters in Redis, shared by every web process', async () => {
    const ip = uniqueAddress();
    await newSessionFrom(ip);
    const keys = await harness.connection.keys(`${harness.config.redisPrefix}rl:sessionPerIp:${ip}`);
    expect(keys).to.have.length(1);
    expect(await harness.connection.get(keys[0] as string)).to.equal('1');
  });

  it('keeps answering says 201 during a Redis outage, limited per process', async () => {
    const ip = uniqueAddress();
    const room = uniqueRoom();
    const session = await enteredSession(ip, room);
    await harness.redis.stop();
    try {
      for (let i = 0; i < 3; i++) expect((await say(session, room, ip)).status).to.equal(201);
      expectRateLimited(await say(session, room, ip));
    } finally {
      await harness.redis.start();
    }
  });

  it('keeps answering says 201 while Redis hangs, limited per process', async () => {
    const ip = uniqueAddress();
    const room = uniqueRoom();
    const session = await enteredSession(ip, room);
    const pid = harness.redis.pid as number;
    process.kill(pid, 'SIGSTOP');
    try {
      for (let i = 0; i < 3; i++) expect((await say(session, room, ip)).status).to.equal(201);
      expectRateLimited(await say(session, room, ip));
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  });
});

describe('rate limits and untrusted forwarding headers', () => {
  let harness: RedisHarness;

  before(async () => {
    harness = await startHarness({
      rateLimits: true,
      env: { PARLEY_RATE_SESSION_PER_IP: '2', PARLEY_TRUSTED_PROXIES: 'none' },
    });
  });

  after(async () => {
    await harness?.close();
  });

  it('ignores X-Real-IP from a peer that is not a trusted proxy', async () => {
    for (const ip of ['10.1.1.1', '10.1.1.2']) {
      expect((await call(harness, 'POST', '/api/session', { json: { nickname: 'a' }, headers: { 'x-real-ip': ip } })).status).to.equal(201);
    }
    expectRateLimited(await call(harness, 'POST', '/api/session', { json: { nickname: 'a' }, headers: { 'x-real-ip': '10.1.1.3' } }));
  });

  it('ignores X-Forwarded-Proto from a peer that is not a trusted proxy: no HSTS, no Secure cookie', async () => {
    const answer = await call(harness, 'GET', '/api/rooms', { headers: { 'x-forwarded-proto': 'https' } });
    expect(answer.status).to.equal(200);
    expect(answer.headers.get('strict-transport-security')).to.equal(null);
  });
});
