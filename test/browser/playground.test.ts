// The playground in a real browser against a real kinu on 127.0.0.1: controls change the shown image, the
// displayed URL gives the same bytes and is kinu/client's kinuUrl's (signed too), the CSP holds and nothing is
// logged as an error. Screenshots of a desktop and a phone viewport are saved under a temp folder (printed as
// a diagnostic).
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { kinuUrl, PARAM_SPEC, type KinuParams } from '../../client/index.js';
import { PLAYGROUND_CSP } from '../../src/http/playground.ts';
import { EXAMPLES, tempDir, testServer } from '../helpers.ts';
import { launchBrowser } from './launch.ts';

async function serve(t: TestContext, env: Record<string, string> = {}): Promise<string> {
  const { app } = testServer({ KINU_SOURCE: EXAMPLES, ...env });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => app.close());
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

/** Opens the playground (at `hash`, the state the page keeps in its address) and collects console errors, page errors and CSP violations. */
async function open(
  browser: Browser,
  base: string,
  viewport: { width: number; height: number },
  mobile = false,
  hash = '',
) {
  const context = await browser.newContext({
    viewport,
    isMobile: mobile,
    hasTouch: mobile,
    deviceScaleFactor: mobile ? 2 : 1,
  });
  const page = await context.newPage();
  const problems: string[] = [];
  // The bytes behind each blob: URL the page shows, as the browser loaded them into the <img>: the page's CSP
  // keeps even the test's own script from fetching a blob: URL.
  const bodies = new Map<string, Promise<Buffer | undefined>>();
  page.on('response', (r) => {
    if (r.url().startsWith('blob:'))
      bodies.set(
        r.url(),
        r.body().catch(() => undefined),
      );
  });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  // Runs through the DevTools protocol, so the page's CSP does not apply to it.
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) =>
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  const res = await page.goto(`${base}/_kinu/playground${hash}`);
  assert.ok(res, 'no response for the playground');
  await ready(page);
  return { page, res, problems, bodies, close: () => context.close() };
}

const ready = (page: Page) =>
  page.waitForFunction(() => document.querySelector<HTMLElement>('.view')?.dataset.state === 'ready');

/** The shown result: natural size, the facts the page displays, its URL and the bytes the page fetched from it. */
async function shown(page: Page, bodies: Map<string, Promise<Buffer | undefined>>) {
  // No named helpers inside: tsx would wrap them in a __name() the page does not have.
  const s = await page.evaluate(() => {
    const img = document.getElementById('result') as HTMLImageElement;
    const [format, bytes, cache, timing, url] = ['f-format', 'f-bytes', 'f-cache', 'f-timing', 'url'].map(
      (id) => document.getElementById(id)!.textContent!,
    );
    return {
      width: img.naturalWidth,
      src: img.src,
      format: format!,
      bytes: bytes!,
      cache: cache!,
      timing: timing!,
      url: url!,
    };
  });
  const body = await bodies.get(s.src);
  assert.ok(body, `the bytes of ${s.src} (${s.url})`);
  assert.match(s.bytes, new RegExp(`\\(${body.length}\\)$`), 'the page shows the byte count of what it fetched');
  return { ...s, body };
}

