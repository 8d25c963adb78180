import { expect } from 'chai';
import { silentLogger } from '@parley/protocol';
import { findFreePort } from '@parley/cluster';
import { WebTierUnavailableError } from '@parley/protocol/node';
import { createWebClient, type WebClient } from '../src/web-client.js';
import { SECRET } from './support/harness.js';
import { startWebStandIn, type WebStandIn } from './support/web-stand-in.js';

describe('web client', () => {
  let web: WebStandIn;
  let client: WebClient | undefined;

  beforeEach(async () => {
    web = await startWebStandIn(SECRET);
  });
  afterEach(async () => {
    await client?.close();
    client = undefined;
    await web.close();
  });

  it('reads the head of a room without events when after is omitted', async () => {
    web.addMessages('lobby', 3);
    client = createWebClient({ urls: [web.url], secret: SECRET, log: silentLogger });
    expect(await client.roomEvents('lobby')).to.deep.equal({ events: [], seq: 3 });
    expect(web.served).to.deep.equal(['/internal/rooms/lobby/events']);
  });

  it('reads the events after a seq with a signed request', async () => {
    const events = web.addMessages('lobby', 3);
    client = createWebClient({ urls: [web.url], secret: SECRET, log: silentLogger });
    expect(await client.roomEvents('lobby', 1, 10)).to.deep.equal({ events: events.slice(1), seq: 3 });
    expect(web.served).to.deep.equal(['/internal/rooms/lobby/events?after=1&limit=10']);
    expect(web.refused).to.equal(0);
  });

  it('reports a room that does not exist as head 0', async () => {
    client = createWebClient({ urls: [web.url], secret: SECRET, log: silentLogger });
    expect(await client.roomEvents('nowhere', 0)).to.deep.equal({ events: [], seq: 0 });
  });

  it('tries the next URL when one is down', async () => {
    web.addMessages('lobby', 2);
    const deadUrl = `http://127.0.0.1:${await findFreePort()}`;
    client = createWebClient({ urls: [deadUrl, web.url], secret: SECRET, log: silentLogger });
    expect((await client.roomEvents('lobby')).seq).to.equal(2);
  });

  it('shares one request between concurrent identical reads of a room', async () => {
    web.addMessages('lobby', 2);
    client = createWebClient({ urls: [web.url], secret: SECRET, log: silentLogger });
    const answers = await Promise.all([client.roomEvents('lobby', 0), client.roomEvents('lobby', 0), client.roomEvents('lobby', 0)]);
    expect(answers.map((answer) => answer.events.length)).to.deep.equal([2, 2, 2]);
    expect(web.served).to.have.length(1);
  });

  it('fails with WebTierUnavailableError when every URL refuses', async () => {
    client = createWebClient({ urls: [web.url], secret: 'wrong-secret'.padEnd(40, 'z'), log: silentLogger });
    try {
      await client.roomEvents('lobby');
      expect.fail('a refused request was accepted');
    } catch (error) {
      expect(error).to.be.instanceOf(WebTierUnavailableError);
    }
    expect(web.refused).to.equal(1);
  });

  it('rejects an answer whose events have a gap', async () => {
    const events = web.addMessages('lobby', 3);
    web.rooms.set('lobby', [events[0]!, events[2]!]);
    client = createWebClient({ urls: [web.url], secret: SECRET, log: silentLogger });
    try {
      await client.roomEvents('lobby', 0);
      expect.fail('an answer with a gap was accepted');
    } catch (error) {
      expect(error).to.be.instanceOf(WebTierUnavailableError);
    }
  });

  it('gives up on a web process that does not answer within the timeout', async () => {
    const { createServer } = await import('node:http');
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const address = silent.address() as { port: number };
      client = createWebClient({ urls: [`http://127.0.0.1:${address.port}`], secret: SECRET, log: silentLogger, timeoutMs: 200 });
      const started = Date.now();
      try {
        await client.roomEvents('lobby');
        expect.fail('a silent web process answered');
      } catch (error) {
        expect(error).to.be.instanceOf(WebTierUnavailableError);
      }
      expect(Date.now() - started).to.be.below(1500);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
