// Every file of test/corpus/ through the HTTP stack, driven by its manifest: statuses and error codes,
// and for images the decoded output: size after orientation, format, alpha, animation, metadata, colour.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import sharp, { type Metadata, type Sharp } from 'sharp';
import { CORPUS, corpus, meanAbsDiff, rgbPixels, testServer } from './helpers.ts';

interface Entry {
  file: string;
  format: string;
  expect: {
    status?: number | number[];
    iccProfileFile?: boolean;
    rejectReason?: string;
    displayWidth?: number;
    displayHeight?: number;
    hasAlpha?: boolean;
    animated?: boolean;
    frames?: number;
    loop?: number;
    hasGps?: boolean;
    upright?: string;
    icc?: { colourSpace: string } | null;
    mustConvertToSrgb?: boolean;
    mustConvertCmykToSrgb?: boolean;
  };
}

const MANIFEST: Entry[] = JSON.parse(readFileSync(corpus('manifest.json'), 'utf8'));
// What each file decodes to is checked here, not how fast: a cold WebAssembly codec thread (HEIC, JPEG XL) on a
// loaded CI machine can pass the default 10 s; deadlines have their own tests (test/http/deadline.test.ts, heic).
const { app } = testServer({ KINU_TIMEOUT: '60' });
after(() => app.close());

const url = (file: string, query: string) => `/${file.split('/').map(encodeURIComponent).join('/')}?${query}`;
const get = (file: string, query: string) => app.inject({ url: url(file, query), headers: { accept: 'image/*' } });

/** What `?w=` without `fmt` must produce, by source format: the source's own where browsers show it. */
const DEFAULT_OUT: Record<string, string> = {
  jpeg: 'jpeg',
  png: 'png',
  gif: 'gif',
  webp: 'webp',
  avif: 'heif',
  avifs: 'webp', // an AVIF sequence stays animated: WebP, as libvips cannot write AVIF sequences (issue 16)
  svg: 'png',
  ico: 'png',
};
const defaultOut = (e: Entry) => DEFAULT_OUT[e.format] ?? (e.expect.hasAlpha ? 'png' : 'jpeg');
const ALPHA_OUT = new Set(['png', 'webp', 'heif', 'gif']);

function errorCode(e: Entry, status: number): string {
  if (status === 415) return 'unsupported_format';
  if (e.expect.rejectReason === 'too-many-pixels') return 'too_many_pixels';
  if (e.expect.rejectReason === 'too-many-frames') return 'too_many_frames';
  return 'corrupt_image';
}

const W = 96;
const expectedSize = (e: Entry, w: number) => {
  const dw = e.expect.displayWidth!;
  const dh = e.expect.displayHeight!;
  return dw <= w ? `${dw}x${dh}` : `${w}x${Math.max(1, Math.round((dh * w) / dw))}`;
};
const duration = (m: Metadata) => (m.delay ?? []).reduce((a, b) => a + b, 0);

