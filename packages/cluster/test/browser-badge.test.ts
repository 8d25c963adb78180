import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { BrowserContext, Page, Request } from 'playwright-core';
import { REPO_ROOT } from '../src/supervisor.js';
import { createSession, enterRoom, say, uniqueRoom } from './helpers/api.js';
import { useBrowser } from './helpers/browser.js';
import { useCluster } from './helpers/cluster-fixture.js';

/** Bound on anything a page must show after an action (a write, its fan-out, a long-poll answer). */
const SHOW_TIMEOUT_MS = 8_000;
// Screenshots land in docs/img only when asked (PARLEY_UPDATE_SCREENSHOTS=1), so an
// ordinary test run leaves the working tree as it found it.
const SCREENSHOT_DIR =
  process.env.PARLEY_UPDATE_SCREENSHOTS === '1' ? join(REPO_ROOT, 'docs/img') : join(tmpdir(), 'parley-screenshots');
const EXAMPLE_PAGE = readFileSync(join(REPO_ROOT, 'examples/third-party.html'));

/** Polls `probe` until it returns true, or fails with `what` after `timeoutMs`. */
async function eventually(probe: () => Promise<boolean>, what: string, timeoutMs = SHOW_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A blog on another origin with a badge snippet per room. Its own CSS tries
 * to hide and recolour the badge's parts: the shadow root must keep them out.
 */
function blogPage(parley: string, rooms: string[]): string {
  const snippets = rooms
    .map((room) => `<p>Talk to us in ${room}:</p>\n<p><script async src="${parley}/badge.js" data-room="${room}"></script></p>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A side project</title>
<style>
  body { font: 17px/1.5 Georgia, serif; margin: 24px 32px; background: #fdfcf8; color: #333; }
  .badge, .room, .count, .latest, .join { display: none !important; }
  a { color: red !important; }
</style></head>
<body>
<h1>My side project</h1>
${snippets}
</body></html>`;
}

/** What a badge shows, read from inside its shadow root. */
interface BadgeText {
  room: string | undefined;
  count: string | undefined;
  latest: string | undefined;
  join: string | undefined;
  joinTarget: string | undefined;
  joinRel: string | undefined;
}

async function badgeText(page: Page, room: string): Promise<BadgeText | undefined> {
  const host = await page.$(`parley-badge[data-room="${room}"]`);
  return host?.evaluate((element) => {
    const shadow = element.shadowRoot;
    if (!shadow) return undefined;
    const join = shadow.querySelector('a.join');
    return {
      room: shadow.querySelector('.room')?.textContent ?? undefined,
      count: shadow.querySelector('.count')?.textContent ?? undefined,
      latest: shadow.querySelector('.latest')?.textContent ?? undefined,
      join: join?.getAttribute('href') ?? undefined,
      joinTarget: join?.getAttribute('target') ?? undefined,
      joinRel: join?.getAttribute('rel') ?? undefined,
    };
  });
}

/** Observe requests of a page: every one made, and those still pending. */
interface ObserveRequests {
  all: Request[];
  pending: Set<Request>;
  /** The `rooms` cursors asked, as room-name lists. */
  roomsAsked(): string[][];
}

function watchObserves(page: Page): ObserveRequests {
  const all: Request[] = [];
  const pending = new Set<Request>();
  const isObserve = (request: Request): boolean => new URL(request.url()).pathname === '/api/observe';
  page.on('request', (request) => {
    if (!isObserve(request)) return;
    all.push(request);
    pending.add(request);
  });
  page.on('requestfinished', (request) => pending.delete(request));
  page.on('requestfailed', (request) => pending.delete(request));
  return {
    all,
    pending,
    roomsAsked: () =>
      all.map((request) =>
        (new URL(request.url()).searchParams.get('rooms') ?? '').split(',').map((entry) => entry.split(':')[0] ?? ''),
      ),
  };
}

describe('live badge and third-party page on another origin (browser)', function () {
  this.timeout(30_000);
  const fixture = useCluster();
  const chromium = useBrowser();
  let site: Server;
  let siteUrl: string;
  let context: BrowserContext | undefined;
  const problems: string[] = [];

  before(async () => {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    // The "other site": a plain node:http server on its own port, so its
    // origin differs from nginx's and every Parley request is cross-origin.
    site = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://site.invalid');
      if (url.pathname === '/blog') {
        const rooms = (url.searchParams.get('rooms') ?? '').split(',');
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(blogPage(fixture.cluster.publicUrl, rooms));
      } else if (url.pathname === '/third-party.html') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(EXAMPLE_PAGE);
      } else if (url.pathname === '/favicon.ico') {
        res.writeHead(204).end();
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise((resolve) => site?.close(resolve));
  });

  afterEach(async () => {
    await context?.close();
    context = undefined;
  });

  async function openPage(): Promise<Page> {
    problems.length = 0;
    context = await chromium.browser.newContext({ viewport: { width: 720, height: 400 } });
    const page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    return page;
  }

  it('renders two badges in shadow roots over ONE observe, and updates them live', async () => {
    const { publicUrl } = fixture.cluster;
    const busy = uniqueRoom('badge-busy');
    const fresh = uniqueRoom('badge-new');
    // Two people in `busy`, the latest event an enter: the badge must still find the message.
    const alice = await createSession(publicUrl, 'alice');
    const bob = await createSession(publicUrl, 'bob');
    await enterRoom(publicUrl, alice, busy);
    await say(publicUrl, alice, busy, 'first post');
    await enterRoom(publicUrl, bob, busy);

    const page = await openPage();
    const observes = watchObserves(page);
    await page.goto(`${siteUrl}/blog?rooms=${busy},${fresh}`);

    await eventually(async () => (await badgeText(page, busy))?.count === '2 online', `${busy} to show 2 online`);
    await eventually(async () => (await badgeText(page, fresh))?.count === '0 online', `${fresh} to show 0 online`);
    expect(await badgeText(page, busy)).to.deep.equal({
      room: busy,
      count: '2 online',
      latest: 'alice: first post',
      join: `${publicUrl}/rooms/${busy}`,
      joinTarget: '_blank',
      joinRel: 'noopener',
    });
    expect((await badgeText(page, fresh))?.room).to.equal(fresh);
    // The host page's CSS hides `.count` etc.; none of it reaches the badge, and the badge's parts are not in the page's DOM.
    expect(await page.locator('parley-badge').count()).to.equal(2);
    expect(await page.locator('body').evaluate((body) => body.querySelector('.count') === null)).to.equal(true);
    expect(await page.locator(`parley-badge[data-room="${busy}"] .count`).isVisible()).to.equal(true);

    // ONE observe for both badges: every poll asks for both rooms, and one is parked.
    await eventually(async () => observes.pending.size === 1 && observes.all.length >= 2, 'one parked observe');
    for (const rooms of observes.roomsAsked()) expect(rooms.sort()).to.deep.equal([busy, fresh].sort());
    expect(observes.pending.size).to.equal(1);

    // Someone enters the new room and speaks (via the API, Bearer): the count and the message follow.
    const carol = await createSession(publicUrl, 'carol');
    await enterRoom(publicUrl, carol, fresh);
    await say(publicUrl, carol, fresh, '<img src=x onerror="document.title=`pwned`">hi there');
    await eventually(async () => {
      const shown = await badgeText(page, fresh);
      return shown?.count === '1 online' && shown.latest === 'carol: <img src=x onerror="document.title=`pwned`">hi there';
    }, `${fresh} to show carol and her message`);
    await say(publicUrl, carol, fresh, 'the badge updates live!');
    await eventually(async () => (await badgeText(page, fresh))?.latest === 'carol: the badge updates live!', 'carol again');
    await say(publicUrl, bob, busy, 'a newer message');
    await eventually(async () => (await badgeText(page, busy))?.latest === 'bob: a newer message', `${busy} to show bob's message`);
    expect((await badgeText(page, busy))?.count).to.equal('2 online');
    expect(await page.title()).to.equal('A side project');
    expect(await page.locator('parley-badge img').count()).to.equal(0);

    await eventually(async () => observes.pending.size === 1, 'one parked observe after the updates');
    for (const rooms of observes.roomsAsked()) expect(rooms.sort()).to.deep.equal([busy, fresh].sort());
    expect(problems, 'page errors').to.deep.equal([]);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'badge.png') });
  });

  it('lets a visitor of the third-party example page post and see the room live', async () => {
    const { publicUrl } = fixture.cluster;
    const room = uniqueRoom('elsewhere');
    const eve = await createSession(publicUrl, 'eve');
    await enterRoom(publicUrl, eve, room);
    await say(publicUrl, eve, room, 'hello, anyone?');

    const page = await openPage();
    await page.goto(`${siteUrl}/third-party.html?parley=${encodeURIComponent(publicUrl)}&room=${room}`);
    const texts = (): Promise<string[]> => page.locator('#messages li .text').allTextContents();
    await eventually(async () => (await texts()).includes('hello, anyone?'), 'the history');
    await page.locator('#status[data-state="live"]').waitFor({ timeout: SHOW_TIMEOUT_MS });

    await page.getByLabel('Nickname', { exact: true }).fill('dora');
    await page.getByRole('button', { name: 'Join' }).click();
    const message = page.getByLabel('Message', { exact: true });
    await message.waitFor({ timeout: SHOW_TIMEOUT_MS });
    await message.fill('hi from another site');
    await message.press('Enter');
    await eventually(async () => (await texts()).includes('hi from another site'), 'her own message');
    // Someone else answers: it arrives through the JSONP observe.
    await say(publicUrl, eve, room, 'welcome, <b>dora</b>');

    await eventually(
      async () => (await texts()).join('|') === 'hello, anyone?|hi from another site|welcome, <b>dora</b>',
      'both messages, in order',
    );
    await eventually(async () => (await page.locator('#count').textContent()) === '2 online', 'the count to show dora');
    const seqs = await page.locator('#messages li').evaluateAll((items) => items.map((item) => Number(item.getAttribute('data-seq'))));
    expect(seqs).to.deep.equal(seqs.map((_, index) => index + 1));
    expect(await page.locator('#messages b').count()).to.equal(0);
    expect(problems, 'page errors').to.deep.equal([]);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'badge-third-party.png') });
  });
});
