import { expect } from 'chai';
import { UsageError, parseLoadTestArgs, parseLoopbackBase } from '../src/args.js';

const REQUIRED = ['--base', 'http://127.0.0.1:8080', '--observers', '20', '--rooms', '2', '--rate', '10', '--duration', '3'];

describe('load test arguments', () => {
  it('parses the required options and fills the defaults', () => {
    const options = parseLoadTestArgs(REQUIRED);
    expect(options).to.deep.include({
      base: 'http://127.0.0.1:8080',
      observers: 20,
      rooms: 2,
      rate: 10,
      duration: 3,
      grace: 5,
      warmup: 1,
      sessions: 2,
      textBytes: 200,
      wait: 25,
      sources: 1,
      sayConnections: 64,
      clusterPath: '.run/cluster.json',
    });
    expect(options).not.to.have.property('jsonPath');
  });

  it('parses the optional outputs and overrides', () => {
    const options = parseLoadTestArgs([
      ...REQUIRED,
      '--json', 'out.json', '--markdown', 'out.md', '--cluster', 'c.json', '--grace', '2.5', '--sessions', '7', '--run-id', 'abc1',
    ]);
    expect(options).to.deep.include({ jsonPath: 'out.json', markdownPath: 'out.md', clusterPath: 'c.json', grace: 2.5, sessions: 7, runId: 'abc1' });
  });

  it('spreads observers over one source address per 2,500', () => {
    const options = parseLoadTestArgs(REQUIRED.map((arg) => (arg === '20' ? '25000' : arg)));
    expect(options.sources).to.equal(10);
  });

  it('reports every missing or bad option at once', () => {
    try {
      parseLoadTestArgs(['--base', 'http://127.0.0.1:8080', '--observers', '0', '--rate', 'fast']);
      expect.fail('should throw');
    } catch (error) {
      expect(error).to.be.instanceOf(UsageError);
      const message = (error as Error).message;
      expect(message).to.include('--observers must be');
      expect(message).to.include('--rate must be');
      expect(message).to.include('--rooms is required');
      expect(message).to.include('--duration is required');
    }
  });

  it('refuses unknown options', () => {
    expect(() => parseLoadTestArgs([...REQUIRED, '--target', 'x'])).to.throw(UsageError);
  });

  it('accepts any http origin on 127.0.0.0/8 and drops a trailing slash', () => {
    expect(parseLoopbackBase('http://127.0.0.1:8080/')).to.equal('http://127.0.0.1:8080');
    expect(parseLoopbackBase('http://127.1.2.3:9000')).to.equal('http://127.1.2.3:9000');
    expect(parseLoopbackBase('http://127.0.0.1')).to.equal('http://127.0.0.1');
  });

  for (const base of [
    'http://10.0.0.1:8080',
    'http://example.com',
    'http://localhost:8080',
    'http://[::1]:8080',
    'http://127.0.0.1.example.com',
    'http://0x0a000001:8080',
    'https://127.0.0.1:8443',
    'http://user:pass@127.0.0.1:8080',
    'http://127.0.0.1:8080/api',
    'not a url',
  ]) {
    it(`refuses --base ${base}`, () => {
      expect(() => parseLoadTestArgs(['--base', base, ...REQUIRED.slice(2)])).to.throw(UsageError, /--base/);
    });
  }
});
