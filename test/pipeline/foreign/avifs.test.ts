// AVIF image sequences (brand avis) read frame by frame (src/pipeline/foreign/avifs.ts, avis.ts, av1.ts): the
// track's header (frames, timing) without decoding, every frame's pixels against known colours, the source
// frames and libavif's own decode, limits and damage, and the HTTP outputs: animated by default (WebP), as GIF
// and WebP on request, one AVIF frame with anim=0.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import sharp from 'sharp';
import { defaultOutputFormat } from '../../../src/formats.ts';
import { foreignHeader, sniffForeign, toSharpInput } from '../../../src/pipeline/foreign/index.ts';
import { corpus, meanAbsDiff, rejection, testServer } from '../../helpers.ts';

const FOUR = readFileSync(corpus('avif/sequence-4frames-kinu.avifs')); // 4 × 96×64 solid colours, 4:4:4, alpha
const STAR = readFileSync(corpus('avif/sequence-star-alpha.avifs')); // 5 × 159×159, 4:2:0, alpha, no still image
const TEN = readFileSync(corpus('avif/sequence-10bit-3frames-kinu.avifs')); // 3 × 161×121 photo crops, 10-bit
// The colours avifenc was given for the four frames.
const FOUR_RGB = [
  [0, 200, 30],
  [60, 160, 30],
  [120, 120, 30],
  [180, 80, 30],
];
const OPTS = () => ({ maxPixels: 100_000_000, deadline: Date.now() + 120_000 });

/** Mean of each channel of one page of an image (8-bit sRGB). */
async function means(input: Buffer, page: number): Promise<number[]> {
  const { data, info } = await sharp(input, { page })
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const n = info.width * info.height;
  return Array.from({ length: info.channels }, (_, k) => {
    let s = 0;
    for (let i = k; i < data.length; i += info.channels) s += data[i]!;
    return s / n;
  });
}
const near = (got: number[], want: number[], tol: number, what: string) =>
  assert.ok(
    want.every((w, i) => Math.abs(got[i]! - w) <= tol),
    `${what}: ${got.map(Math.round)} ≠ ${want}`,
  );

async function rgb(input: Buffer | string, page = 0) {
  return sharp(input, { page }).removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer();
}

describe('foreign: AVIF sequences', { timeout: 180_000 }, () => {
  test('header: frames, per-frame delays and play count from the track, before any pixel is decoded', async () => {
    assert.equal(sniffForeign(FOUR), 'avif');
    await assert.rejects(sharp(FOUR).metadata(), /unsupported image format/);
    assert.deepEqual(await foreignHeader(FOUR, OPTS()), {
      format: 'avif',
      width: 96,
      height: 64,
      frames: 4,
      delay: [100, 100, 100, 100],
      loop: 0,
      bitDepth: 8,
      hasAlpha: true,
    });
    const s = await foreignHeader(STAR, OPTS());
    assert.deepEqual([s.width, s.height, s.frames, s.delay, s.hasAlpha], [159, 159, 5, [40, 40, 40, 40, 40], true]);
    const t = await foreignHeader(TEN, OPTS());
    assert.deepEqual([t.frames, t.delay, t.bitDepth], [3, [100, 250, 400], 10]);
  });

  test('every frame decodes to its own colour, alpha kept (4:4:4, 8-bit)', async () => {
    const c = await toSharpInput(FOUR, OPTS());
    assert.deepEqual([c.width, c.height, c.frames, c.channels, c.depth], [96, 64, 4, 4, 8]);
    assert.equal((await sharp(c.data, { pages: -1 }).metadata()).pages, 4);
    for (const f of [0, 1, 3]) near(await means(c.data, f), [...FOUR_RGB[f]!, 255], 3, `frame ${f}`);
  });

  test('10-bit 4:2:0 limited-range BT.709 frames match the photo crops they were encoded from', async () => {
    const c = await toSharpInput(TEN, OPTS());
    assert.deepEqual([c.width, c.height, c.frames, c.depth], [161, 121, 3, 16]);
    // The crops avifenc was given (corpus manifest): the kimono photo, 483×363 at three places, to 161×121.
    const crop = (left: number, top: number) =>
      sharp(corpus('jpeg/progressive-kimono.jpg'))
        .extract({ left, top, width: 483, height: 363 })
        .resize(161, 121)
        .png()
        .toBuffer();
    const first = await rgb(await crop(0, 0));
    const last = await rgb(await crop(120, 661));
    const d0 = meanAbsDiff(await rgb(c.data, 0), first);
    const d2 = meanAbsDiff(await rgb(c.data, 2), last);
    assert.ok(d0 < 4 && d2 < 4, `frames differ from their sources by ${d0.toFixed(2)}, ${d2.toFixed(2)}`);
    // Inter frames: the last frame is not the first (a decoder repeating frame 0 would fail here).
    assert.ok(meanAbsDiff(await rgb(c.data, 2), first) > 20);
  });

  test('a sequence whose still image libheif refuses decodes from its track (4:2:0 with alpha)', async () => {
    const c = await toSharpInput(STAR, OPTS());
    assert.deepEqual([c.width, c.height, c.frames, c.channels], [159, 159, 5, 4]);
    // libavif's avifdec (0.11.1, dav1d) decodes every frame to a mean RGBA of (97, 91, 65, 97), and the rotating
    // star's alpha, on a 4×4 grid, to these (measured on its frames 0 and 3).
    near(await means(c.data, 0), [97, 91, 65, 97], 1.5, 'frame 0');
    const grid = async (page: number) => [
      ...(await sharp(c.data, { page }).extractChannel(3).resize(4, 4, { kernel: 'cubic' }).raw().toBuffer()),
    ];
    near(await grid(0), [0, 80, 80, 0, 104, 230, 229, 101, 42, 241, 235, 46, 25, 74, 71, 28], 8, 'frame 0 alpha');
    near(await grid(3), [4, 106, 44, 24, 80, 230, 246, 74, 81, 227, 240, 71, 4, 103, 47, 27], 8, 'frame 3 alpha');
  });

  test('without an image sequence track (its moov box renamed) it is a 415 that says so', async () => {
    const noTrack = Buffer.from(FOUR);
    noTrack.write('free', noTrack.indexOf('moov'), 'latin1');
    const e = await rejection(foreignHeader(noTrack, OPTS()));
    assert.equal(e.code, 'unsupported_format');
    assert.match(e.detail, /no moov box/);
  });

  test('limits: the pixels of all frames are checked before decoding; a truncated file is corrupt', async () => {
    const tooMany = await rejection(toSharpInput(FOUR, { ...OPTS(), maxPixels: 96 * 64 * 3 }));
    assert.equal(tooMany.code, 'too_many_pixels');
    assert.match(tooMany.detail, /4 × 96×64/);
    // Cut inside the media data: the sample table points past the end.
    const cut = TEN.subarray(0, TEN.length - 5000);
    const e = await rejection(foreignHeader(cut, OPTS()));
    assert.equal(e.code, 'corrupt_image');
    assert.match(e.detail, /truncated/);
    // Same length, the coded frames overwritten: dav1d refuses them.
    const garbled = Buffer.from(TEN);
    garbled.fill(0xff, 0x724, 0x724 + 200);
    assert.equal((await rejection(toSharpInput(garbled, OPTS()))).code, 'corrupt_image');
  });
});

