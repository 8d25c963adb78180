import { expect } from 'chai';
import { ConfigError, bindScope, commonConfigSchema, parse, readConfig } from '../src/node/config.js';

interface ExampleConfig {
  port: number;
  secret: string;
  urls: string[];
}

const schema = {
  port: { env: 'X_PORT', default: 3000, parse: parse.port },
  secret: { env: 'X_SECRET', parse: parse.secret },
  urls: { env: 'X_URLS', default: ['http://127.0.0.1:3000'], parse: parse.urlList },
};

describe('config reader', () => {
  it('applies defaults and freezes the result', () => {
    const config = readConfig<ExampleConfig>(schema, { X_SECRET: 'k'.repeat(32) });
    expect(config).to.deep.equal({ port: 3000, secret: 'k'.repeat(32), urls: ['http://127.0.0.1:3000'] });
    expect(Object.isFrozen(config)).to.equal(true);
  });

  it('parses values that are set', () => {
    const config = readConfig<ExampleConfig>(schema, {
      X_SECRET: 'k'.repeat(32),
      X_PORT: '8081',
      X_URLS: 'http://a:1/, http://b:2',
    });
    expect(config.port).to.equal(8081);
    expect(config.urls).to.deep.equal(['http://a:1', 'http://b:2']);
  });

  it('reports every problem at once', () => {
    try {
      readConfig<ExampleConfig>(schema, { X_PORT: '70000', X_URLS: 'ftp://x' });
      expect.fail('readConfig accepted a bad environment');
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      const problems = (error as ConfigError).problems;
      expect(problems).to.have.length(3);
      expect(problems.join('\n')).to.match(/X_PORT/).and.to.match(/X_SECRET is required/).and.to.match(/X_URLS/);
    }
  });
});

describe('listen addresses', () => {
  it('classifies loopback, private, every-interface, public addresses and names', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', 'localhost', '[::1]'].map(bindScope)).to.deep.equal(Array(5).fill('loopback'));
    expect(['10.1.2.3', '172.20.0.5', '192.168.1.1', 'fd12::1', 'fe80::1'].map(bindScope)).to.deep.equal(Array(5).fill('private'));
    expect(['0.0.0.0', '::'].map(bindScope)).to.deep.equal(['all-interfaces', 'all-interfaces']);
    expect(['8.8.8.8', '172.32.0.1', '2001:db8::1'].map(bindScope)).to.deep.equal(['public', 'public', 'public']);
    expect(bindScope('web-1')).to.equal('name');
  });

  it('refuses a public address for a port with internal endpoints', () => {
    expect(() => parse.internalHost('203.0.113.7')).to.throw(/not a public one/);
    for (const host of ['127.0.0.1', '10.0.0.2', '0.0.0.0', 'web-1']) expect(parse.internalHost(host)).to.equal(host);
  });
});

describe('Redis Sentinel settings', () => {
  const secret = 'k'.repeat(32);

  it('reads PARLEY_REDIS_SENTINELS as host:port pairs and PARLEY_REDIS_MASTER as the master name', () => {
    const config = readConfig(commonConfigSchema, {
      PARLEY_SECRET: secret,
      PARLEY_REDIS_SENTINELS: '10.0.0.1:26379, sentinel-b:26380,[fd00::3]:26381',
      PARLEY_REDIS_MASTER: 'parley-main',
    });
    expect(config.redisSentinels).to.deep.equal([
      { host: '10.0.0.1', port: 26379 },
      { host: 'sentinel-b', port: 26380 },
      { host: 'fd00::3', port: 26381 },
    ]);
    expect(config.redisMaster).to.equal('parley-main');
  });

  it('defaults to no Sentinels (one Redis at PARLEY_REDIS_URL) and the master name parley', () => {
    const config = readConfig(commonConfigSchema, { PARLEY_SECRET: secret });
    expect(config.redisSentinels).to.deep.equal([]);
    expect(config.redisMaster).to.equal('parley');
  });

  it('refuses a Sentinel without a port, a port out of range and a master name with spaces, all at once', () => {
    try {
      readConfig(commonConfigSchema, {
        PARLEY_SECRET: secret,
        PARLEY_REDIS_SENTINELS: '10.0.0.1:26379,10.0.0.2',
        PARLEY_REDIS_MASTER: 'my master',
      });
      expect.fail('readConfig accepted bad Sentinel settings');
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      const problems = (error as ConfigError).problems;
      expect(problems).to.have.length(2);
      expect(problems[0]).to.match(/^PARLEY_REDIS_SENTINELS=.*"10\.0\.0\.2" is not host:port/);
      expect(problems[1]).to.match(/^PARLEY_REDIS_MASTER=.*letters, digits/);
    }
    expect(() => readConfig(commonConfigSchema, { PARLEY_SECRET: secret, PARLEY_REDIS_SENTINELS: 'a:70000' })).to.throw(/between 1 and 65535/);
  });
});
