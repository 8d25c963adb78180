import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { REPO_ROOT } from '../src/supervisor.js';
import { uniqueRoom } from './helpers/api.js';
import { useBrowser } from './helpers/browser.js';
import {
  collectProblems,
  eventually,
  send,
  SHOW_TIMEOUT_MS,
  shownEvents,
  shownMessages,
  waitUntilLive,
  type Person,
} from './helpers/chat-page.js';
import { useCluster } from './helpers/cluster-fixture.js';

// Screenshots land in docs/img only when asked (PARLEY_UPDATE_SCREENSHOTS=1), so an
// ordinary test run leaves the working tree as it found it.
const SCREENSHOT_DIR =
  process.env.PARLEY_UPDATE_SCREENSHOTS === '1' ? join(REPO_ROOT, 'docs/img') : join(tmpdir(), 'parley-screenshots');

describe('cluster: the chat page in a browser', function () {
  this.timeout(30_000);
  const fixture = useCluster();
  const chromium = useBrowser();
  const people: Person[] = [];

  /**
   * Opens the page of `room` (or the home page) in a new context, picks
   * `nickname` in the field labelled Nickname and waits until the room is live
   * with its box labelled Message (or the home page offers the Room field).
   * The person is added to `owner`, which closes them.
   */
  async function enterAs(nickname: string, room: string | undefined, owner: Person[] = people): Promise<Person> {
    const context = await chromium.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const person: Person = { context, page, problems: [] };
    owner.push(person);
    collectProblems(page, person.problems);
    await page.goto(`${fixture.cluster.publicUrl}${room === undefined ? '/' : `/rooms/${room}`}`);
    await page.getByLabel('Nickname', { exact: true }).fill(nickname);
    await page.getByRole('button', { name: 'Start chatting' }).click();
    if (room === undefined) {
      await page.locator('.me-name', { hasText: nickname }).waitFor({ timeout: SHOW_TIMEOUT_MS });
      await page.getByLabel('Room', { exact: true }).waitFor({ timeout: SHOW_TIMEOUT_MS });
      return person;
    }
    await page.getByLabel('Message').waitFor({ timeout: SHOW_TIMEOUT_MS });
    await waitUntilLive(page);
    return person;
  }

  afterEach(async () => {
    const problems = people.flatMap((person) => person.problems);
    await Promise.all(people.splice(0).map((person) => person.context.close()));
    expect(problems, 'errors in the pages').to.deep.equal([]);
  });

  describe('two people in one room', () => {
    // The tests of this block continue one conversation, in order.
    const pair: Person[] = [];
    let alice: Person;
    let bob: Person;

    before(async function () {
      this.timeout(30_000);
      const room = uniqueRoom('chat');
      alice = await enterAs('alice', room, pair);
      bob = await enterAs('bob', room, pair);
    });

    afterEach(() => {
      expect(pair.flatMap((person) => person.problems), 'errors in the pages').to.deep.equal([]);
    });

    after(async () => {
      await Promise.all(pair.map((person) => person.context.close()));
    });

    it('shows each person the other\'s messages once, in order', async () => {
      const lines: Array<[Person, string]> = [
        [alice, 'Hi @bob! Did the release go out? 🚀'],
        [bob, 'It did, about ten minutes ago: https://example.com/releases/42'],
        [alice, 'Great. Any errors in the logs?'],
        [bob, 'None so far. Latency looks normal too 👍'],
        [alice, 'Then I will tell the others.\nThanks!'],
      ];
      // Each line is stored (its 201 came) before the next is typed, so the seq order is the order typed.
      for (const [person, text] of lines) {
        await send(person.page, text);
        await eventually(async () => (await person.page.locator('.pending').count()) === 0, 'the line stored');
      }
      const expected = lines.map(([, text]) => text);

      for (const person of [alice, bob]) {
        await eventually(async () => (await shownMessages(person.page)).length >= expected.length, 'all five messages');
        await eventually(async () => (await person.page.locator('.pending').count()) === 0, 'no message still sending');
      }
      const aliceEvents = await shownEvents(alice.page);
      const bobEvents = await shownEvents(bob.page);
      for (const events of [aliceEvents, bobEvents]) {
        const seqs = events.map((event) => event.seq);
        expect(seqs, 'one item per seq, ascending').to.deep.equal([...new Set(seqs)].sort((a, b) => a - b));
        expect(new Set(events.map((event) => event.id)).size).to.equal(events.length);
      }
      // Each message once, in the order written, in both pages.
      expect(await shownMessages(alice.page)).to.deep.equal(expected);
      expect(await shownMessages(bob.page)).to.deep.equal(expected);
      expect(aliceEvents.map((event) => event.seq)).to.deep.equal(bobEvents.map((event) => event.seq));
    });

    it('shows one person\'s nick change in the other\'s page and occupant list', async () => {
      await alice.page.getByText('Signed in as').click();
      const field = alice.page.getByLabel('Change name to');
      await field.fill('alicia');
      await alice.page.getByRole('button', { name: 'Change', exact: true }).click();

      const notice = bob.page.locator('.notice-nick .notice-text', { hasText: 'alice is now known as alicia' });
      await notice.waitFor({ timeout: SHOW_TIMEOUT_MS });
      await eventually(async () => {
        const names = await bob.page.locator('.occupant-list li').allTextContents();
        return names.includes('alicia') && !names.includes('alice');
      }, 'alicia in the occupant list');
      expect(await alice.page.locator('.me-name').textContent()).to.equal('alicia');
    });

    it('saves screenshots of the room at 1280 and 360 pixels wide', async () => {
      mkdirSync(SCREENSHOT_DIR, { recursive: true });
      await bob.page.setViewportSize({ width: 1280, height: 800 });
      await bob.page.screenshot({ path: join(SCREENSHOT_DIR, 'chat-1280.png') });
      await bob.page.setViewportSize({ width: 360, height: 740 });
      await bob.page.screenshot({ path: join(SCREENSHOT_DIR, 'chat-360.png') });
      await bob.page.setViewportSize({ width: 1280, height: 800 });
      // Nothing sticks out sideways at phone width.
      await bob.page.setViewportSize({ width: 360, height: 740 });
      const overflow = await bob.page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
      expect(overflow).to.equal(0);
      await bob.page.setViewportSize({ width: 1280, height: 800 });
    });

    it('shows markup sent as a message as literal text and runs none of it', async () => {
      const hostile = '<img src=x onerror=window.__pwned=1>';
      await send(bob.page, hostile);
      for (const person of [alice, bob]) {
        await eventually(async () => (await shownMessages(person.page)).includes(hostile), 'the markup as text');
        expect(await person.page.locator('.log img').count()).to.equal(0);
        expect(await person.page.evaluate<unknown>('window.__pwned')).to.equal(undefined);
      }
    });

    it('shows the same history after a reload, nothing lost and nothing twice', async () => {
      await eventually(async () => (await alice.page.locator('.pending').count()) === 0, 'no message still sending');
      const before = await shownEvents(alice.page);
      await alice.page.reload();
      await alice.page.getByLabel('Message').waitFor({ timeout: SHOW_TIMEOUT_MS });
      await eventually(async () => (await shownEvents(alice.page)).length >= before.length, 'the history after the reload');
      const after = await shownEvents(alice.page);
      expect(after).to.deep.equal(before);
      // The room is short, so the whole history is there from seq 1 without a gap.
      expect(after.map((event) => event.seq)).to.deep.equal(after.map((_, index) => index + 1));
    });
  });

  it('marks a send that failed offline and resends it by itself with the same clientId, stored once', async () => {
    const room = uniqueRoom('retry');
    const carol = await enterAs('carol', room);
    const dave = await enterAs('dave', room);
    const sayBodies: string[] = [];
    carol.page.on('request', (request) => {
      if (request.method() === 'POST' && request.url().endsWith('/say')) sayBodies.push(request.postData() ?? '');
    });

    await carol.context.setOffline(true);
    await send(carol.page, 'sent while the network was down');
    await carol.page.locator('.pending.queued').waitFor({ timeout: SHOW_TIMEOUT_MS });
    await carol.page.locator('.connection[data-state="offline"]').waitFor({ timeout: SHOW_TIMEOUT_MS });
    expect(await carol.page.getByRole('status').filter({ hasText: 'offline' }).isVisible()).to.equal(true);
    await carol.context.setOffline(false);
    await waitUntilLive(carol.page);
    expect(await carol.page.locator('.connection').isVisible()).to.equal(false);

    for (const person of [carol, dave]) {
      await eventually(
        async () => (await shownMessages(person.page)).includes('sent while the network was down'),
        'the retried message',
      );
    }
    await eventually(async () => (await carol.page.locator('.pending').count()) === 0, 'the pending line replaced');
    expect((await shownMessages(dave.page)).filter((text) => text === 'sent while the network was down')).to.have.length(1);
    expect((await shownMessages(carol.page)).filter((text) => text === 'sent while the network was down')).to.have.length(1);
    const clientIds = sayBodies.map((body) => (JSON.parse(body) as { clientId?: string }).clientId);
    expect(clientIds.length).to.be.at.least(1);
    expect(new Set(clientIds).size, `clientIds ${clientIds.join(',')}`).to.equal(1);
  });

  it('shares one observe between two tabs of one person', async () => {
    const room = uniqueRoom('two-tabs');
    const gina = await enterAs('gina', room);
    const secondTab = await gina.context.newPage();
    let secondTabObserves = 0;
    secondTab.on('request', (request) => {
      if (request.url().includes('/api/observe')) secondTabObserves++;
    });
    secondTab.on('pageerror', (error) => gina.problems.push(`pageerror: ${error.message}`));
    await secondTab.goto(`${fixture.cluster.publicUrl}/rooms/${room}`);
    await secondTab.getByLabel('Message').waitFor({ timeout: SHOW_TIMEOUT_MS });
    // The follower hears the state from the leading tab.
    await waitUntilLive(secondTab);

    const hank = await enterAs('hank', room);
    await send(hank.page, 'one connection for both tabs');
    for (const [page, tab] of [[gina.page, 'the leading tab'], [secondTab, 'the second tab']] as const) {
      await eventually(async () => (await shownMessages(page)).includes('one connection for both tabs'), `the message in ${tab}`);
      const events = await shownEvents(page);
      expect(new Set(events.map((event) => event.seq)).size).to.equal(events.length);
    }
    expect(secondTabObserves, 'observes sent by the second tab').to.equal(0);
  });

  it('sends a message typed while the room is still being entered once the enter is done', async () => {
    const room = uniqueRoom('early-say');
    const ida = await enterAs('ida', room);
    // The page is live (its observe answered) while its enter is still on the
    // way: a loaded web tier answers a write later than a chatserver a poll.
    const context = await chromium.browser.newContext();
    const page = await context.newPage();
    const jack: Person = { context, page, problems: [] };
    people.push(jack);
    page.on('pageerror', (error) => jack.problems.push(`pageerror: ${error.message}`));
    let releaseEnter: () => void = () => undefined;
    const enterHeld = new Promise<void>((resolve) => {
      releaseEnter = resolve;
    });
    await page.route(`**/api/rooms/${room}/enter`, async (route) => {
      await enterHeld;
      await route.continue();
    });
    await page.goto(`${fixture.cluster.publicUrl}/rooms/${room}`);
    await page.getByLabel('Nickname', { exact: true }).fill('jack');
    await page.getByRole('button', { name: 'Start chatting' }).click();
    await page.getByLabel('Message').waitFor({ timeout: SHOW_TIMEOUT_MS });
    await waitUntilLive(page);
    await send(page, 'typed before the enter was answered');
    // Time for a say sent at once to reach the web tier ahead of the held enter (it is then refused, 409).
    await new Promise((resolve) => setTimeout(resolve, 300));
    releaseEnter();
    await eventually(async () => (await shownMessages(ida.page)).includes('typed before the enter was answered'), 'the message in the other page');
    await eventually(async () => (await page.locator('.pending').count()) === 0, 'no message still sending');
  });

  it('keeps several rooms open over one observe and switches between them without a reload', async () => {
    const first = uniqueRoom('tabs-a');
    const second = uniqueRoom('tabs-b');
    // Home first: a nickname, then a room by name.
    const erin = await enterAs('erin', undefined);
    expect(await erin.page.getByLabel('Nickname', { exact: true }).count()).to.equal(0);
    const observeUrls: string[] = [];
    erin.page.on('request', (request) => {
      if (request.url().includes('/api/observe')) observeUrls.push(request.url());
    });
    await erin.page.getByLabel('Room', { exact: true }).fill(first);
    await erin.page.getByRole('button', { name: 'Enter', exact: true }).click();
    await erin.page.locator('.room h2', { hasText: `#${first}` }).waitFor({ timeout: SHOW_TIMEOUT_MS });
    await waitUntilLive(erin.page);

    // Back home: the rooms list with counts, and the room-name check.
    await erin.page.getByRole('link', { name: 'All rooms' }).click();
    const listed = erin.page.locator(`.room-list li[data-room="${first}"]`);
    await listed.waitFor({ timeout: SHOW_TIMEOUT_MS });
    expect(await listed.locator('.count').textContent()).to.equal('1 online');
    await erin.page.getByLabel('Room', { exact: true }).fill('Not A Room!');
    await erin.page.getByRole('button', { name: 'Enter', exact: true }).click();
    expect(await erin.page.locator('.home .field-error').textContent()).to.match(/lowercase letters, digits/);
    await erin.page.getByLabel('Room', { exact: true }).fill(second);
    await erin.page.getByRole('button', { name: 'Enter', exact: true }).click();
    await erin.page.locator('.room h2', { hasText: `#${second}` }).waitFor({ timeout: SHOW_TIMEOUT_MS });
    expect(new URL(erin.page.url()).pathname).to.equal(`/rooms/${second}`);

    // A marker on window survives only if the page never reloads.
    await erin.page.evaluate('window.__sameDocument = true');
    await erin.page.locator('.tabs a', { hasText: `#${first}` }).click();
    await erin.page.locator('.room h2', { hasText: `#${first}` }).waitFor({ timeout: SHOW_TIMEOUT_MS });
    expect(new URL(erin.page.url()).pathname).to.equal(`/rooms/${first}`);

    // Someone speaks in the room not shown: an unread count, over the same observe.
    const frank = await enterAs('frank', second);
    await send(frank.page, 'anyone around in here?');
    await erin.page.locator('.tabs a', { hasText: `#${second}` }).locator('.unread').waitFor({ timeout: SHOW_TIMEOUT_MS });
    const lastObserve = new URL(observeUrls[observeUrls.length - 1] ?? 'http://x/');
    const cursorRooms = (lastObserve.searchParams.get('rooms') ?? '').split(',').map((entry) => entry.split(':')[0]);
    expect(cursorRooms).to.have.members([first, second]);

    await erin.page.goBack();
    await erin.page.locator('.room h2', { hasText: `#${second}` }).waitFor({ timeout: SHOW_TIMEOUT_MS });
    await eventually(async () => (await shownMessages(erin.page)).includes('anyone around in here?'), 'the message in the second room');
    expect(await erin.page.evaluate<unknown>('window.__sameDocument')).to.equal(true);

    await erin.page.getByRole('button', { name: 'Leave' }).click();
    await erin.page.locator('.room h2', { hasText: `#${first}` }).waitFor({ timeout: SHOW_TIMEOUT_MS });
    expect(await erin.page.locator('.tabs a', { hasText: `#${second}` }).count()).to.equal(0);
  });
});
