// The BMP reader against Jason Summers' bmpsuite: every good and questionable file the corpus holds decodes to
// the suite's own reference rendering, every bad one is a KinuError (never a crash, never a huge allocation).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { KinuError } from '../../../src/errors.ts';
import { decode, header } from '../../../src/pipeline/foreign/bmp.ts';
import type { ForeignImage } from '../../../src/pipeline/foreign/types.ts';
import { corpus, rejectsKinu } from '../../helpers.ts';

const SUITE = 'bmp/bmpsuite';
const read = (f: string) => readFileSync(corpus(`${SUITE}/${f}`));
const LIMIT = { maxPixels: 100_000_000 };

/** Each file and the reference PNG bmpsuite draws it as (html/), with the largest difference allowed. */
const REFERENCES: [string, string, number][] = [
  ['g/pal1.bmp', 'pal1', 0],
  ['g/pal1bg.bmp', 'pal1bg', 0],
  ['q/pal2.bmp', 'pal2', 0],
  ['g/pal4.bmp', 'pal4', 0],
  ['g/pal4rle.bmp', 'pal4', 0],
  ['g/pal8.bmp', 'pal8', 0],
  ['g/pal8rle.bmp', 'pal8', 0],
  ['g/pal8topdown.bmp', 'pal8', 0],
  ['g/pal8os2.bmp', 'pal8', 0],
  ['q/pal8os2v2.bmp', 'pal8', 0],
  ['g/pal8v4.bmp', 'pal8', 0],
  ['g/pal8v5.bmp', 'pal8', 0],
  ['g/pal8w125.bmp', 'pal8w125', 0],
  ['g/rgb16.bmp', 'rgb16', 0],
  ['g/rgb16-565.bmp', 'rgb16-565', 0],
  ['g/rgb24.bmp', 'rgb24', 0],
  ['q/rgb24prof.bmp', 'rgb24', 0],
  ['g/rgb32.bmp', 'rgb24', 0],
  ['g/rgb32bf.bmp', 'rgb24', 0],
  // 7- and 18-bit fields scaled to 8 bits: bmpsuite's rounding differs from ours by at most 1.
  ['q/rgb32-7187.bmp', 'rgb32-7187', 1],
  ['q/rgba16-4444.bmp', 'rgba16-4444', 0],
  ['q/rgba32-1.bmp', 'rgba32', 0],
  ['q/rgba32abf.bmp', 'rgba32', 0],
  // Pixels RLE skips (delta, early end of line or bitmap) are transparent: bmpsuite's first rendering.
  ['q/pal4rletrns.bmp', 'pal4rletrns', 0],
  ['q/pal8rletrns.bmp', 'pal8rletrns', 0],
  ['q/pal8rlecut.bmp', 'pal8rlecut', 0],
  // Fields kinu never reads are wrong: the picture is still right.
  ['b/badbitssize.bmp', 'pal1', 0],
  ['b/baddens1.bmp', 'pal1', 0],
];

/** RGBA of a reference PNG, and the largest difference from a decoded image: colour premultiplied by alpha
 *  (what is under a transparent pixel is not part of the picture), alpha itself exactly. */
async function difference(img: ForeignImage, ref: string): Promise<number> {
  const r = await sharp(corpus(`${SUITE}/html/${ref}.png`))
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  assert.deepEqual([img.width, img.height], [r.info.width, r.info.height], `${ref}: size`);
  let max = 0;
  for (let i = 0; i < img.width * img.height; i++) {
    const a = img.channels === 4 ? img.data[i * 4 + 3]! : 255;
    const e = r.data[i * 4 + 3]!;
    max = Math.max(max, Math.abs(a - e));
    for (let c = 0; c < 3; c++) {
      const got = (img.data[i * img.channels + c]! * a) / 255;
      max = Math.max(max, Math.abs(got - (r.data[i * 4 + c]! * e) / 255));
    }
  }
  return Math.round(max);
}

