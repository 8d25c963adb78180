import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { presenceKey, presenceRoomsKey } from '@parley/protocol';
import { hashSessionToken } from '@parley/protocol/node';
import { startChatFixture, startRedisFixture, useChatFixture, waitFor, type ChatFixture } from './support/harness.js';

/** A token shaped like the web tier's (the chatserver never checks it against the database). */
const newToken = (): string => randomBytes(32).toString('base64url');

async function observe(fixture: ChatFixture, query: string, headers: Record<string, string> = {}): Promise<number> {
  const response = await fetch(fixture.observeUrl(query), { headers, signal: AbortSignal.timeout(8000) });
  await response.text();
  return response.status;
}

describe('chatserver presence', () => {
  const suite = useChatFixture({ eachTest: false });
  let fixture: ChatFixture | undefined;

  afterEach(() => {
    fixture = undefined;
  });

  const current = (): ChatFixture => {
    if (fixture === undefined) throw new Error('no chatserver started');
    return fixture;
  };

  const seenAt = async (room: string, token: string): Promise<number | undefined> => {
    const score = await current().redis.zscore(presenceKey(current().prefix, room), hashSessionToken(token));
    return score === null ? undefined : Number(score);
  };

  /** The entry's score once there is one (entries are written on the next event-loop turn). */
  const firstSeenAt = async (room: string, token: string): Promise<number> => {
    await waitFor(async () => (await seenAt(room, token)) !== undefined, 2000, `presence entry in ${room}`);
    return (await seenAt(room, token)) ?? 0;
  };

  describe('with the default refresh', () => {
    beforeEach(async () => {
      fixture = await suite.start();
    });

    for (const [form, carry] of [
      ['an Authorization: Bearer header', (token: string) => ({ query: '', headers: { authorization: `Bearer ${token}` } })],
      ['the parley_session cookie', (token: string) => ({ query: '', headers: { cookie: `theme=dark; parley_session=${token}` } })],
    ] as const) {
      it(`records a session carried in ${form} as seen in every room of its cursor`, async () => {
        const token = newToken();
        const { query, headers } = carry(token);
        const before = Date.now();
        expect(await observe(current(), `rooms=lobby,dev&wait=0${query}`, headers)).to.equal(200);
        await waitFor(async () => (await seenAt('dev', token)) !== undefined, 2000, 'presence entry');
        for (const room of ['lobby', 'dev']) expect(await seenAt(room, token)).to.be.within(before, Date.now());
        expect((await current().redis.smembers(presenceRoomsKey(current().prefix))).sort()).to.deep.equal(['dev', 'lobby']);
      });
    }

    it('records nothing for an anonymous observe, a token of the wrong shape or a JSONP observe with only a cookie', async () => {
      const token = newToken();
      expect(await observe(current(), 'rooms=lobby&wait=0')).to.equal(200);
      expect(await observe(current(), 'rooms=lobby&wait=0', { authorization: 'Bearer short' })).to.equal(200);
      expect(await observe(current(), 'rooms=lobby&wait=0&callback=cb', { cookie: `parley_session=${token}` })).to.equal(200);
      // A later, recorded observe proves the earlier ones had their chance to write.
      const marker = newToken();
      await observe(current(), `rooms=lobby&wait=0`, { authorization: `Bearer ${marker}` });
      await waitFor(async () => (await seenAt('lobby', marker)) !== undefined, 2000, 'marker entry');
      expect(await current().redis.zrange(presenceKey(current().prefix, 'lobby'), 0, -1)).to.deep.equal([hashSessionToken(marker)]);
    });

    it('records a parked observe again when it is answered', async () => {
      const token = newToken();
      const answered = observe(current(), `rooms=lobby:0&wait=10`, { authorization: `Bearer ${token}` });
      await current().waitForParked(1);
      const arrivedAt = await firstSeenAt('lobby', token);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await current().notify(current().web.addMessages('lobby', 1))).to.equal(204);
      expect(await answered).to.equal(200);
      await waitFor(async () => ((await seenAt('lobby', token)) ?? 0) > arrivedAt, 2000, 'entry refreshed on answer');
    });
  });

  it('sees parked observers again while they wait (one timer, every min(30 s, timeout / 4))', async () => {
    fixture = await suite.start({ PARLEY_PRESENCE_TIMEOUT_MS: '1000' });
    const tokens = [newToken(), newToken()];
    const parked = tokens.map((token) => observe(current(), `rooms=lobby:0&wait=3`, { authorization: `Bearer ${token}` }));
    await current().waitForParked(2);
    const first = await Promise.all(tokens.map((token) => firstSeenAt('lobby', token)));
    // Refreshed every 250 ms while parked: both scores move on long before the 3 s hold ends.
    await waitFor(
      async () => (await Promise.all(tokens.map((token) => seenAt('lobby', token)))).every((score, i) => (score ?? 0) >= (first[i] ?? 0) + 400),
      2000,
      'parked entries refreshed',
    );
    expect(current().chat.stats().parkedObservers).to.equal(2);
    expect(await Promise.all(parked)).to.deep.equal([200, 200]);
  });

  it('still answers observes while Redis is down', async () => {
    // Its own Redis: this test stops it.
    const ownRedis = await startRedisFixture();
    const chat = await startChatFixture(ownRedis.server.url);
    chat.redis.on('error', () => undefined); // the outage is the point of this test
    try {
      await ownRedis.server.stop();
      const started = Date.now();
      expect(await observe(chat, `rooms=lobby&wait=1`, { authorization: `Bearer ${newToken()}` })).to.equal(200);
      expect(Date.now() - started).to.be.below(3000);
    } finally {
      await chat.close();
      await ownRedis.stop().catch(() => undefined);
    }
  });
});