test('the playground: width and format reload the image; the shown URL gives the same bytes; strict CSP', async (t) => {
  const browser = await launchBrowser(t);
  if (!browser) return;
  const base = await serve(t);
  const dir = tempDir('kinu-playground-');
  t.diagnostic(`screenshots in ${dir}`);

  const { page, res, problems, bodies, close } = await open(browser, base, { width: 1280, height: 900 });
  t.after(close);
  const csp = res.headers()['content-security-policy'];
  assert.equal(csp, PLAYGROUND_CSP);
  assert.match(csp!, /default-src 'none'/);
  assert.doesNotMatch(csp!, /unsafe-inline|unsafe-eval|\*/);
  assert.equal(res.headers()['x-content-type-options'], 'nosniff');

  // Every param of kinu/client's spec has a labelled control, in the spec's order.
  const labelled = await page.$$eval('#params .param', (rows) =>
    rows.map((r) => {
      const label = r.querySelector('label')!;
      return { name: label.querySelector('code')!.textContent, target: !!document.getElementById(label.htmlFor) };
    }),
  );
  assert.deepEqual(
    labelled.map((l) => l.name),
    Object.keys(PARAM_SPEC),
  );
  assert.ok(
    labelled.every((l) => l.target),
    'every label points at its control',
  );

  const before = await shown(page, bodies);
  assert.equal(before.width, 400);
  assert.match(before.url, /^\/kimono\.jpg\?w=400$/);
  await page.screenshot({ path: join(dir, 'desktop-initial.png'), fullPage: true });

  await page.fill('#p-w', '240');
  await page.selectOption('#p-fmt', 'webp');
  await page.waitForFunction(() => {
    const img = document.getElementById('result') as HTMLImageElement;
    return (
      document.querySelector<HTMLElement>('.view')!.dataset.state === 'ready' &&
      img.naturalWidth === 240 &&
      document.getElementById('f-format')!.textContent === 'image/webp'
    );
  });
  const after = await shown(page, bodies);
  assert.notEqual(after.src, before.src, 'a new image was loaded');
  assert.equal(after.url, '/kimono.jpg?w=240&fmt=webp');
  assert.match(after.cache, /^(miss|memory)$/);
  assert.match(after.timing, /process [\d.]+ ms|cache [\d.]+ ms/);
  const meta = await sharp(after.body).metadata();
  assert.deepEqual([meta.format, meta.width], ['webp', 240]);
  const direct = Buffer.from(await (await fetch(`${base}${after.url}`)).arrayBuffer());
  assert.ok(direct.equals(after.body), 'the displayed URL returns the bytes the page shows');
  assert.match(page.url(), /#key=kimono\.jpg&w=240&fmt=webp$/, 'the state is kept in the address');

  // Keyboard: the w slider moves with the arrow keys and the number follows.
  await page.focus('#params .param:first-child input[type=range]');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('ArrowLeft');
  assert.ok(Number(await page.inputValue('#p-w')) < 240);
  await page.fill('#p-w', '240');
  await page.waitForFunction(() => (document.getElementById('result') as HTMLImageElement).naturalWidth === 240);

  // A bad value: kinu/client refuses it with its message, and no URL is shown or fetched.
  assert.deepEqual(problems.splice(0), []);
  await page.fill('#p-crop', '1,2,3');
  await page.waitForFunction(() => document.querySelector<HTMLElement>('.view')!.dataset.state === 'error');
  assert.equal(await page.textContent('#problem'), 'kinu: crop: expected 4 numbers, got 1,2,3');
  assert.equal(await page.textContent('#url'), '');
  assert.equal(await page.isDisabled('#copy'), true);
  await page.fill('#p-crop', '');
  await ready(page);

  // The server's own refusal still shows its 400 detail (Chromium logs the failed fetch, the one error expected).
  await page.fill('#p-preset', 'nope');
  await page.waitForFunction(() => document.querySelector<HTMLElement>('.view')!.dataset.state === 'error');
  assert.match((await page.textContent('#problem'))!, /^400 invalid_param: preset: /);
  assert.deepEqual(problems.splice(0), [
    'console.error: Failed to load resource: the server responded with a status of 400 (Bad Request)',
  ]);
  await page.fill('#p-preset', '');

  // fmt=json shows the description and draws its ThumbHash.
  await page.selectOption('#p-fmt', 'json');
  await page.waitForFunction(
    () =>
      !document.getElementById('json')!.hidden &&
      document.querySelector<HTMLElement>('.view')!.dataset.state === 'ready',
  );
  const json = JSON.parse((await page.textContent('#json-text'))!) as {
    width: number;
    format: string;
    dominant: string;
  };
  assert.deepEqual([json.width, json.format], [240, 'jpeg']);
  assert.equal(await page.$eval('#thumbhash', (c) => (c as HTMLCanvasElement).width > 1), true);
  await page.screenshot({ path: join(dir, 'desktop-json.png'), fullPage: true });
  await page.selectOption('#p-fmt', 'webp');
  await ready(page);
  await page.screenshot({ path: join(dir, 'desktop.png'), fullPage: true });

  const phone = await open(browser, base, { width: 390, height: 844 }, true);
  t.after(phone.close);
  await phone.page.selectOption('#sample', 'blackbug.png');
  await phone.page.waitForFunction(
    () =>
      /blackbug/.test(document.getElementById('url')!.textContent!) &&
      document.querySelector<HTMLElement>('.view')!.dataset.state === 'ready',
  );
  const overflow = await phone.page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  assert.equal(overflow, 0, 'no sideways scrolling on a phone');
  await phone.page.screenshot({ path: join(dir, 'phone.png') });
  // The result stays on screen while the controls scroll, and a focused control is not hidden under it.
  await phone.page.focus('#p-blur');
  const seen = await phone.page.evaluate(() => {
    const r = document.getElementById('p-blur')!.getBoundingClientRect();
    const v = document.querySelector('.view')!.getBoundingClientRect();
    return {
      hit: document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2)?.id,
      viewTop: v.top,
      scrolled: scrollY,
    };
  });
  assert.deepEqual([seen.hit, seen.viewTop], ['p-blur', 0]);
  assert.ok(seen.scrolled > 500, `scrolled ${seen.scrolled}`);
  await phone.page.screenshot({ path: join(dir, 'phone-scrolled.png') });
  await phone.page.screenshot({ path: join(dir, 'phone-full.png'), fullPage: true });

  assert.deepEqual([...problems, ...phone.problems], []);
});

