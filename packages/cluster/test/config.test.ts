import { expect } from 'chai';
import { ConfigError } from '@parley/protocol/node';
import { loadConfig } from '../src/config.js';

describe('cluster config', () => {
  it('starts 2 web, 1 worker and 2 chatservers on port 8080 by default, with a per-run secret', () => {
    expect(loadConfig({})).to.deep.equal({
      publicPort: 8080,
      webCount: 2,
      workerCount: 1,
      chatCount: 2,
      logLevel: 'info',
      secret: '',
    });
  });

  it('reads PORT and the process counts', () => {
    const config = loadConfig({ PORT: '9090', PARLEY_WEB_COUNT: '3', PARLEY_WORKER_COUNT: '0', PARLEY_CHAT_COUNT: '4' });
    expect(config).to.include({ publicPort: 9090, webCount: 3, workerCount: 0, chatCount: 4 });
  });

  it('reports every bad setting at once', () => {
    try {
      loadConfig({ PORT: 'http', PARLEY_WEB_COUNT: '0', PARLEY_CHAT_COUNT: '1000', PARLEY_SECRET: 'short' });
      expect.fail('loadConfig accepted a bad environment');
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      expect((error as ConfigError).problems).to.have.length(4);
    }
  });
});
