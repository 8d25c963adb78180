import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedisServer, type RedisServerHandle } from '@parley/cluster';
import { registryKey } from '@parley/protocol';
import FakeTimers from '@sinonjs/fake-timers';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { createRegistryReader, liveChatservers } from '../src/registry-reader.js';

describe('registry reader', function () {
  let redisDir: string;
  let redisServer: RedisServerHandle;
  let redis: Redis;
  let testNumber = 0;
  let prefix: string;

  before(async function () {
    redisDir = await mkdtemp(join(tmpdir(), 'parley-registry-test-'));
    redisServer = await startRedisServer({ dir: redisDir, appendOnly: false });
    redis = new Redis(redisServer.url);
  });

  after(async function () {
    redis.disconnect();
    await redisServer.stop();
    await rm(redisDir, { recursive: true, force: true });
  });

  beforeEach(function () {
    testNumber++;
    prefix = `r${testNumber}:`;
  });

  /** Redis's clock in epoch milliseconds. */
  async function redisNow(): Promise<number> {
    const [seconds, micros] = await redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  it('lists only the chatservers whose heartbeat expires after Redis\'s now', async function () {
    const now = await redisNow();
    await redis.zadd(registryKey(prefix), now + 2000, 'http://a', now - 1, 'http://c', now + 5000, 'http://d');
    expect(await liveChatservers(redis, prefix)).to.deep.equal(['http://a', 'http://d']);
  });

  it('judges expiry by Redis\'s clock even when this host\'s clock runs 30 s ahead', async function () {
    const now = await redisNow();
    await redis.zadd(registryKey(prefix), now + 5000, 'http://a');
    const clock = FakeTimers.install({ now: Date.now() + 30_000, toFake: ['Date'] });
    try {
      expect(await liveChatservers(redis, prefix)).to.deep.equal(['http://a']);
    } finally {
      clock.uninstall();
    }
  });

  it('answers an empty list when the registry does not exist', async function () {
    expect(await liveChatservers(redis, prefix)).to.deep.equal([]);
  });

  it('reuses one lookup for calls within maxAgeMs', async function () {
    const now = Date.now();
    const reader = createRegistryReader({ redis, prefix, maxAgeMs: 250 });
    await redis.zadd(registryKey(prefix), now + 60_000, 'http://a');
    expect(await reader.live(now)).to.deep.equal(['http://a']);

    await redis.zadd(registryKey(prefix), now + 60_000, 'http://b');
    expect(await reader.live(now + 100)).to.deep.equal(['http://a']);
  });

  it('looks up again once the answer is older than maxAgeMs', async function () {
    const now = Date.now();
    const reader = createRegistryReader({ redis, prefix, maxAgeMs: 250 });
    await redis.zadd(registryKey(prefix), now + 60_000, 'http://a');
    await reader.live(now);

    await redis.zadd(registryKey(prefix), now + 60_000, 'http://b');
    expect(await reader.live(now + 300)).to.deep.equal(['http://a', 'http://b']);
  });
});
