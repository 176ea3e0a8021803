// examples/site in a real browser: its <img srcset> is built by kinu/client (client/index.js loaded as a plain
// ES module through an import map), and for a 400 px viewport the browser asks a real kinu for w=400 at dpr 1
// and w=800 at dpr 2 — and for nothing else. Screenshots are saved under a temp folder (printed as a diagnostic).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { srcset } from 'kinu/client';
import { sniffForeign, toSharpInput } from '../../src/pipeline/foreign/index.ts';
import { decode, EXAMPLES, tempDir, testServer } from '../helpers.ts';
import { launchBrowser } from './launch.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };

/** kinu over the sample images on 127.0.0.1, recording every request line it receives (hits included). */
async function kinu(t: TestContext): Promise<{ base: string; seen: string[] }> {
  const { app } = testServer({ KINU_SOURCE: EXAMPLES });
  const seen: string[] = [];
  app.server.prependListener('request', (req) => {
    seen.push(req.url ?? '');
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => app.close());
  return { base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, seen };
}

/** The repository's examples/site/ and client/ as static files, nothing else. */
async function site(t: TestContext): Promise<string> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(
      /\/$/,
      '/index.html',
    );
    if (!/^\/(examples\/site|client)\/[\w.-]+$/.test(path)) {
      res.writeHead(404).end();
      return;
    }
    readFile(join(ROOT, path)).then(
      (body) => res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('examples/site: a srcset built by kinu/client makes the browser fetch w=400 at dpr 1 and w=800 at dpr 2', async (t) => {
  const browser = await launchBrowser(t);
  if (!browser) return;
  const { base, seen } = await kinu(t);
  const page0 = await site(t);
  const dir = tempDir('kinu-site-');
  t.diagnostic(`screenshots in ${dir}`);

  for (const [dpr, expected] of [
    [1, 400],
    [2, 800],
  ] as const) {
    const context = await browser.newContext({ viewport: { width: 400, height: 700 }, deviceScaleFactor: dpr });
    t.after(() => context.close());
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    const images: { url: string; type: string | undefined; body: Promise<Buffer> }[] = [];
    page.on('response', (r) => {
      if (r.url().startsWith(`${base}/`))
        images.push({ url: r.url(), type: r.headers()['content-type'], body: r.body() });
    });
    const before = seen.length;

    await page.goto(`${page0}/examples/site/?kinu=${encodeURIComponent(base)}&key=pigeons.jpg`);
    await page.waitForFunction(
      () => document.body.dataset.state === 'loaded' || document.body.dataset.state === 'error',
    );
    const shown = await page.evaluate(() => {
      const img = document.querySelector<HTMLImageElement>('#hero img')!;
      return {
        state: document.body.dataset.state,
        currentSrc: img.currentSrc,
        srcset: img.getAttribute('srcset'),
        sizes: img.getAttribute('sizes'),
        naturalWidth: img.naturalWidth,
        naturalHeight: img.naturalHeight,
        cssWidth: img.getBoundingClientRect().width,
        dpr: devicePixelRatio,
        text: document.getElementById('chosen')!.textContent,
      };
    });
    await page.screenshot({ path: join(dir, `site-400px-dpr${dpr}.png`), fullPage: true });
    const label = `dpr ${dpr}`;
    assert.equal(shown.state, 'loaded', `${label}: ${shown.text}`);
    assert.equal(shown.dpr, dpr);
    assert.deepEqual(problems, [], label);

    // The page ran the same builder as Node does here.
    assert.equal(shown.srcset, srcset(base, 'pigeons.jpg', [1600, 400, 200, 800], { fmt: 'auto' }));
    assert.equal(shown.sizes, '(min-width: 1000px) 50vw, 100vw');

    // What the browser chose, and what kinu was asked for: that candidate only (not the src fallback).
    const chosen = new URL(shown.currentSrc);
    assert.equal(chosen.searchParams.get('w'), String(expected), `${label}: chose ${shown.currentSrc}`);
    assert.deepEqual(seen.slice(before), [`${chosen.pathname}${chosen.search}`], `${label}: kinu received`);
    assert.deepEqual(
      images.map((i) => i.url),
      [shown.currentSrc],
      `${label}: the page loaded`,
    );

    // The bytes the browser got are an image that wide; the page shows it at 400 CSS px (density-corrected).
    const image = images[0]!;
    // Chromium 155+ names image/jxl in Accept, and kinu offers JPEG XL first (sharp reads it through kinu's decoder).
    const body = await image.body;
    const jxl = image.type === 'image/jxl';
    const meta = await decode(
      jxl ? (await toSharpInput(body, { maxPixels: 1e8, deadline: Date.now() + 60_000 })).data : body,
    );
    assert.equal(meta.width, expected, `${label}: decoded width`);
    assert.equal(meta.height, Math.round((expected * 2048) / 3082), `${label}: decoded height`);
    assert.ok(
      ['image/jxl', 'image/avif', 'image/webp'].includes(String(image.type)),
      `${label}: fmt=auto gave ${image.type}`,
    );
    if (jxl) assert.equal(sniffForeign(body), 'jxl');
    else assert.equal(meta.format, image.type === 'image/avif' ? 'heif' : 'webp');
    assert.equal(shown.naturalWidth, 400, `${label}: naturalWidth is the intrinsic width after the ${dpr}x density`);
    assert.equal(shown.naturalHeight, Math.round(meta.height! / dpr));
    assert.equal(shown.cssWidth, 400);
    assert.match(shown.text ?? '', new RegExp(`chose the ${expected} px candidate`));
  }
});
