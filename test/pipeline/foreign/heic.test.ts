// HEIC through libheif in WebAssembly (src/pipeline/foreign/): header, upright decode with its ICC, the TIFF
// carrier, the codec pool's deadline and crash isolation, and the limits checked from the header.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { KinuError } from '../../../src/errors.ts';
import { foreignHeader, sniffForeign, toSharpInput } from '../../../src/pipeline/foreign/index.ts';
import { poolStats, runInPool } from '../../../src/pipeline/foreign/pool.ts';
import { toTiff } from '../../../src/pipeline/foreign/tiff.ts';
import { inspectImage } from '../../../src/pipeline/inspect.ts';
import { corpus } from '../../helpers.ts';
import { withIspe } from './heic-fixtures.ts';

const IPHONE = readFileSync(corpus('heic/iphone11-flower-p3-gps.heic')); // 2566×3313, Display P3, EXIF + GPS
const WINTER = readFileSync(corpus('heic/winter-1440x960.heic')); // 1440×960 with a 240×160 thumbnail item
const OPTS = () => ({ maxPixels: 100_000_000, deadline: Date.now() + 120_000 });

async function rejectsWith(p: Promise<unknown>, code: string): Promise<KinuError> {
  const e = await p.then(
    () => assert.fail(`expected ${code}`),
    (err: unknown) => err,
  );
  assert.ok(e instanceof KinuError, String(e));
  assert.equal(e.code, code, e.detail);
  return e;
}

describe('foreign: HEIC', () => {
  test('sniffForeign: HEVC brands and a generic HEIF holding hvcC are HEIC; AVIF and video stay sharp’s', () => {
    assert.equal(sniffForeign(IPHONE), 'heic');
    assert.equal(sniffForeign(WINTER), 'heic');
    const ftyp = (...brands: string[]) =>
      Buffer.concat([
        Buffer.from([0, 0, 0, 8 + 4 * (brands.length + 1)]),
        Buffer.from(`ftyp${brands[0]}\0\0\0\0`),
        ...brands.slice(1).map((x) => Buffer.from(x)),
      ]);
    assert.equal(sniffForeign(Buffer.concat([ftyp('mif1', 'mif1', 'avif'), Buffer.from('....hvcC')])), undefined);
    assert.equal(sniffForeign(Buffer.concat([ftyp('mif1', 'mif1'), Buffer.from('....hvcC')])), 'heif');
    assert.equal(sniffForeign(Buffer.concat([ftyp('mif1', 'mif1'), Buffer.from('....av1C')])), undefined);
    assert.equal(sniffForeign(ftyp('isom', 'isom', 'mp42')), undefined);
    assert.equal(sniffForeign(readFileSync(corpus('avif/fox-8bit-420.avif'))), undefined);
  });

  test('header: the size as displayed, 8 bits, no alpha, one frame, read by libheif without decoding', async () => {
    assert.deepEqual(await foreignHeader(IPHONE, OPTS()), {
      format: 'heic',
      width: 2566,
      height: 3313,
      frames: 1,
      bitDepth: 8,
      hasAlpha: false,
    });
    const w = await foreignHeader(WINTER, OPTS());
    assert.deepEqual([w.width, w.height], [1440, 960]); // the primary image, not its 240×160 thumbnail
  });

  test('decode: an upright TIFF carrier with the Display P3 profile and no EXIF/GPS', async () => {
    const c = await toSharpInput(IPHONE, { ...OPTS(), expect: { width: 2566, height: 3313 } });
    const m = await sharp(c.data).metadata();
    assert.deepEqual([m.format, m.width, m.height, m.channels, m.depth], ['tiff', 2566, 3313, 3, 'uchar']);
    assert.equal(m.orientation ?? 1, 1); // libheif applied the rotation: nothing may rotate it again
    assert.equal(m.exif, undefined);
    assert.ok(m.icc, 'the ICC profile travels with the pixels');
    assert.match(m.icc.toString('latin1'), /D\0?i\0?s\0?p\0?l\0?a\0?y\0? \0?P\0?3/);
    assert.deepEqual([c.width, c.height, c.channels, c.depth, c.bitDepth, c.hasIcc], [2566, 3313, 3, 8, 8, true]);
  });

  test('the carrier holds what the header promised: a file whose pixels differ from its ispe is corrupt', async () => {
    const lying = withIspe(WINTER, [1440, 960], [1440, 968]);
    await rejectsWith(toSharpInput(lying, { ...OPTS(), expect: { width: 1440, height: 968 } }), 'corrupt_image');
  });

  test('truncated or damaged files are corrupt_image (422), and the worker goes on serving', async () => {
    await rejectsWith(foreignHeader(IPHONE.subarray(0, 3000), OPTS()), 'corrupt_image');
    await rejectsWith(toSharpInput(IPHONE.subarray(0, IPHONE.length >> 1), OPTS()), 'corrupt_image');
    const scrambled = Buffer.from(WINTER);
    for (let i = 4000; i < scrambled.length; i += 97) scrambled[i] = scrambled[i]! ^ 0x5a;
    await toSharpInput(scrambled, OPTS()).then(
      (c) => assert.equal(c.width, 1440), // libde265 conceals some damage: a picture of the right size, or …
      (e: unknown) => assert.equal((e as KinuError).code, 'corrupt_image'), // … a refusal; never anything else
    );
    assert.equal((await foreignHeader(WINTER, OPTS())).width, 1440);
  });

  test('libheif’s own pixel limit (from maxPixels) refuses a decode the header check let through', async () => {
    await rejectsWith(toSharpInput(WINTER, { ...OPTS(), maxPixels: 1000 }), 'too_many_pixels');
  });

  test('the deadline terminates the worker midway; the next job gets a fresh worker', async () => {
    const before = poolStats();
    await rejectsWith(
      runInPool('decode', 'heic', IPHONE, 1e8, { workers: 1, deadline: Date.now() + 30 }),
      'processing_timeout',
    );
    const after = poolStats();
    assert.equal(after.terminated, before.terminated + 1);
    assert.equal(after.running, 0);
    const h = await foreignHeader(WINTER, OPTS());
    assert.equal(h.width, 1440);
    assert.ok(poolStats().spawned > after.spawned || before.alive === 0, 'a new worker was started');
  });

  test('an abort stops a waiting or running job with the signal’s reason', async () => {
    const ac = new AbortController();
    const p = runInPool('decode', 'heic', IPHONE, 1e8, {
      workers: 1,
      deadline: Date.now() + 60_000,
      signal: ac.signal,
    });
    ac.abort(new Error('client left'));
    await assert.rejects(p, /client left/);
    assert.equal(poolStats().running, 0);
  });

  test('a codec failure outside libheif’s error codes fails that job only (422), and the pool recovers', async () => {
    const before = poolStats().crashed;
    await rejectsWith(
      runInPool('header', 'no-such-codec', WINTER, 1e8, { workers: 1, deadline: Date.now() + 60_000 }),
      'corrupt_image',
    );
    assert.equal(poolStats().crashed, before + 1);
    assert.equal((await foreignHeader(WINTER, OPTS())).height, 960);
  });

  test('KINU_HEIC off: refused as unsupported_format, naming the setting', async () => {
    const e = await rejectsWith(
      foreignHeader(WINTER, { ...OPTS(), settings: { workers: 1, heic: false } }),
      'unsupported_format',
    );
    assert.match(e.detail, /KINU_HEIC/);
  });

  test('inspectImage: an upload is proven by decoding; oriented size, format, bit depth, ICC', async () => {
    const info = await inspectImage(IPHONE, { maxPixels: 1e8, maxFrames: 10 });
    assert.deepEqual(
      [
        info.format,
        info.ext,
        info.mime,
        info.width,
        info.height,
        info.frames,
        info.bitDepth,
        info.hasIcc,
        info.orientation,
      ],
      ['heic', 'heic', 'image/heic', 2566, 3313, 1, 8, true, 1],
    );
    await assert.rejects(
      inspectImage(IPHONE.subarray(0, IPHONE.length - 5000), { maxPixels: 1e8, maxFrames: 10 }),
      (e: unknown) => (e as KinuError).code === 'corrupt_image',
    );
    // Over the limit from the header alone: a file claiming 20000×20000 is refused before any decoding.
    const huge = withIspe(WINTER, [1440, 960], [20000, 20000]);
    await assert.rejects(inspectImage(huge, { maxPixels: 1e8, maxFrames: 10 }), (e: unknown) => {
      assert.equal((e as KinuError).code, 'too_many_pixels');
      assert.match((e as KinuError).detail, /20000×20000/);
      return true;
    });
  });
});

