import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { hashSessionToken } from '@parley/protocol/node';
import { bearer, get, useChatFixture, type ChatFixture, type ObserveResult } from './support/harness.js';

describe('observe', () => {
  const { fixture } = useChatFixture();

  it('answers a parked observe when a signed notify arrives, with the exact events and cursor', async () => {
    fixture.web.addMessages('lobby', 3);
    const answer = get(fixture.observeUrl('rooms=lobby:3&wait=10'));
    await fixture.waitForParked(1);
    const added = fixture.web.addMessages('lobby', 2);
    expect(await fixture.notify(added)).to.equal(204);
    const result = await answer;
    expect(result.status).to.equal(200);
    expect(JSON.parse(result.text)).to.deep.equal({ events: added, cursor: 'lobby:5' });
  });

  it('sends JSON with no-store, nosniff and open CORS headers', async () => {
    const result = await get(fixture.observeUrl('rooms=lobby&wait=0'));
    expect(result.headers.get('content-type')).to.equal('application/json; charset=utf-8');
    expect(result.headers.get('cache-control')).to.equal('no-store');
    expect(result.headers.get('x-content-type-options')).to.equal('nosniff');
    expect(result.headers.get('access-control-allow-origin')).to.equal('*');
    expect(result.headers.get('referrer-policy')).to.equal('same-origin');
    expect(result.headers.get('x-frame-options')).to.equal('DENY');
  });

  it('shares one cached answer per cursor, behind the head or woken, and drops it when its room advances', async () => {
    // Notified, so the buffers hold every event and any answer can be cached.
    expect(await fixture.notify([...fixture.web.addMessages('lobby', 5), ...fixture.web.addMessages('dev', 5)])).to.equal(204);
    expect(fixture.chat.stats().cachedAnswerBytes).to.equal(0);
    // Clients behind the head at one cursor (a busy room: they came back after
    // the next event) share one answer: the second costs no new cache bytes.
    const behind = await get(fixture.observeUrl('rooms=lobby:2,dev:3&wait=0'));
    expect(JSON.parse(behind.text).cursor).to.equal('lobby:5,dev:5');
    expect(JSON.parse(behind.text).events.map((event: { seq: number }) => event.seq)).to.deep.equal([3, 4, 5, 4, 5]);
    const bytesAfterOne = fixture.chat.stats().cachedAnswerBytes;
    expect(bytesAfterOne).to.be.above(0);
    expect((await get(fixture.observeUrl('rooms=lobby:2,dev:3&wait=0'))).text).to.equal(behind.text);
    expect(fixture.chat.stats().cachedAnswerBytes).to.equal(bytesAfterOne);
    // Woken observers at one cursor share one answer too.
    const first = get(fixture.observeUrl('rooms=lobby:5&wait=10'));
    const second = get(fixture.observeUrl('rooms=lobby:5&wait=10'));
    await fixture.waitForParked(2);
    const added = fixture.web.addMessages('lobby', 1);
    expect(await fixture.notify(added)).to.equal(204);
    const expected = { events: added, cursor: 'lobby:6' };
    expect(JSON.parse((await first).text)).to.deep.equal(expected);
    expect(JSON.parse((await second).text)).to.deep.equal(expected);
    // The lobby advanced: the answer cached at lobby:2 was dropped, and the
    // same cursor now gets the new event as well.
    const again = JSON.parse((await get(fixture.observeUrl('rooms=lobby:2,dev:3&wait=0'))).text);
    expect(again.events.map((event: { seq: number }) => event.seq)).to.deep.equal([3, 4, 5, 6, 4, 5]);
    expect(again.cursor).to.equal('lobby:6,dev:5');
    // A client coming back late with the woken cursor gets the same shared answer.
    expect(JSON.parse((await get(fixture.observeUrl('rooms=lobby:5&wait=0'))).text)).to.deep.equal(expected);
  });

  it('leaves observers of other rooms parked', async () => {
    const lobby = get(fixture.observeUrl('rooms=lobby:0&wait=10'));
    void get(fixture.observeUrl('rooms=dev:0&wait=10')).catch(() => undefined);
    await fixture.waitForParked(2);
    expect(await fixture.notify(fixture.web.addMessages('lobby', 1))).to.equal(204);
    expect(JSON.parse((await lobby).text).cursor).to.equal('lobby:1');
    expect(fixture.chat.stats().parkedObservers).to.equal(1);
  });

  it('resolves a bare room to its head, so only newer events are delivered', async () => {
    fixture.web.addMessages('lobby', 4);
    const answer = get(fixture.observeUrl('rooms=lobby&wait=10'));
    await fixture.waitForParked(1);
    const added = fixture.web.addMessages('lobby', 1);
    await fixture.notify(added);
    expect(JSON.parse((await answer).text)).to.deep.equal({ events: added, cursor: 'lobby:5' });
  });

  it('answers at once with every room that has news, grouped in cursor order', async () => {
    const lobby = fixture.web.addMessages('lobby', 3);
    const dev = fixture.web.addMessages('dev', 2);
    fixture.web.addMessages('quiet', 1);
    const result = await get(fixture.observeUrl('rooms=dev:0,quiet:1,lobby:1&wait=10'));
    expect(result.elapsedMs).to.be.below(1000);
    expect(JSON.parse(result.text)).to.deep.equal({
      events: [...dev, lobby[1], lobby[2]],
      cursor: 'dev:2,quiet:1,lobby:3',
    });
  });

  it('wakes a multi-room observe for an event in any of its rooms', async () => {
    fixture.web.addMessages('dev', 2);
    const answer = get(fixture.observeUrl('rooms=lobby:0,dev:2&wait=10'));
    await fixture.waitForParked(1);
    const added = fixture.web.addMessages('dev', 1);
    await fixture.notify(added);
    expect(JSON.parse((await answer).text)).to.deep.equal({ events: added, cursor: 'lobby:0,dev:3' });
  });

  it('drops a duplicate notify, so an event is never delivered twice', async () => {
    const first = fixture.web.addMessages('lobby', 1);
    const firstAnswer = get(fixture.observeUrl('rooms=lobby:0&wait=10'));
    // The room is loaded with head 1 from the stand-in, so it answers at once.
    expect(JSON.parse((await firstAnswer).text)).to.deep.equal({ events: first, cursor: 'lobby:1' });
    const second = get(fixture.observeUrl('rooms=lobby:1&wait=10'));
    await fixture.waitForParked(1);
    expect(await fixture.notify(first)).to.equal(204);
    const next = fixture.web.addMessages('lobby', 1);
    expect(await fixture.notify([...first, ...next])).to.equal(204);
    expect(JSON.parse((await second).text)).to.deep.equal({ events: next, cursor: 'lobby:2' });
  });

  it('repairs a gap from the web tier before answering, never with a hole', async () => {
    fixture.web.addMessages('lobby', 1);
    const answer = get(fixture.observeUrl('rooms=lobby:1&wait=10'));
    await fixture.waitForParked(1);
    const added = fixture.web.addMessages('lobby', 2);
    // Only seq 3 is notified; seq 2 must come from the web tier.
    expect(await fixture.notify([added[1]!])).to.equal(204);
    expect(JSON.parse((await answer).text)).to.deep.equal({ events: added, cursor: 'lobby:3' });
    expect(fixture.web.served).to.include('/internal/rooms/lobby/events?after=1&limit=500');
  });

  it('serves a cursor older than the buffer from the web tier', async () => {
    const all = fixture.web.addMessages('lobby', 5);
    // Loads the room at head 5: its buffer holds nothing older.
    await get(fixture.observeUrl('rooms=lobby&wait=0'));
    const result = await get(fixture.observeUrl('rooms=lobby:2&wait=10'));
    expect(JSON.parse(result.text)).to.deep.equal({ events: all.slice(2), cursor: 'lobby:5' });
    expect(fixture.web.served).to.include('/internal/rooms/lobby/events?after=2&limit=500');
  });

  it('gives at most 500 events per room and a cursor to continue from', async () => {
    fixture.web.addMessages('lobby', 600);
    const first = JSON.parse((await get(fixture.observeUrl('rooms=lobby:0&wait=10'))).text);
    expect(first.events).to.have.length(500);
    expect(first.cursor).to.equal('lobby:500');
    const second = JSON.parse((await get(fixture.observeUrl(`rooms=${first.cursor}&wait=10`))).text);
    expect(second.events.map((event: { seq: number }) => event.seq)).to.deep.equal(
      Array.from({ length: 100 }, (_, index) => 501 + index),
    );
    expect(second.cursor).to.equal('lobby:600');
  });

  it('serves recent events from the buffer without asking the web tier', async () => {
    const answer = get(fixture.observeUrl('rooms=lobby:0&wait=10'));
    await fixture.waitForParked(1);
    const added = fixture.web.addMessages('lobby', 3);
    await fixture.notify(added);
    await answer;
    const servedBefore = fixture.web.served.length;
    const result = await get(fixture.observeUrl('rooms=lobby:1&wait=10'));
    expect(JSON.parse(result.text)).to.deep.equal({ events: added.slice(1), cursor: 'lobby:3' });
    expect(fixture.web.served.length).to.equal(servedBefore);
  });

  it('refuses a cursor ahead of the room with 400 invalid_cursor', async () => {
    fixture.web.addMessages('lobby', 3);
    const result = await get(fixture.observeUrl('rooms=lobby:7&wait=10'));
    expect(result.status).to.equal(400);
    expect(JSON.parse(result.text).error.code).to.equal('invalid_cursor');
  });

  it('catches up from the web tier when a cursor is ahead only because this chatserver lags', async () => {
    fixture.web.addMessages('lobby', 3);
    await get(fixture.observeUrl('rooms=lobby&wait=0'));
    fixture.web.addMessages('lobby', 2);
    const result = await get(fixture.observeUrl('rooms=lobby:5&wait=1'));
    expect(result.status).to.equal(200);
    expect(JSON.parse(result.text)).to.deep.equal({ events: [], cursor: 'lobby:5' });
  });

  it('answers wait=1 with no events and the same cursor after about a second', async () => {
    fixture.web.addMessages('lobby', 2);
    const result = await get(fixture.observeUrl('rooms=lobby:2,dev&wait=1'));
    expect(JSON.parse(result.text)).to.deep.equal({ events: [], cursor: 'lobby:2,dev:0' });
    expect(result.elapsedMs).to.be.within(850, 1500);
  });

  describe('a hold carried in hops (X-Parley-Observe-Hop, as nginx sends)', () => {
    const hop = { 'x-parley-observe-hop': '1' };

    it('ends a hop with nothing to answer by handing nginx the same observe from its resolved cursor with the rest of the wait', async () => {
      fixture.web.addMessages('lobby', 2);
      const result = await get(fixture.observeUrl('rooms=lobby,dev&wait=20&callback=cb&ticket=T1'), 5000, hop);
      expect(result.status).to.equal(200);
      expect(result.elapsedMs).to.be.within(850, 1500);
      expect(result.text).to.equal('');
      const target = result.headers.get('x-accel-redirect') ?? '';
      expect(target.startsWith('/api/observe?')).to.equal(true);
      // The bare room is pinned at the head it had, so nothing said between hops is skipped.
      expect(Object.fromEntries(new URLSearchParams(target.slice('/api/observe?'.length)))).to.deep.equal({
        rooms: 'lobby:2,dev:0',
        wait: '19',
        callback: 'cb',
        ticket: 'T1',
      });
      expect(fixture.chat.stats().parkedObservers).to.equal(0);
    });

    it('answers with the events when one arrives during a hop, as without hops', async () => {
      const answer = get(fixture.observeUrl('rooms=lobby:0&wait=20'), 5000, { 'x-parley-observe-hop': '5' });
      await fixture.waitForParked(1);
      const added = fixture.web.addMessages('lobby', 1);
      expect(await fixture.notify(added)).to.equal(204);
      const result = await answer;
      expect(result.headers.get('x-accel-redirect')).to.equal(null);
      expect(JSON.parse(result.text)).to.deep.equal({ events: added, cursor: 'lobby:1' });
    });

    it('holds a wait within the hop, and ignores a hop that is not a whole number of seconds from 1 to 55', async () => {
      for (const headers of [hop, { 'x-parley-observe-hop': '0' }, { 'x-parley-observe-hop': '1.5' }, { 'x-parley-observe-hop': 'x' }]) {
        const result = await get(fixture.observeUrl('rooms=lobby:0&wait=1'), 5000, headers);
        expect(result.headers.get('x-accel-redirect')).to.equal(null);
        expect(JSON.parse(result.text)).to.deep.equal({ events: [], cursor: 'lobby:0' });
      }
    });
  });

  for (const [query, code] of [
    ['wait=5', 'invalid_cursor'],
    ['rooms=Lobby:1', 'invalid_cursor'],
    ['rooms=lobby:-1', 'invalid_cursor'],
    ['rooms=lobby:1,lobby:2', 'invalid_cursor'],
    [`rooms=${Array.from({ length: 51 }, (_, index) => `r${index}`).join(',')}`, 'invalid_cursor'],
    ['rooms=lobby&wait=56', 'invalid_parameter'],
    ['rooms=lobby&wait=abc', 'invalid_parameter'],
    ['rooms=lobby&callback=1cb', 'invalid_callback'],
    ['rooms=lobby&callback=a%3Balert(1)', 'invalid_callback'],
  ] as const) {
    it(`answers ${query.slice(0, 40)} with 400 ${code}`, async () => {
      const result = await get(fixture.observeUrl(query));
      expect(result.status).to.equal(400);
      expect(result.headers.get('content-type')).to.equal('application/json; charset=utf-8');
      expect(JSON.parse(result.text).error.code).to.equal(code);
    });
  }

  it('wraps a JSONP answer exactly as /**/cb({...}); with script headers and U+2028 escaped', async () => {
    const added = fixture.web.addMessages('lobby', 1, () => 'line\u2028sep\u2029end');
    const result = await get(fixture.observeUrl('rooms=lobby:0&wait=10&callback=parley.cb_1'));
    expect(result.status).to.equal(200);
    expect(result.headers.get('content-type')).to.equal('application/javascript; charset=utf-8');
    expect(result.headers.get('x-content-type-options')).to.equal('nosniff');
    expect(result.headers.get('referrer-policy')).to.equal('same-origin');
    expect(result.headers.get('cache-control')).to.equal('no-store');
    const json = JSON.stringify({ events: added, cursor: 'lobby:1' }).replace('\u2028', '\\u2028').replace('\u2029', '\\u2029');
    expect(result.text).to.equal(`/**/parley.cb_1(${json});`);
    expect(result.text).not.to.match(/[\u2028\u2029]/);
  });

  it('delivers errors inside the JSONP callback with status 200', async () => {
    const result = await get(fixture.observeUrl('rooms=lobby:x&callback=cb'));
    expect(result.status).to.equal(200);
    expect(result.headers.get('content-type')).to.equal('application/javascript; charset=utf-8');
    expect(result.text).to.match(/^\/\*\*\/cb\(\{"error":\{"code":"invalid_cursor","message":".+"\}\}\);$/);
  });

  it('answers 503 unavailable with Retry-After when the web tier cannot be reached', async () => {
    fixture.web.failWith = 500;
    const result = await get(fixture.observeUrl('rooms=lobby&wait=0'));
    expect(result.status).to.equal(503);
    expect(result.headers.get('retry-after')).to.equal('1');
    expect(JSON.parse(result.text).error.code).to.equal('unavailable');
  });

  it('refuses methods other than GET with 405 method_not_allowed', async () => {
    const response = await fetch(fixture.observeUrl('rooms=lobby'), { method: 'POST', signal: AbortSignal.timeout(5000) });
    expect(response.status).to.equal(405);
    expect(((await response.json()) as { error: { code: string } }).error.code).to.equal('method_not_allowed');
  });

  it('answers an unknown path with 404 not_found', async () => {
    const result = await get(`http://127.0.0.1:${fixture.ports.publicPort}/api/rooms`);
    expect(result.status).to.equal(404);
    expect(JSON.parse(result.text).error.code).to.equal('not_found');
  });

  it('serves /healthz on both ports', async () => {
    for (const port of [fixture.ports.publicPort, fixture.ports.internalPort]) {
      const result = await get(`http://127.0.0.1:${port}/healthz`);
      expect(result.status).to.equal(200);
      expect(JSON.parse(result.text)).to.deep.equal({ ok: true, role: 'chatserver' });
    }
  });

  it('unparks an observe whose client went away', async () => {
    const controller = new AbortController();
    const answer = fetch(fixture.observeUrl('rooms=lobby&wait=10'), { signal: controller.signal }).catch(() => undefined);
    await fixture.waitForParked(1);
    controller.abort();
    await answer;
    await fixture.waitForParked(0);
  });

  it('delivers an event notified to a room first seen by that notify to later observers', async () => {
    const added = fixture.web.addMessages('fresh', 2);
    await fixture.notify([added[1]!]);
    // Known from seq 2 only: seq 1 is older than the buffer and comes from the web tier.
    const result = await get(fixture.observeUrl('rooms=fresh:0&wait=10'));
    expect(JSON.parse(result.text)).to.deep.equal({ events: added, cursor: 'fresh:2' });
  });
});

