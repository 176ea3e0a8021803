// thumbor's frame(url) through the thumbor dialect: the nine-patch read from kinu's source like a watermark, the
// image padded by the frame's borders and the frame's cells stretched over it. The hashes below are the output of
// thumbor's own C (thumbor/ext/filters/_nine_patch.c and _composite.c at thumbor f686b58, compiled with gcc as
// Python extensions and called as frame.py calls them) on the fixtures built here. One line of _nine_patch.c was
// fixed for that: it reads the image mode through `(char *)PyUnicode_AsUTF8String(mode)`, a PyObject taken for
// its text, so on Python 3 every pixel is one byte and nothing is painted; `PyUnicode_AsUTF8` is what it meant.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { applyNinePatch, ninePatchPadding, padOnWhite } from '../../src/pipeline/steps/frame.ts';
import { corpus, tempDir, testServer } from '../helpers.ts';

/** A 12×10 nine-patch: stretchy columns 4–6 and 9, rows 3–4 and 7; content box columns 2–8, rows 2–6; a
 *  transparent hole in the middle and translucent pixels here and there, so blending and interpolation show. */
function ninePatch() {
  const [w, h] = [12, 10];
  const data = Buffer.alloc(w * h * 4);
  const set = (x: number, y: number, p: number[]) => data.set(p, (y * w + x) * 4);
  for (let y = 1; y < h - 1; y++)
    for (let x = 1; x < w - 1; x++) {
      const hole = x >= 3 && x <= 8 && y >= 3 && y <= 6;
      set(x, y, [20 * x, 25 * y, 200, hole ? 0 : (x + y) % 4 === 0 ? 100 : 255]);
    }
  const BLACK = [0, 0, 0, 255];
  for (const x of [4, 5, 6, 9]) set(x, 0, BLACK);
  for (const y of [3, 4, 7]) set(0, y, BLACK);
  for (let x = 2; x <= 8; x++) set(x, h - 1, BLACK);
  for (let y = 2; y <= 6; y++) set(w - 1, y, BLACK);
  return { data, width: w, height: h };
}

/** An RGBA ramp with transparent and half-transparent pixels (merged onto white by the filter). */
function image(w: number, h: number) {
  const data = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const a = (x + y) % 5 === 0 ? 0 : (x + y) % 3 === 0 ? 128 : 255;
      data.set([(x * 11) % 256, (y * 15) % 256, (x * y * 7) % 256, a], (y * w + x) * 4);
    }
  return { data, width: w, height: h };
}

/** sha256 of the RGBA output of thumbor's C for image(w, h) framed by ninePatch(), and its size. */
const THUMBOR_C: [w: number, h: number, W: number, H: number, sha256: string][] = [
  [23, 17, 26, 20, 'b2a22ab0740039040da296e3e70332bf12eb3afe988d9cd0dd248164ab98ea55'],
  // Smaller than the frame's fixed cells: thumbor skips the cells that do not fit.
  [2, 2, 5, 5, '12c309c9b45e9932fdc1d89e4803e57c0b6d8eeb76f29379af6c762ea8c28db0'],
  [40, 9, 43, 12, '53787cd79de14fd271a11d8a8f3a2d2bd8eeb3e86f2f95c7c4d62d68e0c542de'],
];
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const png = (m: { data: Buffer; width: number; height: number }) =>
  sharp(m.data, { raw: { width: m.width, height: m.height, channels: 4 } })
    .png()
    .toBuffer();

describe("thumbor's nine-patch arithmetic (steps/frame.ts)", () => {
  test('_get_padding: the borders from the bottom row and right column, (l, t, r, b) = (1, 1, 2, 2)', () => {
    assert.deepEqual(ninePatchPadding(ninePatch()), [1, 2, 2, 1]); // top, right, bottom, left
  });

  test('handle_padding + _nine_patch.apply give the bytes thumbor’s C gives', () => {
    const np = ninePatch();
    for (const [w, h, W, H, hash] of THUMBOR_C) {
      const img = image(w, h);
      const out = padOnWhite(img.data, w, h, ninePatchPadding(np));
      applyNinePatch(out.data, out.width, out.height, np);
      assert.deepEqual([out.width, out.height], [W, H]);
      assert.equal(sha(out.data), hash, `${w}×${h}`);
    }
  });
});