describe('foreign: the TIFF carrier', () => {
  test('16-bit RGBA, two frames and an ICC profile come back exactly', async () => {
    const width = 3;
    const height = 2;
    const samples = new Uint16Array(width * height * 4 * 2).map((_, i) => (i * 2731) % 65536);
    const tagged = await sharp({ create: { width: 1, height: 1, channels: 3, background: 'red' } })
      .withIccProfile('p3')
      .png()
      .toBuffer();
    const profile = (await sharp(tagged).metadata()).icc!;
    const tiff = toTiff({
      width,
      height,
      channels: 4,
      depth: 16,
      data: new Uint8Array(samples.buffer),
      frames: 2,
      bitDepth: 16,
      icc: profile,
    });
    const m = await sharp(tiff, { pages: -1 }).metadata();
    assert.deepEqual(
      [m.format, m.width, m.pageHeight ?? m.height, m.pages, m.channels, m.depth, m.hasAlpha, m.icc?.length],
      ['tiff', 3, 2, 2, 4, 'ushort', true, profile.length],
    );
    // The samples themselves, without the ICC conversion to 8-bit sRGB an output would get.
    const { data } = await sharp(
      toTiff({ width, height, channels: 4, depth: 16, data: new Uint8Array(samples.buffer), frames: 2, bitDepth: 16 }),
      { pages: -1 },
    )
      .toColourspace('rgb16')
      .raw({ depth: 'ushort' })
      .toBuffer({ resolveWithObject: true });
    assert.deepEqual([...new Uint16Array(data.buffer, data.byteOffset, data.length / 2)], [...samples]);
  });

  test('8-bit grey and grey+alpha', async () => {
    for (const channels of [1, 2] as const) {
      const data = new Uint8Array(5 * 4 * channels).map((_, i) => (i * 37) % 256);
      const tiff = toTiff({ width: 5, height: 4, channels, depth: 8, data, frames: 1, bitDepth: 8 });
      const m = await sharp(tiff).metadata();
      assert.deepEqual([m.channels, m.hasAlpha, m.space], [channels, channels === 2, 'b-w']);
      // As sRGB with alpha: grey in R, G and B, the alpha sample in A.
      const rgba = await sharp(tiff).ensureAlpha().toColourspace('srgb').raw().toBuffer();
      const want = [...Array(20).keys()].flatMap((p) => {
        const g = data[p * channels]!;
        return [g, g, g, channels === 2 ? data[p * 2 + 1]! : 255];
      });
      assert.deepEqual([...rgba], want);
    }
  });
});
