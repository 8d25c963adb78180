import { expect } from 'chai';
import type { BrowserContext, Page } from 'playwright-core';
import { uniqueRoom } from './helpers/api.js';
import { useBrowser } from './helpers/browser.js';
import { useCluster } from './helpers/cluster-fixture.js';

/** Bound on anything a page must show after an action. */
const SHOW_TIMEOUT_MS = 10_000;
const PASSWORD = 'a long enough password';

interface Person {
  context: BrowserContext;
  page: Page;
  username: string;
}

describe('cluster: accounts, private rooms, DMs and kicks in a browser', function () {
  this.timeout(90_000);
  const fixture = useCluster();
  const chromium = useBrowser();
  const people: Person[] = [];

  after(async () => {
    await Promise.all(people.splice(0).map((person) => person.context.close()));
  });

  /** Opens the home page in a fresh context and signs up with the account panel's labelled fields. */
  async function signUp(label: string): Promise<Person> {
    const username = `${label}${Math.random().toString(36).slice(2, 7)}`;
    const context = await chromium.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    people.push({ context, page, username });
    await page.goto(`${fixture.cluster.publicUrl}/`);
    const panel = page.locator('.account');
    await panel.locator('summary', { hasText: 'Sign up' }).click();
    const form = panel.locator('details[open]');
    await form.getByLabel('Username').fill(username);
    await form.getByLabel(/^Password/).fill(PASSWORD);
    await form.getByRole('button', { name: 'Create account' }).click();
    await page.locator('.account-name', { hasText: username }).waitFor({ timeout: SHOW_TIMEOUT_MS });
    return { context, page, username };
  }

  async function panelForm(page: Page, summary: string): Promise<ReturnType<Page['locator']>> {
    const details = page.locator('.account details', { has: page.locator('summary', { hasText: summary }) });
    if ((await details.getAttribute('open')) === null) await details.locator('summary').click();
    return details;
  }

  async function send(page: Page, text: string): Promise<void> {
    const box = page.getByLabel('Message', { exact: true });
    await box.fill(text);
    await box.press('Enter');
  }

  async function messageShown(page: Page, text: string): Promise<void> {
    await page.locator('.room .events li.message .text', { hasText: text }).first().waitFor({ timeout: SHOW_TIMEOUT_MS });
  }

  it('two sign up, one makes a private room and adds the other, a third cannot see it, a DM, a kick', async () => {
    const ana = await signUp('ana');
    const bob = await signUp('bob');
    const eve = await signUp('eve');
    const room = uniqueRoom('team');

    // Ana creates the private room and adds Bob.
    const create = await panelForm(ana.page, 'New private room');
    await create.getByLabel('Room name').fill(room);
    await create.getByRole('button', { name: 'Create' }).click();
    await ana.page.waitForURL(`**/rooms/${room}`, { timeout: SHOW_TIMEOUT_MS });
    await ana.page.getByLabel('Message', { exact: true }).waitFor({ timeout: SHOW_TIMEOUT_MS });
    const members = await panelForm(ana.page, 'Members of this room');
    await members.getByLabel('Username').fill(bob.username);
    await members.getByRole('button', { name: 'Add member' }).click();
    await send(ana.page, 'welcome to the team');

    // Bob reads and writes there; an account's name carries its mark.
    await bob.page.goto(`${fixture.cluster.publicUrl}/rooms/${room}`);
    await messageShown(bob.page, 'welcome to the team');
    expect(await bob.page.locator('.room .events li.message .author-mark.account', { hasText: `@${ana.username}` }).count()).to.be.above(0);
    await send(bob.page, 'glad to be here');
    await messageShown(ana.page, 'glad to be here');

    // Eve cannot see it: not listed, and opening it shows nothing of it.
    await eve.page.goto(`${fixture.cluster.publicUrl}/rooms/${room}`);
    await eve.page.locator('.room', { hasText: 'Could not enter' }).waitFor({ timeout: SHOW_TIMEOUT_MS });
    const eveText = await eve.page.locator('body').innerText();
    expect(eveText).to.not.include('welcome to the team');
    const listed = await eve.page.evaluate(async () => (await (await fetch('/api/rooms')).json()) as { rooms: Array<{ name: string }> });
    expect(listed.rooms.map((entry) => entry.name)).to.not.include(room);

    // Bob messages Ana directly from her name in the room.
    await bob.page.locator(`.room .events button[data-dm-user="${ana.username}"]`).first().click();
    await bob.page.waitForURL('**/rooms/dm-*', { timeout: SHOW_TIMEOUT_MS });
    const dmPath = new URL(bob.page.url()).pathname;
    await bob.page.getByLabel('Message', { exact: true }).waitFor({ timeout: SHOW_TIMEOUT_MS });
    await send(bob.page, 'just between us');
    await bob.page.locator('.dms button', { hasText: ana.username }).waitFor({ timeout: SHOW_TIMEOUT_MS });
    await ana.page.reload();
    await ana.page.locator('.dms button').first().click();
    await ana.page.waitForURL(`**${dmPath}`, { timeout: SHOW_TIMEOUT_MS });
    await messageShown(ana.page, 'just between us');
    await eve.page.goto(`${fixture.cluster.publicUrl}${dmPath}`);
    await eve.page.locator('.room', { hasText: 'Could not enter' }).waitFor({ timeout: SHOW_TIMEOUT_MS });

    // Ana removes Bob: his tab of the room goes, and the room is gone for him.
    await ana.page.goto(`${fixture.cluster.publicUrl}/rooms/${room}`);
    await ana.page.getByLabel('Message', { exact: true }).waitFor({ timeout: SHOW_TIMEOUT_MS });
    const kick = await panelForm(ana.page, 'Members of this room');
    await kick.getByLabel('Username').fill(bob.username);
    await kick.getByRole('button', { name: 'Remove member' }).click();
    await ana.page.locator('.room .events li.notice', { hasText: `removed ${bob.username}` }).waitFor({ timeout: SHOW_TIMEOUT_MS });
    await bob.page.locator('.tabs .tab-name', { hasText: `#${room}` }).waitFor({ state: 'detached', timeout: SHOW_TIMEOUT_MS });
    await send(ana.page, 'after bob left');
    await bob.page.goto(`${fixture.cluster.publicUrl}/rooms/${room}`);
    await bob.page.locator('.room', { hasText: 'Could not enter' }).waitFor({ timeout: SHOW_TIMEOUT_MS });
    expect(await bob.page.locator('body').innerText()).to.not.include('after bob left');
  });
});