describe('frame() over HTTP', () => {
  const DIR = tempDir('kinu-thumbor-frame-');
  const { app } = testServer({
    KINU_SOURCE: DIR,
    KINU_DIALECTS: 'thumbor=/th',
    KINU_MEMORY_CACHE_MB: '0',
    KINU_STAT_TTL: '0',
  });
  before(async () => {
    writeFileSync(join(DIR, 'np.png'), await png(ninePatch()));
    for (const [w, h] of THUMBOR_C) writeFileSync(join(DIR, `img-${w}x${h}.png`), await png(image(w, h)));
    copyFileSync(corpus('photos/hato-pigeons.jpg'), join(DIR, 'photo.jpg'));
    copyFileSync(corpus('png/rgba.png'), join(DIR, 'rgba.png'));
    copyFileSync(corpus('gif/animated-rotating-squares.gif'), join(DIR, 'anim.gif'));
    copyFileSync(corpus('png/rgb16-photo.png'), join(DIR, 'rgb16.png'));
    copyFileSync(corpus('png/pngsuite/basn0g16.png'), join(DIR, 'grey16.png'));
  });
  after(async () => {
    await app.close();
    rmSync(DIR, { recursive: true, force: true });
  });

  const rgba = async (body: Buffer) => sharp(body).ensureAlpha().raw().toBuffer({ resolveWithObject: true });

  test('a PNG framed as thumbor frames it: the padded size and every pixel of its C', async () => {
    for (const [w, h, W, H, hash] of THUMBOR_C) {
      const res = await app.inject({ url: `/th/unsafe/filters:frame(np.png)/img-${w}x${h}.png` });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['content-type'], 'image/png');
      const { data, info } = await rgba(res.rawPayload);
      assert.deepEqual([info.width, info.height], [W, H]);
      assert.equal(sha(data), hash, `${w}×${h}`);
    }
  });

  test("corners keep the frame's pixels, edges stretch, the image sits inside the borders", async () => {
    const res = await app.inject({ url: '/th/unsafe/filters:frame(np.png)/img-40x9.png' });
    const { data, info } = await rgba(res.rawPayload);
    const px = (x: number, y: number) => [...data.subarray((y * info.width + x) * 4, (y * info.width + x) * 4 + 4)];
    // The frame's first content pixel (1, 1), opaque (20, 25, 200), lands on (0, 0); its last (10, 8) on the far corner.
    assert.deepEqual(px(0, 0), [20, 25, 200, 255]);
    assert.deepEqual(px(info.width - 1, info.height - 1), [200, 200, 200, 255]);
    // The frame's columns 4–6 stretch to x 3…30 and its rows 3–4 to y 2…6 (43×12 shared as _nine_patch.c shares
    // it); there the frame is a transparent hole, so the image shows, one pixel in: its opaque pixel (9, 2).
    assert.deepEqual(px(10, 3), [99, 30, 126, 255]);
    // The top edge over x 3…30 is the frame's row 1, columns 4–6, stretched bilinearly: red 80 → 120, rest fixed.
    let last = 0;
    for (let x = 3; x <= 30; x++) {
      const [r, g, b, a] = px(x, 0);
      assert.deepEqual([g, b, a], [25, 200, 255], `x ${x}`);
      assert.ok(r! >= last && r! <= 120, `x ${x}: red ${r} after ${last}`);
      last = r!;
    }
    assert.equal(px(3, 0)[0], 80);
  });

  test('a resized JPEG is framed after the resize, its output larger by the borders', async () => {
    const res = await app.inject({ url: '/th/unsafe/40x30/filters:frame(np.png)/photo.jpg' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['content-type'], 'image/jpeg');
    const meta = await sharp(res.rawPayload).metadata();
    assert.deepEqual([meta.width, meta.height], [43, 33]);
  });

  test('a framed output over 4 MP is a 400 naming its size (the nine-patch runs on the request thread)', async () => {
    const res = await app.inject({ url: '/th/unsafe/2400x1800/filters:frame(np.png)/photo.jpg' });
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(res.json().code, 'output_too_large');
    assert.match(res.json().detail, /^frame: the framed output would be 2403×1803/);
    // Just under the limit is framed.
    const ok = await app.inject({ url: '/th/unsafe/1900x1000/filters:frame(np.png)/photo.jpg' });
    assert.equal(ok.statusCode, 200, ok.body);
  });

  test('integration_tests/urls_helpers.py FILTERS frame(rgba.png): a PNG without markers adds no border', async () => {
    const res = await app.inject({ url: '/th/unsafe/filters:frame(rgba.png)/photo.jpg' });
    assert.equal(res.statusCode, 200, res.body);
    const meta = await sharp(res.rawPayload).metadata();
    assert.deepEqual([meta.width, meta.height], [3082, 2048]);
  });

  test('16-bit and grey originals are framed as 8-bit sRGB, larger by the borders', async () => {
    for (const key of ['rgb16.png', 'grey16.png']) {
      const plain = await sharp((await app.inject({ url: `/th/unsafe/${key}` })).rawPayload).metadata();
      const res = await app.inject({ url: `/th/unsafe/filters:frame(np.png)/${key}` });
      assert.equal(res.statusCode, 200, res.body);
      const { info, data } = await rgba(res.rawPayload);
      assert.deepEqual([info.width, info.height], [plain.width! + 3, plain.height! + 3], key);
      assert.deepEqual([...data.subarray(0, 4)], [20, 25, 200, 255], key); // the frame's corner
    }
  });

  test('an animation keeps its first frame only, framed', async () => {
    const res = await app.inject({ url: '/th/unsafe/filters:frame(np.png)/anim.gif' });
    assert.equal(res.statusCode, 200, res.body);
    const meta = await sharp(res.rawPayload, { animated: true }).metadata();
    assert.equal(meta.pages ?? 1, 1);
  });

  test('tests/filters/test_frame.py test_frame_validate_allowed_source: only frames kinu may read are used', async () => {
    // thumbor refuses a frame outside ALLOWED_SOURCES (400); kinu reads frames from its own source only.
    const res = await app.inject({ url: '/th/unsafe/filters:frame(https://s2.glbimg.com/logo.jpg)/img-2x2.png' });
    assert.equal(res.statusCode, 400);
    assert.match(res.json().detail, /^filter frame: absolute http\(s\) image URLs are not supported/);
    assert.equal((await app.inject({ url: '/th/unsafe/filters:frame(np.png)/img-2x2.png' })).statusCode, 200);
    assert.equal((await app.inject({ url: '/th/unsafe/filters:frame()/img-2x2.png' })).statusCode, 400);
  });

  test('a missing frame is a 404 naming its key', async () => {
    const res = await app.inject({ url: '/th/unsafe/filters:frame(no-such-frame.png)/img-2x2.png' });
    assert.equal(res.statusCode, 404);
    assert.match(res.json().detail, /no-such-frame\.png/);
  });

  test('a frame that is not an image is refused naming the frame', async () => {
    writeFileSync(join(DIR, 'not-a-frame.png'), 'hello');
    const res = await app.inject({ url: '/th/unsafe/filters:frame(not-a-frame.png)/img-2x2.png' });
    assert.ok(res.statusCode >= 400 && res.statusCode < 500, res.body);
    assert.match(res.json().detail, /frame not-a-frame\.png/);
  });

  test("the frame's version is part of the ETag: a new frame is a new variant", async () => {
    const url = '/th/unsafe/filters:frame(np2.png)/img-23x17.png';
    writeFileSync(join(DIR, 'np2.png'), await png(ninePatch()));
    const a = await app.inject({ url });
    const other = ninePatch();
    other.data.fill(0, (1 * 12 + 1) * 4, (1 * 12 + 3) * 4); // two frame pixels turn transparent
    writeFileSync(join(DIR, 'np2.png'), await png(other));
    const b = await app.inject({ url });
    assert.equal(a.statusCode, 200);
    assert.equal(b.statusCode, 200);
    assert.notEqual(a.headers.etag, b.headers.etag);
    assert.notDeepEqual((await rgba(b.rawPayload)).data, (await rgba(a.rawPayload)).data);
  });
});

describe("the frame's borders count toward the output limits", () => {
  const DIR = tempDir('kinu-thumbor-frame-limit-');
  // 23×17 = 391 pixels fit 500; framed, 26×20 = 520 do not.
  const { app } = testServer({ KINU_SOURCE: DIR, KINU_DIALECTS: 'thumbor=/th', KINU_MAX_PIXELS: '500' });
  before(async () => {
    writeFileSync(join(DIR, 'np.png'), await png(ninePatch()));
    writeFileSync(join(DIR, 'img.png'), await png(image(23, 17)));
  });
  after(async () => {
    await app.close();
    rmSync(DIR, { recursive: true, force: true });
  });

  test('refused before any encode, naming the framed size', async () => {
    assert.equal((await app.inject({ url: '/th/unsafe/img.png' })).statusCode, 200);
    const res = await app.inject({ url: '/th/unsafe/filters:frame(np.png)/img.png' });
    assert.equal(res.json().code, 'output_too_large', res.body);
    assert.match(res.json().detail, /26×20/);
  });
});
