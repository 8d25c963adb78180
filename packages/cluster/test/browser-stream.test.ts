import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import type { BrowserContext, Page } from 'playwright-core';
import { uniqueRoom } from './helpers/api.js';
import { useBrowser } from './helpers/browser.js';
import { useCluster } from './helpers/cluster-fixture.js';

/** Bound on anything a page must show; the fallback case waits for the stream to be given up (4 s) first. */
const SHOW_TIMEOUT_MS = 12_000;

/** One person's page and the observe requests it made. */
interface Person {
  context: BrowserContext;
  page: Page;
  streams: string[];
  longPolls: string[];
}

/**
 * A proxy in front of nginx that buffers what a careless proxy buffers: the
 * stream's head goes through, its body is held until the stream ends.
 */
async function startBufferingProxy(target: URL): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        if (!(req.url ?? '').startsWith('/api/observe/stream')) {
          answer.pipe(res);
          return;
        }
        const held: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => held.push(chunk));
        answer.on('end', () => res.end(Buffer.concat(held)));
      },
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('cluster: the chat page on the observe stream', function () {
  this.timeout(60_000);
  const fixture = useCluster();
  const chromium = useBrowser();
  const people: Person[] = [];

  async function enterAs(nickname: string, base: string, room: string, withoutEventSource = false): Promise<Person> {
    const context = await chromium.browser.newContext();
    if (withoutEventSource) {
      // An old browser: no EventSource at all.
      await context.addInitScript(() => {
        delete (globalThis as { EventSource?: unknown }).EventSource;
      });
    }
    const page = await context.newPage();
    const person: Person = { context, page, streams: [], longPolls: [] };
    people.push(person);
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname === '/api/observe/stream') person.streams.push(url.search);
      else if (url.pathname === '/api/observe') person.longPolls.push(url.search);
    });
    await page.goto(`${base}/rooms/${room}`);
    await page.getByLabel('Nickname', { exact: true }).fill(nickname);
    await page.getByRole('button', { name: 'Start chatting' }).click();
    await page.getByLabel('Message').waitFor({ timeout: SHOW_TIMEOUT_MS });
    await page.locator('.connection[data-state="live"]').waitFor({ state: 'attached', timeout: SHOW_TIMEOUT_MS });
    return person;
  }

  async function converse(speaker: Person, listener: Person, text: string): Promise<void> {
    const box = speaker.page.getByLabel('Message');
    await box.fill(text);
    await box.press('Enter');
    await listener.page.locator('.room .events li.message .text', { hasText: text }).waitFor({ timeout: SHOW_TIMEOUT_MS });
    expect(await listener.page.locator('.room .events li.message .text', { hasText: text }).count()).to.equal(1);
  }

  afterEach(async () => {
    await Promise.all(people.splice(0).map((person) => person.context.close()));
  });

  it('observes over a real EventSource: messages arrive, and no long-poll is made', async () => {
    const room = uniqueRoom('es');
    const alice = await enterAs('alice', fixture.cluster.publicUrl, room);
    const bob = await enterAs('bob', fixture.cluster.publicUrl, room);
    await converse(alice, bob, 'over the stream');
    await converse(bob, alice, 'and back');
    for (const person of [alice, bob]) {
      expect(person.streams.length, 'streams opened').to.be.at.least(1);
      expect(person.longPolls, 'long-polls').to.deep.equal([]);
    }
  });

  it('still works with EventSource removed, on long-polls', async () => {
    const room = uniqueRoom('noes');
    const alice = await enterAs('alice', fixture.cluster.publicUrl, room, true);
    const bob = await enterAs('bob', fixture.cluster.publicUrl, room, true);
    await converse(alice, bob, 'no stream here');
    expect(bob.streams).to.deep.equal([]);
    expect(bob.longPolls.length).to.be.at.least(1);
  });

  it('falls back to long-polls by itself behind a proxy that buffers the stream', async () => {
    const proxy = await startBufferingProxy(new URL(fixture.cluster.publicUrl));
    try {
      const room = uniqueRoom('buffered');
      const alice = await enterAs('alice', proxy.url, room);
      const bob = await enterAs('bob', proxy.url, room);
      await converse(alice, bob, 'through a buffering proxy');
      expect(bob.streams.length, 'the stream was tried').to.be.at.least(1);
      expect(bob.longPolls.length, 'long-polls after it').to.be.at.least(1);
    } finally {
      await Promise.all(people.splice(0).map((person) => person.context.close()));
      proxy.server.closeAllConnections();
      await new Promise((resolve) => proxy.server.close(resolve));
    }
  });
});
