import FakeTimers from '@sinonjs/fake-timers';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { registryKey, silentLogger } from '@parley/protocol';
import { createHeartbeat } from '../src/heartbeat.js';
import { get, useChatFixture, waitFor, type ChatFixture } from './support/harness.js';

describe('registry heartbeat', () => {
  const suite = useChatFixture({ eachTest: false });
  let fixture: ChatFixture | undefined;
  let client: Redis | undefined;

  afterEach(() => {
    fixture = undefined;
    client?.disconnect();
    client = undefined;
  });

  it('registers the advertised internal URL with a score three heartbeats ahead', async () => {
    const before = Date.now();
    fixture = await suite.start();
    const member = `http://127.0.0.1:${fixture.ports.internalPort}`;
    const score = Number(await fixture.redis.zscore(registryKey(fixture.prefix), member));
    expect(score).to.be.within(before + 3 * 200, Date.now() + 3 * 200);
  });

  it('registers PARLEY_CHAT_ADVERTISE_URL when it is set', async () => {
    fixture = await suite.start({ PARLEY_CHAT_ADVERTISE_URL: 'http://chat-1.internal:4100/' });
    expect(await fixture.redis.zrange(registryKey(fixture.prefix), 0, -1)).to.deep.equal(['http://chat-1.internal:4100']);
  });

  it('refreshes its score every heartbeat', async () => {
    fixture = await suite.start();
    const key = registryKey(fixture.prefix);
    const member = `http://127.0.0.1:${fixture.ports.internalPort}`;
    const first = Number(await fixture.redis.zscore(key, member));
    await waitFor(async () => Number(await fixture!.redis.zscore(key, member)) > first, 2000, 'a newer heartbeat');
  });

  it('leaves the registry on close() and answers parked observes at once', async () => {
    fixture = await suite.start();
    const key = registryKey(fixture.prefix);
    const answer = get(fixture.observeUrl('rooms=lobby&wait=30'));
    await fixture.waitForParked(1);
    const closedAt = Date.now();
    await fixture.chat.close();
    const result = await answer;
    expect(Date.now() - closedAt).to.be.below(1000);
    expect(result.status).to.equal(200);
    expect(JSON.parse(result.text)).to.deep.equal({ events: [], cursor: 'lobby:0' });
    expect(await fixture.redis.zcard(key)).to.equal(0);
  });

  it('scores its entry with Redis\'s clock, not a host clock running 30 s ahead', async () => {
    client = new Redis(suite.redis.server.url);
    const key = registryKey(`skew${process.pid}:`);
    const heartbeat = createHeartbeat({ redis: client, key, member: 'http://chat-skewed:1', intervalMs: 100, log: silentLogger });
    const clock = FakeTimers.install({ now: Date.now() + 30_000, toFake: ['Date'] });
    let score: number;
    try {
      await heartbeat.start();
      score = Number(await client.zscore(key, 'http://chat-skewed:1'));
    } finally {
      clock.uninstall();
      await heartbeat.leave();
    }
    const [seconds, micros] = await client.time();
    const redisNow = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    expect(score).to.be.within(redisNow - 1000 + 300, redisNow + 300);
  });

  it('reports a join on the first beat and after its entry vanished, never while it stays live', async () => {
    client = new Redis(suite.redis.server.url);
    const key = registryKey(`join${process.pid}:`);
    const joins: number[] = [];
    const heartbeat = createHeartbeat({ redis: client, key, member: 'http://chat-j:1', intervalMs: 100, log: silentLogger, onJoin: () => joins.push(Date.now()) });
    try {
      await heartbeat.start();
      expect(joins).to.have.length(1);
      // Several beats later, still one join: refreshing a live entry is no join.
      const refreshed = Number(await client.zscore(key, 'http://chat-j:1'));
      await waitFor(async () => Number(await client!.zscore(key, 'http://chat-j:1')) > refreshed + 150, 3000, 'two more beats');
      expect(joins).to.have.length(1);
      // The entry lost (a failover to a replica that never saw it): the next beat joins again.
      await client.zrem(key, 'http://chat-j:1');
      await waitFor(() => joins.length === 2, 3000, 'a second join');
      // Expired by Redis's clock (a long pause): a join too.
      await client.zadd(key, '1', 'http://chat-j:1');
      await waitFor(() => joins.length === 3, 3000, 'a third join');
    } finally {
      await heartbeat.leave();
    }
  });

  it('keeps beating through a Redis outage and is registered again once Redis is back', async () => {
    client = new Redis(suite.redis.server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    await waitFor(() => client!.status === 'ready', 2000, 'redis connection');
    const key = registryKey(`outage${process.pid}:`);
    const heartbeat = createHeartbeat({ redis: client, key, member: 'http://chat-x:1', intervalMs: 100, log: silentLogger });
    try {
      await heartbeat.start();
      await suite.redis.server.stop();
      // Let a few beats fail while Redis is gone.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await suite.redis.server.start();
      await waitFor(async () => {
        const checker = new Redis(suite.redis.server.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
        try {
          await checker.connect();
          return (await checker.zscore(key, 'http://chat-x:1')) !== null;
        } catch {
          return false;
        } finally {
          checker.disconnect();
        }
      }, 8000, 'the heartbeat to come back');
    } finally {
      await heartbeat.leave();
    }
  });
});
