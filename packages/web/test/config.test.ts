import { expect } from 'chai';
import { ConfigError } from '@parley/protocol/node';
import { loadConfig } from '../src/config.js';

const SECRET = 's'.repeat(32);

describe('web config', () => {
  it('applies the defaults of the shared variable table', () => {
    const config = loadConfig({ PARLEY_SECRET: SECRET });
    expect(config).to.deep.equal({
      redisUrl: 'redis://127.0.0.1:6379',
      redisSentinels: [],
      redisMaster: 'parley',
      redisPrefix: 'parley:',
      secret: SECRET,
      logLevel: 'info',
      metricsToken: '',
      host: '127.0.0.1',
      port: 3000,
      dbPath: './data/parley.db',
      databaseUrl: null,
      databasePoolSize: 10,
      cookieSecure: false,
      trustedProxies: ['127.0.0.1', '::1'],
      sessionTtlMs: 30 * 24 * 3600_000,
      rateSayPerSession: 120,
      rateSayPerIp: 600,
      rateSessionPerIp: 30,
      rateSignUpPerIp: 5,
      rateSignInPerIp: 10,
      observeTicketTtlMs: 600_000,
      rateEnterPerSession: 120,
      outboxRelayMs: 3000,
      notifyAttempts: 8,
      sayBatchMax: 256,
      sayGroupsInFlight: 1,
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
      PARLEY_SESSION_TTL_MS: '3600000',
      PARLEY_RATE_SAY_PER_SESSION: '0',
      PARLEY_RATE_SAY_PER_IP: '5',
      PARLEY_RATE_SESSION_PER_IP: '6',
      PARLEY_RATE_ENTER_PER_SESSION: '7',
      PARLEY_TRUSTED_PROXIES: '10.0.0.1, ::ffff:10.0.0.2, 172.16.0.0/12',
      PARLEY_SAY_BATCH_MAX: '1',
    });
    expect(config.trustedProxies).to.deep.equal(['10.0.0.1', '10.0.0.2', '172.16.0.0/12']);
    expect(loadConfig({ PARLEY_SECRET: SECRET, PARLEY_TRUSTED_PROXIES: 'none' }).trustedProxies).to.deep.equal([]);
    expect(config).to.include({
      sessionTtlMs: 3_600_000,
      rateSayPerSession: 0,
      rateSayPerIp: 5,
      rateSessionPerIp: 6,
      rateEnterPerSession: 7,
      redisUrl: 'redis://10.0.0.2:6380',
      redisPrefix: 'x:',
      logLevel: 'debug',
      host: '0.0.0.0',
      port: 3001,
      dbPath: '/var/lib/parley/p.db',
      cookieSecure: true,
      outboxRelayMs: 500,
      notifyAttempts: 3,
      sayBatchMax: 1,
    });
  });

  it('selects PostgreSQL by a postgres:// or postgresql:// URL, with a pool size', () => {
    const url = 'postgres://parley:s3cret@db.internal:5433/parley';
    expect(loadConfig({ PARLEY_SECRET: SECRET, PARLEY_DATABASE_URL: url, PARLEY_DATABASE_POOL_SIZE: '4' })).to.include({
      databaseUrl: url,
      databasePoolSize: 4,
    });
    expect(loadConfig({ PARLEY_SECRET: SECRET, PARLEY_DATABASE_URL: 'postgresql://db/parley' }).databaseUrl).to.equal('postgresql://db/parley');
  });

  it('refuses a database URL of another kind without ever showing its password', () => {
    for (const url of ['mysql://parley:s3cret@db/parley', 'postgres://parley:s3cret@/parley', 'parley:s3cret@db']) {
      let problems = '';
      try {
        loadConfig({ PARLEY_SECRET: SECRET, PARLEY_DATABASE_URL: url, PARLEY_DATABASE_POOL_SIZE: '0' });
      } catch (error) {
        problems = (error as ConfigError).problems.join('\n');
      }
      expect(problems, url).to.match(/PARLEY_DATABASE_URL=.*must/);
      expect(problems, url).to.match(/PARLEY_DATABASE_POOL_SIZE/);
      expect(problems, url).to.not.include('s3cret');
    }
  });

  it('reports every invalid variable at once', () => {
    try {
      loadConfig({
        PARLEY_WEB_PORT: '99999',
        PARLEY_COOKIE_SECURE: 'yes',
        PARLEY_REDIS_URL: 'http://x',
        PARLEY_RATE_SAY_PER_IP: '-1',
        PARLEY_SESSION_TTL_MS: '1000',
        PARLEY_TRUSTED_PROXIES: '10.0.0.0/33',
        PARLEY_WEB_HOST: '203.0.113.7',
      });
      expect.fail('loadConfig accepted a bad environment');
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      const problems = (error as ConfigError).problems.join('\n');
      expect(problems).to.match(/PARLEY_SECRET is required/);
      expect(problems).to.match(/PARLEY_WEB_PORT/);
      expect(problems).to.match(/PARLEY_COOKIE_SECURE/);
      expect(problems).to.match(/PARLEY_RATE_SAY_PER_IP/);
      expect(problems).to.match(/PARLEY_SESSION_TTL_MS/);
      expect(problems).to.match(/PARLEY_TRUSTED_PROXIES/);
      expect(problems).to.match(/PARLEY_WEB_HOST.*not a public one/);
      expect(problems).to.match(/PARLEY_REDIS_URL/);
    }
  });
});
