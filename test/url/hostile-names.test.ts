// Names from the URL index tables (params, presets, options, filters, formats, colours, gravities): only the
// tables' own entries may match, so Object.prototype's names are 400s. Echoes of what the client sent are cut
// short, and dot-segments are refused in every dialect's keys.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { testServer } from '../helpers.ts';

const { app } = testServer({
  KINU_DIALECTS: 'native=/,imgproxy=/ip,thumbor=/th,tofu=/tofu',
  KINU_PRESETS: '{"thumb":"w=100"}',
  KINU_IMGPROXY_PRESETS: 'small=w:100',
});
after(() => app.close());

const P = 'photos/hato-pigeons.jpg';
const SIG = '0'.repeat(32);
const NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'];

/** Every place a URL names something looked up in a table, by dialect. */
const PLACES = (n: string): string[] => [
  `/${P}?preset=${n}`,
  `/${P}?${n}=1`,
  `/${P}?fmt=${n}`,
  `/${P}?fit=${n}&w=10&h=10`,
  `/${P}?pos=${n}&w=10&h=10`,
  `/${P}?wm=logo.png&wm_pos=${n}`,
  `/${P}?flip=${n}`,
  `/${P}?rot=${n}`,
  `/${P}?anim=${n}`,
  `/${P}?bg=${n}`,
  `/ip/insecure/${n}:1/plain/local:///${P}`,
  `/ip/insecure/pr:${n}/plain/local:///${P}`,
  `/ip/insecure/f:${n}/plain/local:///${P}`,
  `/ip/insecure/plain/local:///${P}@${n}`,
  `/ip/insecure/g:${n}/plain/local:///${P}`,
  `/ip/insecure/rt:${n}/plain/local:///${P}`,
  `/ip/insecure/el:${n}/plain/local:///${P}`,
  `/ip/insecure/wm:1:${n}/plain/local:///${P}`,
  `/th/unsafe/filters:fill(${n})/${P}`,
  `/th/unsafe/filters:fill(red,${n})/${P}`,
  `/th/unsafe/filters:background_color(${n})/${P}`,
  `/th/unsafe/filters:sharpen(1,1,${n})/${P}`,
  `/th/unsafe/filters:watermark(logo.png,${n},0,0)/${P}`,
  `/th/unsafe/filters:watermark(logo.png,0,${n},0)/${P}`,
  `/tofu/photos/hato-pigeons/${n}/${SIG}.jpg`,
  `/tofu/photos/hato-pigeons/100/${SIG}.${n}`,
];

describe('Object.prototype names are not table entries', () => {
  for (const n of NAMES) {
    test(n, async () => {
      for (const url of PLACES(n)) {
        const r = await app.inject({ url });
        assert.equal(r.statusCode, 400, `${url}: ${r.body.slice(0, 200)}`);
        assert.equal(r.json().code, 'invalid_param', url);
      }
    });
  }
});

// thumbor ignores a format() it does not know, and a filter name it has none for, and so does kinu: the
// original as it is, not a table entry.
test('thumbor format(<Object.prototype name>) and filters:<name>() are ignored: the original format, full size', async () => {
  for (const n of NAMES) {
    for (const url of [`/th/unsafe/filters:format(${n})/${P}`, `/th/unsafe/filters:${n}()/${P}`]) {
      const r = await app.inject({ url });
      assert.equal(r.statusCode, 200, url);
      assert.equal(r.headers['content-type'], 'image/jpeg', url);
    }
  }
});

describe('echoes are bounded', () => {
  test('an unknown param name is cut to 32 characters in the detail', async () => {
    const name = 'x'.repeat(4000);
    const r = await app.inject({ url: `/${P}?${name}=1` });
    assert.equal(r.statusCode, 400);
    const { detail } = r.json() as { detail: string };
    assert.ok(detail.startsWith(`${'x'.repeat(32)}…: unknown parameter`), detail.slice(0, 80));
    assert.ok(!detail.includes('x'.repeat(33)));
  });

  test('unknown imgproxy options and unreadable thumbor filters too', async () => {
    for (const url of [
      `/ip/insecure/${'y'.repeat(4000)}:1/plain/local:///${P}`,
      `/th/unsafe/filters:9${'y'.repeat(4000)}()/${P}`,
    ]) {
      const r = await app.inject({ url });
      assert.equal(r.statusCode, 400, url.slice(0, 40));
      // A name is cut to 32 characters, an unreadable filter call to 64 (errors.ts quoted()).
      assert.ok(!r.body.includes('y'.repeat(65)), r.body.slice(0, 120));
    }
  });

  test('a 404 shows at most 128 characters of the key, and every detail stays under ~1 KiB', async () => {
    const key = `missing/${'é'.repeat(1000)}.jpg`;
    const r = await app.inject({ url: `/${encodeURIComponent(key)}` });
    assert.equal(r.statusCode, 404);
    const { detail } = r.json() as { detail: string };
    assert.ok(detail.length < 200, `${detail.length} characters`);
    const route = await app.inject({ url: `/_kinu/${'z'.repeat(8000)}` });
    assert.equal(route.statusCode, 404);
    assert.ok((route.json() as { detail: string }).detail.length <= 1025);
  });
});

describe('dot-segments are refused in every dialect', () => {
  const KEYS = ['.env', 'a/.git/config', '.well-known/x.jpg', 'photos/.hidden.jpg'];
  for (const key of KEYS) {
    test(key, async () => {
      const tofuPath = key.replace(/\.jpg$/, '');
      for (const url of [
        `/${key}`,
        `/${key}?w=10`,
        `/${key.replaceAll('.', '%2E')}`,
        `/ip/insecure/w:10/plain/local:///${key}`,
        `/ip/insecure/w:10/${Buffer.from(`local:///${key}`).toString('base64url')}`,
        `/th/unsafe/10x10/${key}`,
        `/tofu/${tofuPath}/100/${SIG}.jpg`,
      ]) {
        const r = await app.inject({ url });
        assert.equal(r.statusCode, 400, `${url}: ${r.body.slice(0, 200)}`);
        assert.equal(r.json().code, 'invalid_key', `${url}: ${r.body.slice(0, 200)}`);
      }
      // A watermark key is a param: its 400 names wm.
      const wm = await app.inject({ url: `/${P}?wm=${encodeURIComponent(key)}` });
      assert.equal(wm.statusCode, 400);
      assert.match(wm.json().detail, /^wm:/);
    });
  }

  test('dots inside a segment are fine', async () => {
    assert.notEqual((await app.inject({ url: '/photos/hato-pigeons.jpg' })).statusCode, 400);
    assert.equal((await app.inject({ url: '/a.b/c.d.jpg' })).statusCode, 404);
  });
});
