import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { uniqueRoom } from './helpers/api.js';
import { useBrowser } from './helpers/browser.js';
import {
  collectProblems,
  eventually,
  send,
  SHOW_TIMEOUT_MS,
  shownMessages,
  waitUntilLive,
  type Person,
} from './helpers/chat-page.js';
import { useCluster } from './helpers/cluster-fixture.js';

/**
 * Headless Chromium never hides a page, so a person's page gets a switch
 * (`window.__setHidden(true)`) that makes `document.visibilityState` say
 * "hidden" and fires `visibilitychange`, as switching tabs does.
 */
const HIDDEN_TAB_SWITCH = `
(() => {
  let hidden = false;
  Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
  Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => hidden });
  window.__setHidden = (value) => {
    hidden = value;
    document.dispatchEvent(new Event('visibilitychange'));
  };
})();
`;

/**
 * A Notification that records what the page shows (headless Chromium draws
 * none): the permission is "default" until requestPermission is called, which
 * grants it only during a click (user activation), as browsers do.
 */
const RECORDING_NOTIFICATION = `
(() => {
  window.__notifications = [];
  window.__permissionAsks = [];
  let permission = 'default';
  class RecordingNotification extends EventTarget {
    static get permission() { return permission; }
    static requestPermission() {
      const byClick = navigator.userActivation.isActive;
      window.__permissionAsks.push(byClick);
      if (byClick) permission = 'granted';
      return Promise.resolve(permission);
    }
    constructor(title, options = {}) {
      super();
      window.__notifications.push({ title, body: options.body ?? '', tag: options.tag ?? '' });
    }
    close() {}
  }
  window.Notification = RecordingNotification;
})();
`;

async function setHidden(page: Page, hidden: boolean): Promise<void> {
  await page.evaluate(`window.__setHidden(${hidden})`);
}

