// JPEG XL in and out through wasm-vips' libjxl in the codec pool (src/pipeline/foreign/jxl.ts): header, decode
// against the conformance suite's reference rendering, animation, 16-bit with alpha, damage, and the encoder's
// quality mapping and round trip. (AVIF sequences: avifs.test.ts.)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { foreignHeader, sniffForeign, toSharpInput } from '../../../src/pipeline/foreign/index.ts';
import { distanceFromQuality } from '../../../src/pipeline/foreign/jxl.ts';
import { runInPool } from '../../../src/pipeline/foreign/pool.ts';
import { corpus, meanAbsDiff, rejection, rgbPixels } from '../../helpers.ts';

const ORIENTED = readFileSync(corpus('jxl/bench-oriented-brg-orientation5.jxl')); // coded 500×606, orientation 5
const ANIMATED = readFileSync(corpus('jxl/animation-spline-60frames.jxl')); // 60 × 320×320, 20 ms, forever
const ALPHA12 = readFileSync(corpus('jxl/alpha-premultiplied-12bit.jxl')); // 1024², 12-bit colour, alpha
// A first wasm job in a fresh thread compiles the codec: generous deadlines, the load here is not ours.
const OPTS = () => ({ maxPixels: 100_000_000, deadline: Date.now() + 120_000 });

describe('foreign: JPEG XL', { timeout: 240_000 }, () => {
  test('sniffForeign: a JXL container and a bare codestream are jxl; a still AVIF stays with sharp', () => {
    assert.equal(sniffForeign(ORIENTED), 'jxl'); // container (ftyp jxl box)
    assert.equal(sniffForeign(ANIMATED), 'jxl'); // bare codestream (FF 0A)
    assert.equal(sniffForeign(readFileSync(corpus('avif/fox-8bit-420.avif'))), undefined); // still AVIF: sharp's
  });

  test('header: the size as displayed (libjxl applies orientation 5), frames, timing, depth, alpha', async () => {
    assert.deepEqual(await foreignHeader(ORIENTED, OPTS()), {
      format: 'jxl',
      width: 606,
      height: 500,
      frames: 1,
      bitDepth: 8,
      hasAlpha: false,
    });
    const a = await foreignHeader(ANIMATED, OPTS());
    assert.deepEqual([a.width, a.height, a.frames, a.loop], [320, 320, 60, 0]);
    assert.deepEqual(a.delay, Array(60).fill(20));
    const h = await foreignHeader(ALPHA12, OPTS());
    assert.deepEqual([h.bitDepth, h.hasAlpha], [12, true]);
  });

  test('decode: upright, with its ICC profile, the pixels of the conformance reference rendering', async () => {
    const c = await toSharpInput(ORIENTED, { ...OPTS(), expect: { width: 606, height: 500 } });
    assert.deepEqual([c.width, c.height, c.channels, c.depth, c.hasIcc], [606, 500, 3, 8, true]);
    const got = await rgbPixels(sharp(c.data));
    const ref = await rgbPixels(sharp(corpus('jxl/bench-oriented-brg-ref.png')));
    assert.deepEqual([got.width, got.height], [ref.width, ref.height]);
    const d = meanAbsDiff(got.data, ref.data);
    assert.ok(d < 1, `differs from the reference by ${d.toFixed(2)}`);
    // Read without the rotation (transposed back), it would be far off: the check can tell.
    const transposed = await rgbPixels(sharp(c.data).rotate(90).flop().resize(606, 500, { fit: 'fill' }));
    assert.ok(meanAbsDiff(transposed.data, ref.data) > 10);
  });

  test('decode: every frame of an animation, stacked, with 16-bit samples and alpha where the file has them', async () => {
    const a = await toSharpInput(ANIMATED, OPTS());
    assert.deepEqual([a.width, a.height, a.frames], [320, 320, 60]);
    const x = await toSharpInput(ALPHA12, OPTS());
    assert.deepEqual([x.channels, x.depth, x.bitDepth], [4, 16, 12]);
    const m = await sharp(x.data).metadata();
    assert.deepEqual([m.depth, m.hasAlpha], ['ushort', true]);
  });

  test('a truncated file is corrupt (422) and a file over the pixel limit is refused before decoding', async () => {
    const cut = ORIENTED.subarray(0, ORIENTED.length >> 1);
    const e = await rejection(toSharpInput(cut, OPTS()));
    assert.equal(e.code, 'corrupt_image', e.detail);
    assert.equal(e.status, 422);
    const big = await rejection(toSharpInput(ANIMATED, { ...OPTS(), maxPixels: 320 * 320 * 59 }));
    assert.equal(big.code, 'too_many_pixels', big.detail);
  });

  test("encode: kinu's q maps to libjxl's distance as cjxl does; the file decodes back to the source", async () => {
    assert.equal(distanceFromQuality(100), 0);
    assert.ok(Math.abs(distanceFromQuality(90) - 1) < 1e-9);
    assert.ok(Math.abs(distanceFromQuality(75) - 2.35) < 1e-9);
    assert.ok(distanceFromQuality(20) > distanceFromQuality(30));
    const { data, info } = await sharp(corpus('photos/hato-pigeons.jpg'))
      .rotate()
      .resize(400)
      .raw()
      .toBuffer({ resolveWithObject: true });
    const shape = { width: info.width, height: info.height, channels: 3 as const, effort: 4 };
    const encode = (quality: number) =>
      runInPool('encode', 'jxl', data, info.width * info.height, { workers: 1, ...OPTS() }, { ...shape, quality });
    const lossy = (await encode(75)).encoded;
    assert.equal(sniffForeign(lossy), 'jxl');
    const back = await toSharpInput(lossy, OPTS());
    assert.deepEqual([back.width, back.height, back.channels], [info.width, info.height, 3]);
    const d = meanAbsDiff((await rgbPixels(sharp(back.data))).data, data);
    assert.ok(d > 0 && d < 6, `q75 differs from its source by ${d.toFixed(2)}`);
    const exact = await toSharpInput((await encode(100)).encoded, OPTS());
    assert.equal(meanAbsDiff((await rgbPixels(sharp(exact.data))).data, data), 0, 'q100 is lossless');
  });
});