describe('corpus', { concurrency: 4 }, () => {
  for (const e of MANIFEST) {
    const x = e.expect;
    if (x.iccProfileFile) {
      test(`${e.file}: not an image → 4xx problem`, async () => {
        const res = await get(e.file, `w=${W}`);
        assert.ok(res.statusCode >= 400 && res.statusCode < 500, `status ${res.statusCode}`);
        assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
        assert.equal(res.json().code, 'unsupported_format');
      });
      continue;
    }
    const statuses = [x.status!].flat();
    if (!statuses.includes(200)) {
      test(`${e.file}: ${statuses.join(' or ')} (${x.rejectReason ?? 'cannot decode'})`, async () => {
        const res = await get(e.file, `w=${W}`);
        assert.ok(statuses.includes(res.statusCode), `status ${res.statusCode}: ${res.body.slice(0, 200)}`);
        assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
        const problem = res.json();
        assert.equal(problem.status, res.statusCode);
        assert.equal(problem.code, errorCode(e, res.statusCode));
      });
      continue;
    }

    test(`${e.file}: 200, ${x.displayWidth}x${x.displayHeight} → ${expectedSize(e, W)} ${defaultOut(e)}`, {
      timeout: 60_000,
    }, async () => {
      const res = await get(e.file, `w=${W}`);
      assert.equal(res.statusCode, 200, res.body.slice(0, 300));
      const m = await sharp(res.rawPayload, { animated: true }).metadata();
      assert.equal(m.format, defaultOut(e));
      assert.equal(`${m.width}x${m.pageHeight ?? m.height}`, expectedSize(e, W));
      assertClean(m);
      if (x.hasAlpha && ALPHA_OUT.has(m.format!)) assert.equal(m.hasAlpha, true, 'alpha kept');
      if (x.animated && (m.format === 'gif' || m.format === 'webp')) await assertAnimation(e, m);
    });

    if (x.animated) {
      test(`${e.file}: stays animated into GIF and WebP, one frame with anim=0`, async () => {
        for (const fmt of ['gif', 'webp']) {
          const res = await get(e.file, `w=64&fmt=${fmt}`);
          assert.equal(res.statusCode, 200);
          await assertAnimation(e, await sharp(res.rawPayload, { animated: true }).metadata());
        }
        const one = await get(e.file, 'w=64&anim=0');
        assert.equal((await sharp(one.rawPayload, { animated: true }).metadata()).pages ?? 1, 1);
      });
    }

    if (x.hasGps) {
      test(`${e.file}: no EXIF/GPS/XMP/IPTC in any output format`, async () => {
        for (const fmt of ['jpeg', 'png', 'webp', 'avif']) {
          const res = await get(e.file, `w=64&fmt=${fmt}`);
          assert.equal(res.statusCode, 200);
          assertClean(await sharp(res.rawPayload).metadata());
        }
      });
    }

    const upright = x.upright?.match(/looks like (\S+)/)?.[1];
    if (upright && upright !== e.file) {
      test(`${e.file}: looks like ${upright}`, async () => {
        const [a, b] = await Promise.all([thumb(e.file), thumb(upright)]);
        assert.equal(`${a.width}x${a.height}`, `${b.width}x${b.height}`);
        assert.ok(meanAbsDiff(a.data, b.data) < 10, `differs by ${meanAbsDiff(a.data, b.data).toFixed(1)}`);
      });
    }

    if (x.mustConvertToSrgb || x.mustConvertCmykToSrgb) {
      test(`${e.file}: converted to sRGB from its ${x.icc?.colourSpace ?? 'default CMYK'} profile`, async () => {
        const res = await get(e.file, 'w=100&fmt=png');
        assert.equal(res.statusCode, 200);
        const out = await rgbPixels(sharp(res.rawPayload));
        const box = { width: out.width, height: out.height, fit: 'fill' } as const;
        const converted = await rgbPixels(sharp(corpus(e.file), { autoOrient: true }).resize(box));
        // What a server that drops the profile shows: RGB as stored, or CMY read as RGB.
        const naive = x.mustConvertCmykToSrgb
          ? await cmyAsRgb(sharp(corpus(e.file), { autoOrient: true }).resize(box))
          : await rgbPixels(sharp(corpus(e.file), { autoOrient: true, ignoreIcc: true }).resize(box));
        const good = meanAbsDiff(out.data, converted.data);
        const bad = meanAbsDiff(out.data, naive.data);
        assert.ok(good < 2, `differs from sharp's profile-aware conversion by ${good.toFixed(2)}`);
        assert.ok(
          bad > good + 1,
          `as close to the naive reading (${bad.toFixed(2)}) as to the conversion (${good.toFixed(2)})`,
        );
      });
    }
  }
});

describe('corpus: colours that only a profile-aware conversion gets right', { concurrency: 2 }, () => {
  const rows: [string, string, [number, number, number, number], 0 | 1 | 2][] = [
    // file, region name, [left, top, width, height] in % of a 100 px wide output, the channel that must dominate
    ['color/rgb-to-gbr-profile.jpg', 'beside RED', [60, 3, 10, 10], 0],
    ['color/rgb-to-gbr-profile.jpg', 'beside BLUE', [85, 85, 10, 10], 2],
    ['color/rgb-to-gbr-profile.jpg', 'beside GREEN', [5, 85, 10, 10], 1],
    ['avif/icc-colorspin.avif', "12 o'clock is red", [46, 3, 8, 5], 0],
    ['tiff/cmyk-fogra39.tif', 'CMYK 0/100/100/0 is red', [10, 10, 80, 80], 0],
  ];
  for (const [file, name, [left, top, width, height], channel] of rows) {
    test(`${file}: ${name}`, async () => {
      const res = await get(file, 'w=100&fmt=png');
      assert.equal(res.statusCode, 200);
      const img = await rgbPixels(sharp(res.rawPayload));
      const mean = [0, 0, 0];
      for (let y = top; y < top + height; y++) {
        for (let x = left; x < left + width; x++)
          for (let c = 0; c < 3; c++) mean[c]! += img.data[(y * img.width + x) * 3 + c]!;
      }
      const m = mean.map((v) => v / (width * height));
      const others = m.filter((_, i) => i !== channel);
      assert.ok(
        others.every((v) => m[channel]! > v + 60),
        `channel ${channel} should dominate: ${m.map(Math.round)}`,
      );
    });
  }
});