describe('cluster: everyday chat in a browser (mentions, links, resend, small things)', function () {
  this.timeout(40_000);
  const fixture = useCluster();
  const chromium = useBrowser();
  const people: Person[] = [];

  /** Opens `/rooms/<room>` in a new context as `nickname` and waits until it is live. */
  async function enterAs(nickname: string, room: string): Promise<Person> {
    const context = await chromium.browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addInitScript(HIDDEN_TAB_SWITCH);
    await context.addInitScript(RECORDING_NOTIFICATION);
    const page = await context.newPage();
    const person: Person = { context, page, problems: [] };
    people.push(person);
    collectProblems(page, person.problems);
    await page.goto(`${fixture.cluster.publicUrl}/rooms/${room}`);
    await page.getByLabel('Nickname', { exact: true }).fill(nickname);
    await page.getByRole('button', { name: 'Start chatting' }).click();
    await page.getByLabel('Message').waitFor({ timeout: SHOW_TIMEOUT_MS });
    await waitUntilLive(page);
    return person;
  }

  /** Opens another room from the home page, as a person does. */
  async function openRoom(person: Person, room: string): Promise<void> {
    await person.page.getByRole('link', { name: 'All rooms' }).click();
    await person.page.getByLabel('Room', { exact: true }).fill(room);
    await person.page.getByRole('button', { name: 'Enter', exact: true }).click();
    await person.page.locator('.room h2', { hasText: `#${room}` }).waitFor({ timeout: SHOW_TIMEOUT_MS });
  }

  async function waitForMessage(person: Person, text: string): Promise<void> {
    await eventually(async () => (await shownMessages(person.page)).includes(text), `"${text}" shown`);
  }

  async function tabNames(page: Page): Promise<string[]> {
    return page.locator('.tabs .tab-name').allTextContents();
  }

  async function unreadOf(page: Page, room: string): Promise<string | null> {
    const badge = page.locator('.tabs a', { hasText: `#${room}` }).locator('.unread');
    return (await badge.count()) === 0 ? null : badge.textContent();
  }

  afterEach(async () => {
    const problems = people.flatMap((person) => person.problems);
    await Promise.all(people.splice(0).map((person) => person.context.close()));
    expect(problems, 'errors in the pages').to.deep.equal([]);
  });

  describe('links and formatting', () => {
    it('makes http(s) URLs links that open apart, with no referrer and no follow', async () => {
      const room = uniqueRoom('links');
      const ana = await enterAs('ana', room);
      const ben = await enterAs('ben', room);
      const text = 'release notes: https://example.com/notes?v=2#top, and http://example.org too';
      await send(ben.page, text);
      await waitForMessage(ana, 'release notes: https://example.com/notes?v=2#top, and http://example.org too');
      const links = await ana.page.$$eval('.room .events .text a', (anchors) =>
        anchors.map((anchor) => ({ href: anchor.getAttribute('href'), rel: anchor.getAttribute('rel'), target: anchor.getAttribute('target'), text: anchor.textContent })),
      );
      expect(links).to.deep.equal([
        { href: 'https://example.com/notes?v=2#top', rel: 'noopener noreferrer nofollow', target: '_blank', text: 'https://example.com/notes?v=2#top' },
        { href: 'http://example.org', rel: 'noopener noreferrer nofollow', target: '_blank', text: 'http://example.org' },
      ]);
    });

    it('keeps a javascript: URL and raw HTML as text, in every form', async () => {
      const room = uniqueRoom('hostile');
      const ana = await enterAs('ana', room);
      const ben = await enterAs('ben', room);
      const hostile = [
        'javascript:window.__pwned=1',
        '[click me](javascript:window.__pwned=1)',
        '<a href="javascript:window.__pwned=1">x</a>',
        '<javascript:window.__pwned=1>',
        '![img](x onerror=window.__pwned=1)',
        '<img src=x onerror="window.__pwned=1">',
      ];
      for (const line of hostile) await send(ben.page, line);
      for (const person of [ana, ben]) {
        await eventually(async () => (await shownMessages(person.page)).length === hostile.length, 'every hostile line');
        // Nothing was turned into markup: every line reads exactly as typed.
        expect(await shownMessages(person.page)).to.deep.equal(hostile);
        expect(await person.page.locator('.room .events a').count(), 'links').to.equal(0);
        expect(await person.page.locator('.room .events img').count(), 'images').to.equal(0);
        await person.page.locator('.room .events .text').first().click();
        expect(await person.page.evaluate<unknown>('window.__pwned')).to.equal(undefined);
      }
    });

    it('shows inline code, code blocks, bold and italics, and gives each message its own direction', async () => {
      const room = uniqueRoom('format');
      const ana = await enterAs('ana', room);
      const ben = await enterAs('ben', room);
      await send(ben.page, 'run `npm ci` first, **then** *test*');
      await send(ben.page, '```\nconst a = 1;\nconst b = "<b>";\n```');
      await send(ben.page, 'مرحبا بالجميع، كيف حالكم؟');
      await eventually(async () => (await shownMessages(ana.page)).length === 3, 'three messages');
      const texts = ana.page.locator('.room .events .text');
      expect(await texts.nth(0).locator('code').textContent()).to.equal('npm ci');
      expect(await texts.nth(0).locator('strong').textContent()).to.equal('then');
      expect(await texts.nth(0).locator('em').textContent()).to.equal('test');
      expect(await texts.nth(1).locator('pre > code').textContent()).to.equal('const a = 1;\nconst b = "<b>";');
      expect(await ana.page.locator('.room .events b').count()).to.equal(0);
      expect(await texts.nth(2).getAttribute('dir')).to.equal('auto');
      const directions = await ana.page.evaluate<string[]>(
        "[...document.querySelectorAll('.room .events .text')].map((element) => getComputedStyle(element).direction)",
      );
      expect(directions).to.deep.equal(['ltr', 'ltr', 'rtl']);
    });
  });

  describe('mentions and notifications', () => {
    it('highlights @names and marks the message that mentions the reader', async () => {
      const room = uniqueRoom('mention');
      const ana = await enterAs('ana', room);
      const ben = await enterAs('ben', room);
      await send(ben.page, '@Ana can you look? @carl too');
      await waitForMessage(ana, '@Ana can you look? @carl too');
      await waitForMessage(ben, '@Ana can you look? @carl too');
      expect(await ana.page.locator('.room .events .mention').allTextContents()).to.deep.equal(['@Ana', '@carl']);
      expect(await ana.page.locator('.room .events .mention-me').allTextContents()).to.deep.equal(['@Ana']);
      expect(await ana.page.locator('.room .events li.mentions-me').count()).to.equal(1);
      // The same message is no mention of its author.
      expect(await ben.page.locator('.room .events .mention').count()).to.equal(2);
      expect(await ben.page.locator('.room .events .mention-me, .room .events li.mentions-me').count()).to.equal(0);
    });

    it('counts new messages in the title of a hidden tab and clears it when shown', async () => {
      const room = uniqueRoom('title');
      const ana = await enterAs('ana', room);
      const ben = await enterAs('ben', room);
      expect(await ana.page.title()).to.equal(`#${room} · Parley`);
      await setHidden(ana.page, true);
      for (const text of ['one', 'two', 'three']) await send(ben.page, text);
      await eventually(async () => (await ana.page.title()) === `(3) #${room} · Parley`, 'the count of three in the title');
      // Its own messages do not count.
      await setHidden(ben.page, true);
      await send(ben.page, 'mine');
      await waitForMessage(ana, 'mine');
      expect(await ana.page.title()).to.equal(`(4) #${room} · Parley`);
      expect(await ben.page.title()).to.equal(`#${room} · Parley`);
      await setHidden(ana.page, false);
      expect(await ana.page.title()).to.equal(`#${room} · Parley`);
    });

    it('asks for notification permission only on a click, then notifies of mentions while hidden', async () => {
      const room = uniqueRoom('notify');
      const ana = await enterAs('ana', room);
      const ben = await enterAs('ben', room);
      const enable = ana.page.getByRole('button', { name: 'Enable notifications' });
      expect(await enable.isVisible()).to.equal(true);
      // Nothing asked the browser before the click.
      expect(await ana.page.evaluate<boolean[]>('window.__permissionAsks')).to.deep.equal([]);
      await enable.click();
      await enable.waitFor({ state: 'hidden', timeout: SHOW_TIMEOUT_MS });
      expect(await ana.page.evaluate<boolean[]>('window.__permissionAsks')).to.deep.equal([true]);

      await setHidden(ana.page, true);
      await send(ben.page, 'no mention here');
      await send(ben.page, 'hey @ana, the build is red');
      await waitForMessage(ana, 'hey @ana, the build is red');
      const shown = await ana.page.evaluate<Array<{ title: string; body: string }>>('window.__notifications');
      expect(shown.map(({ title, body }) => ({ title, body }))).to.deep.equal([
        { title: `ben mentioned you in #${room}`, body: 'hey @ana, the build is red' },
      ]);
      // ben never allowed notifications: none for him whatever is said.
      await send(ana.page, '@ben fixing it');
      await waitForMessage(ben, '@ben fixing it');
      expect(await ben.page.evaluate<unknown[]>('window.__notifications')).to.deep.equal([]);
    });

    it('keeps each room\'s unread count across a reload', async () => {
      const shownRoom = uniqueRoom('unread-a');
      const otherRoom = uniqueRoom('unread-b');
      const ana = await enterAs('ana', otherRoom);
      await openRoom(ana, shownRoom);
      const ben = await enterAs('ben', otherRoom);
      await send(ben.page, 'first');
      await send(ben.page, 'second');
      await eventually(async () => (await unreadOf(ana.page, otherRoom)) === '2', 'two unread');
      await ana.page.reload();
      await ana.page.getByLabel('Message').waitFor({ timeout: SHOW_TIMEOUT_MS });
      await eventually(async () => (await unreadOf(ana.page, otherRoom)) === '2', 'two unread after the reload');
      expect(await unreadOf(ana.page, shownRoom)).to.equal(null);
      // Reading the room clears it, for good.
      await ana.page.locator('.tabs a', { hasText: `#${otherRoom}` }).click();
      await waitForMessage(ana, 'second');
      expect(await unreadOf(ana.page, otherRoom)).to.equal(null);
      await ana.page.reload();
      await ana.page.getByLabel('Message').waitFor({ timeout: SHOW_TIMEOUT_MS });
      await waitForMessage(ana, 'second');
      expect(await unreadOf(ana.page, otherRoom)).to.equal(null);
    });
  });

  describe('sending that survives', () => {
    it('resends messages written offline by itself, in order, each with its own clientId once stored', async () => {
      const room = uniqueRoom('resend');
      const ana = await enterAs('ana', room);
      const ben = await enterAs('ben', room);
      const stored: string[] = [];
      ana.page.on('requestfinished', (request) => {
        if (request.method() === 'POST' && request.url().endsWith('/say')) stored.push(request.postData() ?? '');
      });
      await ana.context.setOffline(true);
      const lines = ['written offline 1', 'written offline 2', 'written offline 3'];
      for (const line of lines) await send(ana.page, line);
      await eventually(async () => (await ana.page.locator('.pending.queued').count()) === 3, 'three queued messages');
      expect(await ana.page.locator('.pending .status').first().textContent()).to.match(/not sent yet/);
      expect(await ana.page.getByRole('button', { name: 'Retry' }).count()).to.equal(0);

      await ana.context.setOffline(false);
      for (const person of [ana, ben]) {
        await eventually(async () => (await shownMessages(person.page)).length === 3, 'the three messages');
        expect(await shownMessages(person.page)).to.deep.equal(lines);
      }
      expect(await ana.page.locator('.pending').count()).to.equal(0);
      // One stored say per message, in the order written, none sent twice.
      const sent = stored.map((body) => JSON.parse(body) as { text: string; clientId: string });
      expect(sent.map((say) => say.text)).to.deep.equal(lines);
      expect(new Set(sent.map((say) => say.clientId)).size).to.equal(3);
    });

    it('after a 429 waits the Retry-After seconds, then sends the queue by itself', async () => {
      const room = uniqueRoom('rate');
      const ana = await enterAs('ana', room);
      // The web tier's own limit has a one-minute window: too long for a test.
      // The browser answers the first say with the 429 the web tier would send.
      let refusedAt = 0;
      const sayTimes: number[] = [];
      const clientIds: string[] = [];
      await ana.page.route(`**/api/rooms/${room}/say`, async (route) => {
        sayTimes.push(Date.now());
        clientIds.push((JSON.parse(route.request().postData() ?? '{}') as { clientId: string }).clientId);
        if (refusedAt === 0) {
          refusedAt = Date.now();
          await route.fulfill({
            status: 429,
            headers: { 'retry-after': '2', 'content-type': 'application/json' },
            body: JSON.stringify({ error: { code: 'rate_limited', message: 'too many requests' } }),
          });
          return;
        }
        await route.continue();
      });
      await send(ana.page, 'first after the limit');
      await send(ana.page, 'second after the limit');
      await ana.page.locator('.pending.queued .status', { hasText: 'sending again in 2 s' }).waitFor({ timeout: SHOW_TIMEOUT_MS });
      await eventually(async () => (await shownMessages(ana.page)).length === 2, 'both messages stored', 10_000);
      expect(await shownMessages(ana.page)).to.deep.equal(['first after the limit', 'second after the limit']);
      // Refused once, then one say each; the first resent with its clientId, not before 2 s.
      expect(sayTimes).to.have.length(3);
      expect((sayTimes[1] ?? 0) - refusedAt).to.be.at.least(1900);
      expect(clientIds[1]).to.equal(clientIds[0]);
      expect(clientIds[2]).to.not.equal(clientIds[0]);
    });
  });

  describe('small things', () => {
    it('signs out: the session ends on the server and the page asks for a nickname again', async () => {
      const room = uniqueRoom('signout');
      const ana = await enterAs('ana', room);
      await ana.page.getByRole('button', { name: 'Sign out' }).click();
      await ana.page.getByLabel('Nickname', { exact: true }).waitFor({ timeout: SHOW_TIMEOUT_MS });
      expect(await ana.page.locator('.tabs .tab-name').count()).to.equal(0);
      expect(await ana.page.getByRole('button', { name: 'Sign out' }).isVisible()).to.equal(false);
      const status = await ana.page.evaluate<number>("fetch('/api/session').then((answer) => answer.status)");
      expect(status).to.equal(401);
      await ana.page.reload();
      await ana.page.getByLabel('Nickname', { exact: true }).waitFor({ timeout: SHOW_TIMEOUT_MS });
    });

    it('loads with a favicon and no 404, and names colour emoji fonts', async () => {
      const context = await chromium.browser.newContext();
      const page = await context.newPage();
      people.push({ context, page, problems: [] });
      const missing: string[] = [];
      page.on('response', (response) => {
        if (response.status() === 404) missing.push(response.url());
      });
      const iconLoaded = page.waitForResponse((response) => response.url().endsWith('/assets/favicon.svg'), { timeout: SHOW_TIMEOUT_MS });
      await page.goto(`${fixture.cluster.publicUrl}/`);
      expect((await iconLoaded).status()).to.equal(200);
      const direct = await page.request.get(`${fixture.cluster.publicUrl}/favicon.ico`);
      expect(direct.status()).to.equal(200);
      expect(direct.headers()['content-type']).to.equal('image/svg+xml');
      expect(missing).to.deep.equal([]);
      const fonts = await page.evaluate<string>('getComputedStyle(document.body).fontFamily');
      for (const font of ['"Apple Color Emoji"', '"Segoe UI Emoji"', '"Noto Color Emoji"']) expect(fonts).to.include(font);
    });

    it('separates days, and folds a long message behind "Show more"', async () => {
      const room = uniqueRoom('fold');
      const ana = await enterAs('ana', room);
      const long = Array.from({ length: 40 }, (_, index) => `log line ${index + 1}`).join('\n');
      await send(ana.page, 'short one');
      await send(ana.page, long);
      await eventually(async () => (await shownMessages(ana.page)).length === 2, 'both messages');
      // Everything happened today: one separator, above the first event.
      const separators = ana.page.locator('.room .events .day-separator:visible');
      expect(await separators.allTextContents()).to.deep.equal(['Today']);
      expect(await ana.page.locator('.room .events li').first().locator('.day-separator').isVisible()).to.equal(true);

      const text = ana.page.locator('.room .events .message .text').nth(1);
      const more = ana.page.getByRole('button', { name: 'Show more' });
      expect(await more.count()).to.equal(1);
      const folded = await text.evaluate((element) => ({ shown: element.clientHeight, whole: element.scrollHeight }));
      expect(folded.shown).to.be.below(folded.whole / 2);
      await more.click();
      const less = ana.page.getByRole('button', { name: 'Show less' });
      expect(await less.getAttribute('aria-expanded')).to.equal('true');
      const unfolded = await text.evaluate((element) => ({ shown: element.clientHeight, whole: element.scrollHeight }));
      expect(unfolded.shown).to.equal(unfolded.whole);
    });

    it('keeps the rooms in the order they were opened, across a reload', async () => {
      const first = uniqueRoom('zz-order');
      const second = uniqueRoom('aa-order');
      const third = uniqueRoom('mm-order');
      const ana = await enterAs('ana', first);
      await openRoom(ana, second);
      await openRoom(ana, third);
      const opened = [`#${first}`, `#${second}`, `#${third}`];
      expect(await tabNames(ana.page)).to.deep.equal(opened);
      await ana.page.reload();
      await ana.page.getByLabel('Message').waitFor({ timeout: SHOW_TIMEOUT_MS });
      await eventually(async () => (await tabNames(ana.page)).length === 3, 'three rooms');
      expect(await tabNames(ana.page)).to.deep.equal(opened);
    });
  });
});
