// Debian's Chromium driven by playwright-core (no browser download). Under CI=true a missing browser fails
// the test; elsewhere the test is skipped with a loud reason.
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.KINU_CHROMIUM ?? '/usr/bin/chromium';

export async function launchBrowser(t: TestContext): Promise<Browser | undefined> {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: .ci/run must apt-get install chromium`);
    t.skip(`SKIPPED: no Chromium at ${CHROMIUM} (apt-get install chromium, or set KINU_CHROMIUM); runs under CI=true`);
    return undefined;
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  t.after(() => browser.close());
  return browser;
}
