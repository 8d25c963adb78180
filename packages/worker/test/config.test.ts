import { ConfigError } from '@parley/protocol/node';
import { expect } from 'chai';
import { loadConfig } from '../src/config.js';
import { TEST_SECRET } from './stub-chatserver.js';

describe('worker loadConfig', function () {
  it('fills in the documented defaults', function () {
    expect(loadConfig({ PARLEY_SECRET: TEST_SECRET })).to.deep.equal({
      redisUrl: 'redis://127.0.0.1:6379',
      redisSentinels: [],
      redisMaster: 'parley',
      redisPrefix: 'parley:',
      secret: TEST_SECRET,
      logLevel: 'info',
      metricsToken: '',
      host: '127.0.0.1',
      port: 3900,
      concurrency: 50,
      notifyBatchEvents: 1000,
      notifyTimeoutMs: 2000,
      notifyAttempts: 8,
      webUrls: ['http://127.0.0.1:3000'],
      presenceTimeoutMs: 120_000,
      presenceSweepMs: 10_000,
    });
  });

  it('reads every variable it knows', function () {
    const config = loadConfig({
      PARLEY_SECRET: TEST_SECRET,
      PARLEY_REDIS_URL: 'redis://10.0.0.5:6380',
      PARLEY_REDIS_PREFIX: 'x:',
      PARLEY_LOG_LEVEL: 'debug',
      PARLEY_WORKER_HOST: '0.0.0.0',
      PARLEY_WORKER_PORT: '0',
      PARLEY_WORKER_CONCURRENCY: '7',
      PARLEY_NOTIFY_BATCH_EVENTS: '1',
      PARLEY_NOTIFY_TIMEOUT_MS: '500',
      PARLEY_NOTIFY_ATTEMPTS: '3',
      PARLEY_WEB_URLS: 'http://10.0.0.1:3000,http://10.0.0.2:3000',
      PARLEY_PRESENCE_TIMEOUT_MS: '2000',
      PARLEY_PRESENCE_SWEEP_MS: '500',
    });
    expect(config).to.include({ redisUrl: 'redis://10.0.0.5:6380', redisPrefix: 'x:', logLevel: 'debug', host: '0.0.0.0' });
    expect(config).to.include({ port: 0, concurrency: 7, notifyTimeoutMs: 500, notifyAttempts: 3, notifyBatchEvents: 1 });
    expect(config).to.include({ presenceTimeoutMs: 2000, presenceSweepMs: 500 });
    expect(config.webUrls).to.deep.equal(['http://10.0.0.1:3000', 'http://10.0.0.2:3000']);
  });

  it('returns a frozen object', function () {
    expect(Object.isFrozen(loadConfig({ PARLEY_SECRET: TEST_SECRET }))).to.equal(true);
  });

  it('reports every problem at once', function () {
    try {
      loadConfig({ PARLEY_REDIS_URL: 'http://x', PARLEY_WORKER_CONCURRENCY: '0', PARLEY_PRESENCE_TIMEOUT_MS: '10' });
      expect.fail('loadConfig accepted a bad environment');
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      const problems = (error as ConfigError).problems.join('\n');
      expect(problems).to.contain('PARLEY_SECRET is required');
      expect(problems).to.contain('PARLEY_REDIS_URL');
      expect(problems).to.contain('PARLEY_WORKER_CONCURRENCY');
      expect(problems).to.contain('PARLEY_PRESENCE_TIMEOUT_MS');
    }
  });
});