describe('bmp: decoded pixels against bmpsuite reference renderings', () => {
  for (const [file, ref, allowed] of REFERENCES) {
    test(`${file} looks like html/${ref}.png`, async () => {
      const bytes = read(file);
      const img = decode(bytes, LIMIT);
      const h = header(bytes);
      assert.deepEqual([h.format, h.width, h.height, h.frames], ['bmp', img.width, img.height, 1]);
      assert.equal(img.channels, h.hasAlpha ? 4 : 3, 'RGBA exactly when the header says alpha');
      const diff = await difference(img, ref);
      assert.ok(diff <= allowed, `differs by up to ${diff}`);
    });
  }

  test('alpha only where it is real: 32-bit BI_RGB with zero reserved bytes and 16-bit 5-5-5 are RGB', () => {
    for (const f of ['g/rgb32.bmp', 'g/rgb16.bmp', 'g/rgb24.bmp', 'g/pal8rle.bmp']) {
      assert.equal(header(read(f)).hasAlpha, false, f);
      assert.equal(decode(read(f), LIMIT).channels, 3, f);
    }
    for (const f of ['q/rgba32-1.bmp', 'q/rgba16-4444.bmp', 'q/pal8rletrns.bmp'])
      assert.equal(header(read(f)).hasAlpha, true, f);
  });

  test('32-bit BI_RGB with non-zero reserved bytes reads them as alpha (the browsers’ rule), colours intact', async () => {
    const img = decode(read('q/rgb32fakealpha.bmp'), LIMIT);
    assert.equal(img.channels, 4);
    const rgb = await sharp(corpus(`${SUITE}/html/rgb24.png`))
      .raw()
      .toBuffer();
    for (let i = 0; i < img.width * img.height; i++) {
      for (let c = 0; c < 3; c++) assert.equal(img.data[i * 4 + c], rgb[i * 3 + c], `pixel ${i}`);
    }
    assert.ok(img.data.some((v, i) => i % 4 === 3 && v < 255));
  });

  test('a v5 embedded ICC profile is handed on', () => {
    const icc = decode(read('q/rgb24prof.bmp'), LIMIT).icc;
    assert.ok(icc !== undefined);
    assert.equal(Buffer.from(icc.subarray(36, 40)).toString('latin1'), 'acsp');
    assert.equal(decode(read('g/rgb24.bmp'), LIMIT).icc, undefined);
  });
});

interface Entry {
  file: string;
  format: string;
  expect: { status: number | number[] };
}

describe('bmp: refused files', () => {
  const manifest = JSON.parse(readFileSync(corpus('manifest.json'), 'utf8')) as Entry[];
  const refused = manifest.filter((e) => e.format === 'bmp' && e.expect.status !== 200);

  test('every BMP the manifest refuses is a KinuError with its status (from the header where it can tell)', () => {
    assert.ok(refused.length >= 15, `${refused.length} files`);
    for (const e of refused) {
      const bytes = readFileSync(corpus(e.file));
      const status = [e.expect.status].flat();
      // Only bad palette indices and RLE data that is not walked for the header show up in decode alone.
      const late = /badindex/.test(e.file);
      for (const step of late ? [() => decode(bytes, LIMIT)] : [() => header(bytes), () => decode(bytes, LIMIT)]) {
        assert.throws(step, (err: unknown) => {
          assert.ok(err instanceof KinuError, `${e.file}: ${String(err)}`);
          assert.ok(status.includes(err.status), `${e.file}: ${err.status} ${err.detail}`);
          assert.match(err.detail, /^BMP: ./);
          return true;
        });
      }
    }
  });

  test('corrupt/bmp-invalid-bpp.bmp says what is wrong', () => {
    rejectsKinu(() => header(readFileSync(corpus('corrupt/bmp-invalid-bpp.bmp'))), 'corrupt_image', 'BMP');
    assert.throws(() => header(readFileSync(corpus('corrupt/bmp-invalid-bpp.bmp'))), /40 bits per pixel/);
  });

  test('cut anywhere, a BMP is corrupt_image (uncompressed, RLE4, RLE8 with deltas)', () => {
    for (const f of ['g/rgb24.bmp', 'g/pal4rle.bmp', 'q/pal8rletrns.bmp', 'g/pal8os2.bmp']) {
      const bytes = read(f);
      // The last row's padding and RLE's final end-of-bitmap may be missing: a reader can do without them.
      for (let n = 0; n < bytes.length - 4; n += n < 1200 ? 1 : 97) {
        rejectsKinu(() => decode(bytes.subarray(0, n), LIMIT), 'corrupt_image', 'BMP', `${f} cut at ${n}`);
      }
    }
  });

  test('the pixel limit is checked before the pixels are allocated', () => {
    rejectsKinu(() => decode(read('g/pal8.bmp'), { maxPixels: 127 * 64 - 1 }), 'too_many_pixels');
    assert.equal(decode(read('g/pal8.bmp'), { maxPixels: 127 * 64 }).width, 127);
    // 40000×40000 RLE8 holding just "end of bitmap": 1.6 GP declared in 1 kB, refused, nothing allocated.
    const bomb = Buffer.from(read('g/pal8rle.bmp').subarray(0, 1080));
    bomb.writeInt32LE(40000, 18);
    bomb.writeInt32LE(40000, 22);
    bomb.writeUInt32LE(1078, 10);
    bomb.set([0, 1], 1078);
    assert.deepEqual([header(bomb).width, header(bomb).height], [40000, 40000]);
    rejectsKinu(() => decode(bomb, LIMIT), 'too_many_pixels');
  });
});