describe('observe limits', () => {
  const suite = useChatFixture({ eachTest: false });
  let fixture: ChatFixture | undefined;

  it('answers 503 unavailable with Retry-After: 1 beyond the parked-observer limit', async () => {
    fixture = await suite.start({ PARLEY_CHAT_MAX_OBSERVERS: '1' });
    void get(fixture.observeUrl('rooms=lobby&wait=10')).catch(() => undefined);
    await fixture.waitForParked(1);
    const result = await get(fixture.observeUrl('rooms=dev&wait=10'));
    expect(result.status).to.equal(503);
    expect(result.headers.get('retry-after')).to.equal('1');
    expect(JSON.parse(result.text).error.code).to.equal('unavailable');
  });

  it('answers 429 rate_limited with Retry-After beyond a session\'s parked-observe limit, other sessions unaffected', async () => {
    fixture = await suite.start({ PARLEY_CHAT_MAX_OBSERVES_PER_SESSION: '2' });
    const alice = randomBytes(32).toString('base64url');
    const bob = randomBytes(32).toString('base64url');
    const aliceObserves = [1, 2].map(() => get(fixture!.observeUrl(`rooms=lobby:0&wait=10`), 5000, bearer(alice)));
    await fixture.waitForParked(2);
    const refused = await get(fixture.observeUrl(`rooms=lobby:0&wait=10`), 5000, bearer(alice));
    expect(refused.status).to.equal(429);
    expect(refused.headers.get('retry-after')).to.equal('5');
    expect(JSON.parse(refused.text).error.code).to.equal('rate_limited');
    const bobObserve = get(fixture.observeUrl(`rooms=dev:0&wait=10`), 5000, bearer(bob));
    const anonymous = get(fixture.observeUrl('rooms=dev:0&wait=10'));
    await fixture.waitForParked(4);
    // Once her observes are answered, alice may park again.
    await fixture.notify(fixture.web.addMessages('lobby', 1));
    for (const answer of await Promise.all(aliceObserves)) expect(answer.status).to.equal(200);
    const again = get(fixture.observeUrl(`rooms=lobby:1&wait=10`), 5000, bearer(alice));
    await fixture.waitForParked(3);
    await fixture.notify(fixture.web.addMessages('dev', 1));
    await fixture.notify(fixture.web.addMessages('lobby', 1));
    for (const answer of await Promise.all([bobObserve, anonymous, again])) expect(answer.status).to.equal(200);
  });

  it('makes one web request per observe of 50 unknown rooms and none when they come again (40 observes)', async () => {
    fixture = await suite.start();
    const session = randomBytes(32).toString('base64url');
    fixture.web.liveSessions.add(hashSessionToken(session));
    const observeOf = (index: number): Promise<ObserveResult> =>
      get(fixture!.observeUrl(`rooms=${Array.from({ length: 50 }, (_, room) => `ghost-${index}-${room}`).join(',')}&wait=0`), 5000, bearer(session));
    const first = await Promise.all(Array.from({ length: 40 }, (_, index) => observeOf(index)));
    for (const answer of first) expect(answer.status).to.equal(200);
    expect(fixture.web.served).to.have.length(40);
    expect(fixture.chat.stats().rooms).to.equal(2000);
    await Promise.all(Array.from({ length: 40 }, (_, index) => observeOf(index)));
    expect(fixture.web.served).to.have.length(40);
  });

  it('holds at most PARLEY_CHAT_MAX_ROOMS rooms, however many unknown rooms are observed', async () => {
    fixture = await suite.start({ PARLEY_CHAT_MAX_ROOMS: '120' });
    const session = randomBytes(32).toString('base64url');
    fixture.web.liveSessions.add(hashSessionToken(session));
    for (let index = 0; index < 10; index++) {
      const rooms = Array.from({ length: 50 }, (_, room) => `ghost-${index}-${room}`).join(',');
      expect((await get(fixture.observeUrl(`rooms=${rooms}&wait=0`), 5000, bearer(session))).status).to.equal(200);
      expect(fixture.chat.stats().rooms).to.be.at.most(120);
    }
  });

  it('serves a made-up session token as anonymous: past PARLEY_CHAT_MAX_ANONYMOUS_ROOMS rooms it is 400 invalid_cursor, a live session is not', async () => {
    fixture = await suite.start({ PARLEY_CHAT_MAX_ANONYMOUS_ROOMS: '3' });
    const madeUp = randomBytes(32).toString('base64url');
    const live = randomBytes(32).toString('base64url');
    fixture.web.liveSessions.add(hashSessionToken(live));
    const anonymous = await get(fixture.observeUrl('rooms=a,b,c,d&wait=0'));
    for (const token of [madeUp, madeUp]) {
      const refused = await get(fixture.observeUrl('rooms=a,b,c,d&wait=0'), 5000, bearer(token));
      expect(refused.status).to.equal(400);
      expect(refused.text).to.equal(anonymous.text);
    }
    // Nothing was loaded for the refused observes, and the token was asked about once.
    expect(fixture.web.served).to.have.length(0);
    expect(fixture.web.accessAsked.filter((asked) => asked.session === hashSessionToken(madeUp))).to.have.length(1);
    expect((await get(fixture.observeUrl('rooms=a,b,c,d&wait=0'), 5000, bearer(live))).status).to.equal(200);
    expect((await get(fixture.observeUrl('rooms=a,b,c&wait=0'), 5000, bearer(madeUp))).status).to.equal(200);
  });

  it('refuses a session token in the URL with 400 session_in_url, as JSON, inside the JSONP callback and on the stream', async () => {
    fixture = await suite.start();
    const token = randomBytes(32).toString('base64url');
    const json = await get(fixture.observeUrl(`rooms=lobby&wait=0&session=${token}`));
    expect(json.status).to.equal(400);
    expect(JSON.parse(json.text).error.code).to.equal('session_in_url');
    const jsonp = await get(fixture.observeUrl(`rooms=lobby&wait=0&callback=cb&session=${token}`));
    expect(jsonp.text).to.match(/^\/\*\*\/cb\(\{"error":\{"code":"session_in_url"/);
    const stream = await get(fixture.streamUrl(`rooms=lobby&session=${token}`));
    expect(stream.status).to.equal(400);
    expect(JSON.parse(stream.text).error.code).to.equal('session_in_url');
    // Percent-encoded, the name is still `session`.
    expect((await get(fixture.observeUrl(`rooms=lobby&wait=0&%73ession=${token}`))).status).to.equal(400);
  });

  it('refuses an anonymous observe of more than PARLEY_CHAT_MAX_ANONYMOUS_ROOMS rooms with 400 invalid_cursor and asks the web tier nothing', async () => {
    fixture = await suite.start({ PARLEY_CHAT_MAX_ANONYMOUS_ROOMS: '3' });
    const refused = await get(fixture.observeUrl('rooms=a,b,c,d&wait=0'));
    expect(refused.status).to.equal(400);
    expect(JSON.parse(refused.text).error.code).to.equal('invalid_cursor');
    expect(fixture.web.served).to.have.length(0);
    expect((await get(fixture.observeUrl('rooms=a,b,c&wait=0'))).status).to.equal(200);
  });

  it('answers every observer parked at the same cursor with the same body', async () => {
    fixture = await suite.start();
    const answers = [1, 2, 3].map(() => get(fixture!.observeUrl('rooms=lobby:0&wait=10')));
    await fixture.waitForParked(3);
    await fixture.notify(fixture.web.addMessages('lobby', 1));
    const texts = (await Promise.all(answers)).map((result) => result.text);
    expect(new Set(texts).size).to.equal(1);
  });
});