test('the playground of a signing server (KINU_PLAYGROUND=on) shows signed URLs that work', async (t) => {
  const browser = await launchBrowser(t);
  if (!browser) return;
  const base = await serve(t, { KINU_SECRET: 'playground-secret-0123456789', KINU_PLAYGROUND: 'on' });
  const { page, problems, bodies, close } = await open(browser, base, { width: 1024, height: 768 });
  t.after(close);
  await page.fill('#p-w', '120');
  await page.waitForFunction(
    () =>
      (document.getElementById('result') as HTMLImageElement).naturalWidth === 120 &&
      document.querySelector<HTMLElement>('.view')!.dataset.state === 'ready',
  );
  const s = await shown(page, bodies);
  assert.match(s.url, /^\/kimono\.jpg\?w=120&sig=[A-Za-z0-9_-]{43}$/);
  const direct = await fetch(`${base}${s.url}`);
  assert.equal(direct.status, 200);
  assert.ok(Buffer.from(await direct.arrayBuffer()).equals(s.body));
  assert.equal((await fetch(`${base}/kimono.jpg?w=120`)).status, 403, 'unsigned URLs are still refused');
  assert.deepEqual(problems, []);
});

// Controls with odd characters (set through the page's address, which fills its real controls) over a source
// whose keys need encoding, and a watermark key with a slash: the shown URL is kinuUrl's for the same
// options, byte for byte (signed with the server's secret when it signs), and the server serves it.
const ODD_KEY = 'odd dir/ä b (1)!*.jpg';
const ODD: { strings: Record<string, string>; params: KinuParams } = {
  strings: {
    w: '300',
    dpr: '1.234',
    pos: '0.3,0.6',
    fmt: 'webp',
    q: '70',
    bg: '#FF8800',
    rot: '90',
    flip: 'hv',
    pad: '10',
    wm: 'logos/a.png',
    wm_pos: 'top-left',
    wm_opacity: '0.5',
    wm_scale: '0.25',
    gray: '1',
    preset: 'thumb',
  },
  params: {
    w: 300,
    dpr: 1.234,
    pos: [0.3, 0.6],
    fmt: 'webp',
    q: 70,
    bg: '#FF8800',
    rot: 90,
    flip: 'hv',
    pad: 10,
    wm: 'logos/a.png',
    wm_pos: 'top-left',
    wm_opacity: 0.5,
    wm_scale: 0.25,
    gray: true,
    preset: 'thumb',
  },
};

for (const signed of [false, true]) {
  test(`the playground's URL for odd controls is kinuUrl's${signed ? ', signed as kinuUrl signs' : ''}, and is served`, async (t) => {
    const browser = await launchBrowser(t);
    if (!browser) return;
    const dir = tempDir('kinu-playground-odd-');
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'odd dir'));
    mkdirSync(join(dir, 'logos'));
    copyFileSync(join(EXAMPLES, 'kimono.jpg'), join(dir, ODD_KEY));
    copyFileSync(join(EXAMPLES, 'blackbug.png'), join(dir, 'logos/a.png'));
    const secret = 'playground-secret-0123456789';
    const env = {
      KINU_SOURCE: dir,
      KINU_PRESETS: '{"thumb":"sharpen=1"}',
      ...(signed ? { KINU_SECRET: secret, KINU_PLAYGROUND: 'on' } : {}),
    };
    const base = await serve(t, env);
    const hash = `#${new URLSearchParams({ key: ODD_KEY, ...ODD.strings })}`;
    const { page, problems, bodies, close } = await open(browser, base, { width: 1024, height: 768 }, false, hash);
    t.after(close);

    const expected = kinuUrl('', ODD_KEY, ODD.params, signed ? { secret } : {});
    assert.match(
      expected,
      /^\/odd%20dir\/%C3%A4%20b%20%281%29%21%2A\.jpg\?w=300&dpr=1\.23&.*&bg=ff8800&.*&wm=logos\/a\.png&/,
    );
    const s = await shown(page, bodies);
    assert.equal(s.url, expected);
    assert.equal(await page.getAttribute('#url', 'href'), expected);
    // w=300 at dpr 1.23 (w applies to the rotated image), then 10 of padding each side.
    const meta = await sharp(s.body).metadata();
    assert.deepEqual([meta.format, meta.width], ['webp', 369 + 20]);
    const direct = await fetch(`${base}${s.url}`);
    assert.equal(direct.status, 200);
    assert.ok(Buffer.from(await direct.arrayBuffer()).equals(s.body), 'the shown URL gives the bytes the page shows');
    assert.deepEqual(problems, []);
  });
}
