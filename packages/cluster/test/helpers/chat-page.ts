import type { BrowserContext, Page } from 'playwright-core';

/** Bound on anything a page must show after an action (a write, its fan-out, a long-poll answer). */
export const SHOW_TIMEOUT_MS = 8_000;

/** One person: a browser context of their own (cookies, storage) and its page. */
export interface Person {
  context: BrowserContext;
  page: Page;
  /** Uncaught page errors and console errors (a CSP violation is one). */
  problems: string[];
}

/**
 * Collects `page`'s script errors and console errors into `problems`. A
 * refused request (GET /api/session is 401 before a nickname is picked,
 * everything fails while offline) is logged by the browser itself; a CSP
 * violation or a script error is what must never happen.
 */
export function collectProblems(page: Page, problems: string[]): void {
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      problems.push(`console: ${message.text()}`);
    }
  });
}

/** Polls `probe` until it returns true, or fails with `what` after `timeoutMs`. */
export async function eventually(probe: () => Promise<boolean>, what: string, timeoutMs = SHOW_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The stored events shown in the open room: seq and text (messages) or notice line. */
export async function shownEvents(page: Page): Promise<Array<{ seq: number; id: string; type: string; text: string }>> {
  return page.$$eval('.room .events li[data-seq]', (items) =>
    items.map((item) => ({
      seq: Number(item.getAttribute('data-seq')),
      id: item.getAttribute('data-id') ?? '',
      type: item.classList.contains('message') ? 'message' : 'notice',
      text: (item.querySelector('.text') ?? item.querySelector('.notice-text'))?.textContent ?? '',
    })),
  );
}

/** The texts of the stored messages shown in the open room, in order. */
export async function shownMessages(page: Page): Promise<string[]> {
  return (await shownEvents(page)).filter((event) => event.type === 'message').map((event) => event.text);
}

/** Waits until the page's observe has answered (its banner says live). */
export async function waitUntilLive(page: Page): Promise<void> {
  await page.locator('.connection[data-state="live"]').waitFor({ state: 'attached', timeout: SHOW_TIMEOUT_MS });
}

/** Types `text` in the box labelled Message and presses Enter. */
export async function send(page: Page, text: string): Promise<void> {
  const box = page.getByLabel('Message');
  await box.fill(text);
  await box.press('Enter');
}
