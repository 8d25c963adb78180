import { expect } from 'chai';
import { ConfigError } from '@parley/protocol/node';
import { defaultAdvertiseUrl, loadConfig } from '../src/config.js';

const secret = 'k'.repeat(32);

describe('chatserver config', () => {
  it('applies the defaults of the shared variable table', () => {
    expect(loadConfig({ PARLEY_SECRET: secret })).to.deep.equal({
      redisUrl: 'redis://127.0.0.1:6379',
      redisSentinels: [],
      redisMaster: 'parley',
      redisPrefix: 'parley:',
      secret,
      logLevel: 'info',
      metricsToken: '',
      host: '127.0.0.1',
      port: 4000,
      internalHost: '127.0.0.1',
      internalPort: 4100,
      advertiseUrl: '',
      webUrls: ['http://127.0.0.1:3000'],
      roomBuffer: 1000,
      maxObservers: 20000,
      maxObservesPerSession: 8,
      maxRooms: 100_000,
      maxAnonymousObserveRooms: 20,
      heartbeatMs: 2000,
      presenceTimeoutMs: 120_000,
      catchUpMs: 5000,
      streamHeartbeatMs: 1000,
      streamLifetimeMs: 600_000,
    });
  });

  it('returns a frozen object', () => {
    expect(Object.isFrozen(loadConfig({ PARLEY_SECRET: secret }))).to.equal(true);
  });

  it('reads every chatserver variable', () => {
    const config = loadConfig({
      PARLEY_SECRET: secret,
      PARLEY_REDIS_URL: 'redis://10.0.0.2:6380',
      PARLEY_REDIS_PREFIX: 'p2:',
      PARLEY_LOG_LEVEL: 'debug',
      PARLEY_CHAT_HOST: '0.0.0.0',
      PARLEY_CHAT_PORT: '4001',
      PARLEY_CHAT_INTERNAL_HOST: '10.0.0.5',
      PARLEY_CHAT_INTERNAL_PORT: '4101',
      PARLEY_CHAT_ADVERTISE_URL: 'http://chat-1:4101/',
      PARLEY_WEB_URLS: 'http://web-1:3000, http://web-2:3000',
      PARLEY_ROOM_BUFFER: '200',
      PARLEY_CHAT_MAX_OBSERVERS: '500',
      PARLEY_CHAT_MAX_OBSERVES_PER_SESSION: '3',
      PARLEY_HEARTBEAT_MS: '1000',
      PARLEY_PRESENCE_TIMEOUT_MS: '2000',
      PARLEY_CATCHUP_MS: '250',
      PARLEY_STREAM_HEARTBEAT_MS: '5000',
      PARLEY_STREAM_LIFETIME_MS: '60000',
    });
    expect(config).to.include({
      redisUrl: 'redis://10.0.0.2:6380',
      redisPrefix: 'p2:',
      logLevel: 'debug',
      host: '0.0.0.0',
      port: 4001,
      internalHost: '10.0.0.5',
      internalPort: 4101,
      advertiseUrl: 'http://chat-1:4101',
      roomBuffer: 200,
      maxObservers: 500,
      maxObservesPerSession: 3,
      heartbeatMs: 1000,
      presenceTimeoutMs: 2000,
      catchUpMs: 250,
      streamHeartbeatMs: 5000,
      streamLifetimeMs: 60_000,
    });
    expect(config.webUrls).to.deep.equal(['http://web-1:3000', 'http://web-2:3000']);
  });

  it('reports every invalid variable at once', () => {
    try {
      loadConfig({ PARLEY_CHAT_PORT: 'x', PARLEY_REDIS_URL: 'http://r', PARLEY_ROOM_BUFFER: '0', PARLEY_CATCHUP_MS: '50' });
      expect.fail('loadConfig accepted a bad environment');
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      expect((error as ConfigError).problems).to.have.length(5);
    }
  });

  it('derives the advertised URL from the internal address, bracketing IPv6', () => {
    expect(defaultAdvertiseUrl('127.0.0.1', 4100)).to.equal('http://127.0.0.1:4100');
    expect(defaultAdvertiseUrl('::1', 4100)).to.equal('http://[::1]:4100');
  });
});
