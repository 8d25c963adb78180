import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium, installed by scripts/setup.sh (`npx playwright install` cannot work offline). */
export const CHROMIUM_PATH = process.env.PARLEY_CHROMIUM ?? '/usr/bin/chromium';

// Headless on a closed network: without the background-networking flags
// Chromium keeps dialling Google's hosts and its connections are refused.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Starts one headless Chromium for the calling `describe` (Playwright gives it
 * a fresh temporary profile) and closes it afterwards. Each test opens its own
 * `browser.newContext()`: separate cookies and storage, like two people.
 */
export function useBrowser(): { readonly browser: Browser } {
  let running: Browser | undefined;
  before(async function () {
    this.timeout(30_000);
    running = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 20_000 });
  });
  after(async function () {
    this.timeout(15_000);
    await running?.close();
  });
  return {
    get browser(): Browser {
      if (!running) throw new Error('Chromium did not start');
      return running;
    },
  };
}
