import { expect } from 'chai';
import type { BrowserContext, Page } from 'playwright-core';
import { createSession, enterRoom, json, say, uniqueRoom } from './helpers/api.js';
import { useBrowser } from './helpers/browser.js';
import { useCluster } from './helpers/cluster-fixture.js';

/** Bound on anything a page must show after an action (a write, its fan-out, a long-poll answer). */
const SHOW_TIMEOUT_MS = 8_000;

interface Person {
  context: BrowserContext;
  page: Page;
  /** Uncaught page errors and console errors (a CSP violation is one). */
  problems: string[];
}

/** The messages shown in the open room: their text, or "message deleted", and whether marked edited. */
async function shownMessages(page: Page): Promise<Array<{ seq: number; text: string; edited: boolean }>> {
  return page.$$eval('.room .events li.message[data-seq]', (items) =>
    items.map((item) => ({
      seq: Number(item.getAttribute('data-seq')),
      text: item.querySelector('.text')?.textContent ?? '',
      edited: item.querySelector('.edited') !== null,
    })),
  );
}

/** The message item of `page` whose text is `text`. */
function messageItem(page: Page, text: string) {
  return page.locator('.room .events li.message', { has: page.locator('.text', { hasText: text }) });
}

describe('cluster: editing, deleting and searching messages in a browser', function () {
  this.timeout(60_000);
  const fixture = useCluster();
  const chromium = useBrowser();
  const people: Person[] = [];

  async function enterAs(nickname: string, room: string): Promise<Person> {
    const context = await chromium.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const person: Person = { context, page, problems: [] };
    people.push(person);
    page.on('pageerror', (error) => person.problems.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
        person.problems.push(`console: ${message.text()}`);
      }
    });
    await page.goto(`${fixture.cluster.publicUrl}/rooms/${room}`);
    await page.getByLabel('Nickname', { exact: true }).fill(nickname);
    await page.getByRole('button', { name: 'Start chatting' }).click();
    await page.getByLabel('Message').waitFor({ timeout: SHOW_TIMEOUT_MS });
    await page.locator('.connection[data-state="live"]').waitFor({ state: 'attached', timeout: SHOW_TIMEOUT_MS });
    return person;
  }

  async function send(person: Person, text: string): Promise<void> {
    const box = person.page.getByLabel('Message');
    await box.fill(text);
    await box.press('Enter');
    await messageItem(person.page, text).waitFor({ timeout: SHOW_TIMEOUT_MS });
    await person.page.locator('.pending').waitFor({ state: 'detached', timeout: SHOW_TIMEOUT_MS });
  }

  afterEach(async () => {
    const problems = people.flatMap((person) => person.problems);
    await Promise.all(people.splice(0).map((person) => person.context.close()));
    expect(problems, 'errors in the pages').to.deep.equal([]);
  });

  it("edits (Up arrow) and deletes one's own message; the other browser and a later one see it, the secret is gone", async () => {
    const room = uniqueRoom('edits');
    const alice = await enterAs('alice', room);
    const bob = await enterAs('bob', room);
    await send(alice, 'my password is hunter2');
    await send(alice, 'typo heer');
    await messageItem(bob.page, 'typo heer').waitFor({ timeout: SHOW_TIMEOUT_MS });
    // Bob is offered no way to change Alice's messages.
    expect(await bob.page.locator('.message-actions').count()).to.equal(0);

    // Up arrow in the empty box edits Alice's last message.
    await alice.page.getByLabel('Message').press('ArrowUp');
    const editBox = alice.page.getByLabel('Edit message');
    await editBox.fill('typo here');
    await editBox.press('Enter');
    for (const person of [alice, bob]) {
      await messageItem(person.page, 'typo here').locator('.edited', { hasText: '(edited)' }).waitFor({ timeout: SHOW_TIMEOUT_MS });
    }

    const secret = messageItem(alice.page, 'hunter2');
    await secret.hover();
    await secret.getByRole('button', { name: 'Delete', exact: true }).click();
    await secret.getByRole('button', { name: 'Delete for everyone' }).click();
    for (const person of [alice, bob]) {
      await person.page.locator('.room .events li.message.deleted .text', { hasText: 'message deleted' }).waitFor({ timeout: SHOW_TIMEOUT_MS });
      expect(await person.page.locator('.room .log').textContent()).to.not.include('hunter2');
      expect((await shownMessages(person.page)).map(({ text, edited }) => [text, edited])).to.deep.equal([
        ['message deleted', false],
        ['typo here', true],
      ]);
    }

    // A browser that opens the room afterwards gets the same from history.
    const carol = await enterAs('carol', room);
    await carol.page.locator('.room .events li.message.deleted').waitFor({ timeout: SHOW_TIMEOUT_MS });
    expect((await shownMessages(carol.page)).map(({ text, edited }) => [text, edited])).to.deep.equal([
      ['message deleted', false],
      ['typo here', true],
    ]);
    const history = await json<{ events: unknown[] }>(`${fixture.cluster.publicUrl}/api/rooms/${room}/events?after=0`, { expected: 200 });
    expect(JSON.stringify(history)).to.not.include('hunter2');
  });

  it('finds a message with the search box and shows it in context, older than the page holds', async () => {
    const room = uniqueRoom('search');
    const writer = await createSession(fixture.cluster.publicUrl, 'dora');
    await enterRoom(fixture.cluster.publicUrl, writer, room);
    const needle = await say(fixture.cluster.publicUrl, writer, room, 'the deploy key rotates on Fridays');
    for (let index = 0; index < 60; index++) await say(fixture.cluster.publicUrl, writer, room, `filler ${index}`);
    const reader = await enterAs('erin', room);
    // The room shows its latest 50 events: the needle is not among them.
    await messageItem(reader.page, 'filler 59').waitFor({ timeout: SHOW_TIMEOUT_MS });
    expect(await messageItem(reader.page, 'deploy key').count()).to.equal(0);

    await reader.page.getByRole('searchbox', { name: `Search #${room}` }).fill('DEPLOY rotat');
    await reader.page.getByRole('searchbox', { name: `Search #${room}` }).press('Enter');
    const result = reader.page.locator('.search-result', { hasText: 'the deploy key rotates on Fridays' });
    await result.waitFor({ timeout: SHOW_TIMEOUT_MS });
    expect(await reader.page.locator('.search-result').count()).to.equal(1);
    await result.click();
    const found = reader.page.locator(`.room .events li.message[data-seq="${needle.seq}"]`);
    await found.and(reader.page.locator('.found')).waitFor({ timeout: SHOW_TIMEOUT_MS });
    expect(await found.isVisible()).to.equal(true);
    await expectInView(found);
    // The history between the needle and the page's first event was read too: no gap.
    const seqs = (await shownMessages(reader.page)).map((message) => message.seq);
    expect(seqs[0]).to.be.at.most(needle.seq);
    expect(seqs).to.deep.equal(Array.from({ length: seqs.length }, (_, index) => (seqs[0] as number) + index));
  });
});

async function expectInView(locator: ReturnType<Page['locator']>): Promise<void> {
  const inView = await locator.evaluate((element) => {
    const log = element.closest('.log');
    if (log === null) return false;
    const box = element.getBoundingClientRect();
    const area = log.getBoundingClientRect();
    return box.top >= area.top && box.bottom <= area.bottom;
  });
  expect(inView, 'the message scrolled into view').to.equal(true);
}
