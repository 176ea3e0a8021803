// Varnish revalidating an expired variant with kinu's ETag, then banning it. A 304 carries no X-Kinu-Key (RFC 9110
// §15.4.5: no representation metadata beyond what a cache updates), so a ban by original can only still match the
// refreshed object because Varnish keeps the stored headers a 304 does not replace (RFC 9111 §4.3.4). Its own stack:
// one kinu with a 1 s max-age on a file source, behind the shipped VCL.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { EXAMPLES } from '../helpers.ts';
import {
  eventually,
  freePort,
  sleep,
  startKinu,
  startVarnish,
  stop,
  varnishSkip,
  type KinuProcess,
  type VarnishProcess,
} from './harness.ts';

const SKIP = varnishSkip('the revalidation stack test');

const TOKEN = 'revalidate-test-token-0123456789';
const OTHER_JPEG = readFileSync(join(EXAMPLES, 'pigeons.jpg'));

let dir: string;
let kinu: KinuProcess | undefined;
let varnish: VarnishProcess | undefined;

async function get(path: string, init: RequestInit = {}) {
  const r = await fetch(`${varnish!.url}${path}`, init);
  return { status: r.status, headers: r.headers, body: Buffer.from(await r.arrayBuffer()) };
}

/** kinu's own count of image 304s (kinu_http_requests_total). */
async function notModified(): Promise<number> {
  const text = await (await fetch(`${kinu!.url}/_kinu/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(/^kinu_http_requests_total\{([^}]*)\} (\d+)/gm))
    if (m[1]!.includes('route="image"') && m[1]!.includes('status="304"')) n += Number(m[2]);
  return n;
}

describe('stack: Varnish revalidates with If-None-Match, and a ban still finds the refreshed variant', {
  skip: SKIP,
}, () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kinu-revalidate-'));
    const source = join(dir, 'originals');
    mkdirSync(source);
    copyFileSync(join(EXAMPLES, 'kimono.jpg'), join(source, 'kimono.jpg'));
    const varnishPort = await freePort();
    kinu = await startKinu('kinu1', {
      KINU_SOURCE: source,
      // Expired a second after it is stored: Varnish then revalidates (beresp.keep) instead of fetching anew.
      KINU_CACHE_CONTROL: 'public, max-age=1',
      KINU_TOKEN: TOKEN,
      KINU_PURGE_URL: `http://127.0.0.1:${varnishPort}/`,
    });
    varnish = await startVarnish(dir, [kinu], varnishPort);
  });

  after(async () => {
    await Promise.all([kinu && stop(kinu.child), varnish?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('expired → 304 from kinu → still banned when the original is replaced', async () => {
    const url = '/kimono.jpg?w=80';
    const first = await get(url);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('x-cache'), 'MISS');
    const before = await sharp(first.body).metadata();
    assert.equal(before.width, 80);

    // Past max-age, inside grace: Varnish answers the stale object and revalidates it in the background.
    await sleep(1500);
    const n304 = await notModified();
    const stale = await get(url);
    assert.equal(stale.status, 200);
    assert.equal(
      await eventually(notModified, (n) => n > n304),
      n304 + 1,
      'Varnish revalidated with If-None-Match and kinu answered 304',
    );
    // The refreshed object answers from Varnish.
    assert.equal((await get(url)).headers.get('x-cache'), 'HIT');

    // Replacing the original makes kinu ban `obj.http.X-Kinu-Key == kimono.jpg`: the refreshed object must match.
    const put = await get('/_kinu/objects/kimono.jpg', {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'image/jpeg' },
      body: new Uint8Array(OTHER_JPEG),
    });
    assert.ok(put.status === 200 || put.status === 201, `PUT: ${put.status} ${put.body}`);
    const after = await get(url);
    assert.equal(after.headers.get('x-cache'), 'MISS', 'the revalidated variant was banned');
    const expected = await sharp(OTHER_JPEG).metadata();
    const m = await sharp(after.body).metadata();
    assert.equal(m.height, Math.round((80 * expected.height!) / expected.width!));
    assert.notEqual(m.height, before.height);
  });
});