describe('corpus: high bit depth', () => {
  test('avif/fox-10bit-420.avif (decoded since sharp 0.35) comes out in 8 bits and looks like its 8-bit twin', async () => {
    // Both AVIFs are lossy encodings of one photo: as PNG they differ by 0.7 on average, as AVIF by 3.2.
    for (const [fmt, limit] of [
      ['png', 2],
      ['avif', 5],
    ] as const) {
      const [ten, eight] = await Promise.all(
        ['avif/fox-10bit-420.avif', 'avif/fox-8bit-420.avif'].map(async (file) => {
          const res = await get(file, `w=100&fmt=${fmt}`);
          assert.equal(res.statusCode, 200, res.body.slice(0, 200));
          const m = await sharp(res.rawPayload).metadata();
          assert.deepEqual([m.depth, m.bitsPerSample], ['uchar', 8], `${file} as ${fmt}`);
          return rgbPixels(sharp(res.rawPayload));
        }),
      );
      const diff = meanAbsDiff(ten!.data, eight!.data);
      assert.ok(diff < limit, `${fmt}: differs by ${diff.toFixed(2)}`);
    }
  });
});

describe('corpus: limits', () => {
  test("bombs/png-16383x16383.png passes sharp's own limit but not kinu's 100 MP", async () => {
    const res = await get('bombs/png-16383x16383.png', 'w=200');
    assert.equal(res.statusCode, 422);
    assert.equal(res.json().code, 'too_many_pixels');
  });

  test('bombs/jpeg-9643x10328-solid.jpg (99.6 MP) is accepted', { timeout: 120_000 }, async () => {
    const res = await get('bombs/jpeg-9643x10328-solid.jpg', 'w=200');
    assert.equal(res.statusCode, 200);
    const m = await sharp(res.rawPayload).metadata();
    assert.equal(`${m.format} ${m.width}x${m.height}`, `jpeg 200x${Math.round((10328 * 200) / 9643)}`);
  });

  test('png/pngsuite/xcsn0g01.png (bad IDAT CRC, which libspng ignored) is corrupt_image', async () => {
    const res = await get('png/pngsuite/xcsn0g01.png', 'fmt=png');
    assert.equal(res.statusCode, 422);
    assert.equal(res.json().code, 'corrupt_image');
  });

  test('a request without params serves the original bytes, even of a file the pipeline refuses', async () => {
    const res = await app.inject({ url: url('png/pngsuite/xcsn0g01.png', '').slice(0, -1) });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.rawPayload, readFileSync(corpus('png/pngsuite/xcsn0g01.png')));
  });
});

function assertClean(m: Metadata) {
  assert.equal(m.exif, undefined, 'EXIF removed');
  assert.equal(m.xmp, undefined, 'XMP removed');
  assert.equal(m.iptc, undefined, 'IPTC removed');
  assert.equal(m.orientation, undefined, 'no orientation tag');
  assert.ok(m.space === 'srgb' || m.space === 'b-w', `sRGB output, got ${m.space}`);
}

async function assertAnimation(e: Entry, m: Metadata) {
  const src = await sharp(corpus(e.file), { animated: true }).metadata();
  // libvips merges identical consecutive frames and adds up their delays: the running time is what must stay.
  assert.ok((m.pages ?? 1) > 1 && (m.pages ?? 1) <= src.pages!, `${m.pages} frames of ${src.pages}`);
  if (e.expect.frames !== undefined) assert.equal(src.pages, e.expect.frames);
  assert.equal(duration(m), duration(src), 'running time');
  // WebP stores at most 65535 plays; libvips writes a GIF's 65536 as 0 (forever), which is the same in practice.
  const loop = m.format === 'webp' && src.loop! > 65535 ? 0 : src.loop;
  assert.equal(m.loop, loop, 'loop count');
  if (e.expect.loop !== undefined) assert.equal(src.loop, e.expect.loop);
}

async function thumb(file: string) {
  const res = await get(file, 'w=48&fmt=png');
  assert.equal(res.statusCode, 200);
  const { data, info } = await sharp(res.rawPayload).greyscale().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

async function cmyAsRgb(img: Sharp) {
  const { data, info } = await img.toColourspace('cmyk').raw().toBuffer({ resolveWithObject: true });
  const out = Buffer.alloc(info.width * info.height * 3);
  for (let i = 0, j = 0; i < data.length; i += 4, j += 3) data.copy(out, j, i, i + 3);
  return { data: out, width: info.width, height: info.height };
}

// The manifest must be the one the expectations were written for.
assert.ok(MANIFEST.length >= 200, `manifest at ${CORPUS} has ${MANIFEST.length} entries`);
