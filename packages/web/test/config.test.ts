import { expect } from 'chai';
import { ConfigError } from '@parley/protocol';
import { loadConfig } from '../src/config.js';

const SECRET = 's'.repeat(32);

describe('web config', () => {
  it('applies the defaults of the shared variable table', () => {
    const config = loadConfig({ PARLEY_SECRET: SECRET });
    expect(config).to.deep.equal({
      redisUrl: 'redis://127.0.0.1:6379',
      redisPrefix: 'parley:',
      secret: SECRET,
      logLevel: 'info',
      host: '127.0.0.1',
      port: 3000,
      dbPath: './data/parley.db',
      cookieSecure: false,
      outboxRelayMs: 3000,
      notifyAttempts: 8,
    });
    expect(Object.isFrozen(config)).to.equal(true);
  });

  it('reads every variable that is set', () => {
    const config = loadConfig({
      PARLEY_SECRET: SECRET,
      PARLEY_REDIS_URL: 'redis://10.0.0.2:6380',
      PARLEY_REDIS_PREFIX: 'x:',
      PARLEY_LOG_LEVEL: 'debug',
      PARLEY_WEB_HOST: '0.0.0.0',
      PARLEY_WEB_PORT: '3001',
      PARLEY_DB_PATH: '/var/lib/parley/p.db',
      PARLEY_COOKIE_SECURE: 'true',
      PARLEY_OUTBOX_RELAY_MS: '500',
      PARLEY_NOTIFY_ATTEMPTS: '3',
    });
    expect(config).to.include({
      redisUrl: 'redis://10.0.0.2:6380',
      redisPrefix: 'x:',
      logLevel: 'debug',
      host: '0.0.0.0',
      port: 3001,
      dbPath: '/var/lib/parley/p.db',
      cookieSecure: true,
      outboxRelayMs: 500,
      notifyAttempts: 3,
    });
  });

  it('reports every invalid variable at once', () => {
    try {
      loadConfig({ PARLEY_WEB_PORT: '99999', PARLEY_COOKIE_SECURE: 'yes', PARLEY_REDIS_URL: 'http://x' });
      expect.fail('loadConfig accepted a bad environment');
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      const problems = (error as ConfigError).problems.join('\n');
      expect(problems).to.match(/PARLEY_SECRET is required/);
      expect(problems).to.match(/PARLEY_WEB_PORT/);
      expect(problems).to.match(/PARLEY_COOKIE_SECURE/);
      expect(problems).to.match(/PARLEY_REDIS_URL/);
    }
  });
});
