// JPEG XL end to end (issue 16): originals served at any size (JPEG by default), fmt=jxl written by libjxl in
// the codec pool and read back, fmt=auto offering JPEG XL first to browsers that name it (README "Why JPEG XL
// before AVIF") and never to others, damage as 422, /_kinu/info of a JPEG XL original.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import sharp from 'sharp';
import { sniffForeign, toSharpInput } from '../../src/pipeline/foreign/index.ts';
import { corpus, decode, meanAbsDiff, rgbPixels, tempDir, testServer } from '../helpers.ts';

const ORIENTED = readFileSync(corpus('jxl/bench-oriented-brg-orientation5.jxl'));
const dir = tempDir('kinu-jxl-');
writeFileSync(join(dir, 'oriented.jxl'), ORIENTED);
writeFileSync(join(dir, 'animated.jxl'), readFileSync(corpus('jxl/animation-spline-60frames.jxl')));
writeFileSync(join(dir, 'truncated.jxl'), ORIENTED.subarray(0, ORIENTED.length >> 1));
writeFileSync(join(dir, 'photo.jpg'), readFileSync(corpus('photos/hato-pigeons.jpg')));
writeFileSync(join(dir, 'reference.png'), readFileSync(corpus('jxl/bench-oriented-brg-ref.png')));
const TOKEN = 'jxl-test-token-0123456789abcdef';

// The first job of a fresh codec thread compiles wasm-vips: a timeout far from what a loaded machine needs.
const { app } = testServer({ KINU_SOURCE: dir, KINU_TIMEOUT: '120', KINU_TOKEN: TOKEN });
after(() => app.close());

const CHROME_155 = 'image/jxl,image/avif,image/webp,image/apng,image/*,*/*;q=0.8';
const get = (url: string, accept = '*/*') => app.inject({ url, headers: { accept } });

const OPTS = () => ({ maxPixels: 100_000_000, deadline: Date.now() + 120_000 });

describe('JPEG XL over HTTP', { timeout: 300_000 }, () => {
  test('a JPEG XL original comes out as an upright JPEG by default, like its reference rendering', async () => {
    const res = await get('/oriented.jxl?w=303');
    assert.equal(res.statusCode, 200, res.body.slice(0, 300));
    assert.equal(res.headers['content-type'], 'image/jpeg');
    const m = await decode(res.rawPayload);
    assert.deepEqual([m.format, m.width, m.height, m.exif], ['jpeg', 303, 250, undefined]);
    // The reference rendering carries the same ICC profile: through kinu it is converted to sRGB the same way.
    const ref = await get('/reference.png?w=303&fmt=jpeg');
    const d = meanAbsDiff((await rgbPixels(sharp(res.rawPayload))).data, (await rgbPixels(sharp(ref.rawPayload))).data);
    assert.ok(d < 4, `differs from the reference by ${d.toFixed(2)}`);
  });

  test('an animated JPEG XL stays animated into GIF, with its frames and timing', async () => {
    const res = await get('/animated.jxl?w=64&fmt=gif');
    assert.equal(res.statusCode, 200, res.body.slice(0, 300));
    const m = await decode(res.rawPayload);
    assert.equal(m.format, 'gif');
    assert.ok((m.pages ?? 1) > 1, `${m.pages} frames`);
    // libvips may merge identical frames and add up their delays: the running time is what must stay.
    assert.equal(
      (m.delay ?? []).reduce((a, b) => a + b, 0),
      60 * 20,
    );
    assert.equal(m.loop, 0);
  });

  test('a truncated JPEG XL is 422 corrupt_image', async () => {
    const res = await get('/truncated.jxl?w=100');
    assert.equal(res.statusCode, 422, res.body);
    assert.equal(res.json().code, 'corrupt_image');
  });

  test('fmt=jxl: a JPEG XL file of the asked size that looks like the source', async () => {
    const res = await get('/photo.jpg?w=400&fmt=jxl');
    assert.equal(res.statusCode, 200, res.body.slice(0, 300));
    assert.equal(res.headers['content-type'], 'image/jxl');
    assert.equal(sniffForeign(res.rawPayload), 'jxl');
    const back = await toSharpInput(res.rawPayload, OPTS());
    const want = await rgbPixels(sharp(corpus('photos/hato-pigeons.jpg')).rotate().resize(400));
    assert.deepEqual([back.width, back.height], [want.width, want.height]);
    const d = meanAbsDiff((await rgbPixels(sharp(back.data))).data, want.data);
    assert.ok(d < 5, `differs from the resized source by ${d.toFixed(2)}`);
    // No EXIF of its own: the file is the codestream and nothing else beside its container.
    assert.equal(res.rawPayload.includes('Exif'), false);
  });

  test('fmt=auto: JPEG XL for a browser that names it, before AVIF; never for one that does not', async () => {
    const jxl = await get('/photo.jpg?w=200&fmt=auto', CHROME_155);
    assert.equal(jxl.statusCode, 200, jxl.body.slice(0, 300));
    assert.equal(jxl.headers['content-type'], 'image/jxl');
    assert.match(String(jxl.headers.vary), /accept/i);
    for (const accept of ['image/avif,image/webp,*/*', 'image/jxl;q=0,image/avif,image/webp,*/*', 'image/*', '*/*']) {
      const res = await get('/photo.jpg?w=200&fmt=auto', accept);
      assert.equal(res.statusCode, 200, res.body.slice(0, 300));
      assert.notEqual(res.headers['content-type'], 'image/jxl', accept);
      assert.match(String(res.headers.vary), /accept/i);
    }
    // Without fmt=auto, Accept changes nothing.
    const plain = await get('/photo.jpg?w=200', CHROME_155);
    assert.equal(plain.headers['content-type'], 'image/jpeg');
  });

  test('/_kinu/info describes a JPEG XL original: its upright size and format', async () => {
    const res = await app.inject({ url: '/_kinu/info/oriented.jxl', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.statusCode, 200, res.body.slice(0, 300));
    const info = res.json();
    assert.equal(info.format, 'jxl');
    assert.deepEqual([info.width, info.height], [606, 500]);
  });
});