describe('HTTP: AVIF sequences stay animated', { timeout: 180_000 }, () => {
  test('the default output of an AVIF kept animated is WebP; a still (or first frame) stays AVIF', () => {
    assert.equal(defaultOutputFormat('avif', true, true), 'webp');
    assert.equal(defaultOutputFormat('avif', true, false), 'avif');
  });

  const { app } = testServer({ KINU_TIMEOUT: '60' });
  after(() => app.close());
  const get = (query: string, file = 'avif/sequence-4frames-kinu.avifs') =>
    app.inject({ url: `/${file}?${query}`, headers: { accept: 'image/*' } });

  test('without fmt: an animated WebP with every frame, its timing and alpha', async () => {
    const res = await get('w=48');
    assert.equal(res.statusCode, 200, res.body.slice(0, 300));
    assert.equal(res.headers['content-type'], 'image/webp');
    const m = await sharp(res.rawPayload, { animated: true }).metadata();
    assert.deepEqual(
      [m.format, m.width, m.pageHeight, m.pages, m.delay, m.loop],
      ['webp', 48, 32, 4, [100, 100, 100, 100], 0],
    );
    // (libwebp leaves out an alpha channel that is opaque everywhere.)
    near(await means(res.rawPayload, 3), FOUR_RGB[3]!, 6, 'last frame');
  });

  test('fmt=gif and fmt=webp keep the frames and delays; anim=0 is one AVIF frame', async () => {
    const gif = await get('w=48&fmt=gif', 'avif/sequence-10bit-3frames-kinu.avifs');
    assert.equal(gif.statusCode, 200, gif.body.slice(0, 300));
    const g = await sharp(gif.rawPayload, { animated: true }).metadata();
    assert.deepEqual([g.format, g.pages, g.delay], ['gif', 3, [100, 250, 400]]);
    const webp = await get('w=48&fmt=webp', 'avif/sequence-star-alpha.avifs');
    const w = await sharp(webp.rawPayload, { animated: true }).metadata();
    // libvips merges identical consecutive frames; the running time stays 200 ms.
    assert.equal(w.format, 'webp');
    assert.equal(
      (w.delay ?? []).reduce((a, b) => a + b, 0),
      200,
    );
    const one = await get('w=48&anim=0');
    assert.equal(one.statusCode, 200);
    const o = await sharp(one.rawPayload, { animated: true }).metadata();
    assert.deepEqual([o.format, o.pages ?? 1], ['heif', 1]);
    near(await means(one.rawPayload, 0), FOUR_RGB[0]!, 6, 'first frame');
  });

  test('KINU_MAX_FRAMES applies to a sequence from its header', async () => {
    const { app: strict } = testServer({ KINU_MAX_FRAMES: '3' });
    try {
      const res = await strict.inject({ url: '/avif/sequence-4frames-kinu.avifs?w=48' });
      assert.equal(res.statusCode, 422);
      assert.equal(res.json().code, 'too_many_frames');
    } finally {
      await strict.close();
    }
  });
});
