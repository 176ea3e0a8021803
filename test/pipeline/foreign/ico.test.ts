// The ICO/CUR reader on Pillow's test icons and two real favicons: the largest entry by its own header,
// PNG entries handed over as PNG, BMP entries with their AND mask as alpha; bad files are KinuErrors.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { KinuError } from '../../../src/errors.ts';
import { decode, header } from '../../../src/pipeline/foreign/ico.ts';
import type { ForeignEncoded, ForeignImage } from '../../../src/pipeline/foreign/types.ts';
import { corpus, rejectsKinu } from '../../helpers.ts';

const read = (f: string) => readFileSync(corpus(`ico/pillow/${f}`));
const LIMIT = { maxPixels: 100_000_000 };
const pixels = (f: string): ForeignImage => {
  const r = decode(read(f), LIMIT);
  assert.ok(!('png' in r), `${f}: a BMP entry`);
  return r;
};
const at = (img: ForeignImage, x: number, y: number) =>
  Array.from(img.data.subarray((y * img.width + x) * img.channels, (y * img.width + x + 1) * img.channels));

describe('ico: the largest entry', () => {
  test('python.ico: the 48×48 entry, last of three, with its 32-bit alpha', () => {
    assert.deepEqual(header(read('python.ico')), {
      format: 'ico',
      width: 48,
      height: 48,
      frames: 1,
      bitDepth: 8,
      hasAlpha: true,
    });
    const img = pixels('python.ico');
    assert.deepEqual([img.width, img.height, img.channels], [48, 48, 4]);
    assert.deepEqual(at(img, 0, 0), [0, 0, 0, 0], 'a transparent corner');
  });

  test('pillow.ico: the 256×256 PNG entry (its directory says 0×0) comes out as PNG bytes sharp reads', async () => {
    const h = header(read('pillow.ico'));
    assert.deepEqual([h.width, h.height, h.hasAlpha], [256, 256, true]);
    const r = decode(read('pillow.ico'), LIMIT) as ForeignEncoded;
    assert.ok(r.png instanceof Uint8Array);
    const m = await sharp(r.png).metadata();
    assert.deepEqual([m.format, m.width, m.height, m.hasAlpha], ['png', 256, 256, true]);
    assert.deepEqual([r.width, r.height, r.hasAlpha], [256, 256, true]);
  });

  test('hopper_256x256.ico: a 24-bit entry the directory sizes 0×0 is 256×256 and opaque', () => {
    const img = pixels('hopper_256x256.ico');
    assert.deepEqual([img.width, img.height, img.channels], [256, 256, 3]);
    assert.equal(header(read('hopper_256x256.ico')).hasAlpha, false);
  });

  test("hopper_unexpected.ico: the entry's own header (16×16) wins over the directory (16×32)", () => {
    const h = header(read('hopper_unexpected.ico'));
    assert.deepEqual([h.width, h.height], [16, 16]);
    assert.deepEqual(pixels('hopper_unexpected.ico').data, pixels('hopper.ico').data);
  });

  test('hopper_draw.ico: a single PNG entry', async () => {
    const r = decode(read('hopper_draw.ico'), LIMIT) as ForeignEncoded;
    const m = await sharp(r.png).metadata();
    assert.deepEqual([m.width, m.height], [16, 16]);
  });
});

describe('ico: the AND mask is alpha', () => {
  test('hopper_mask.ico (1-bit with a mask) is exactly Pillow’s hopper_mask.png', async () => {
    const img = pixels('hopper_mask.ico');
    assert.equal(img.channels, 4);
    const ref = await sharp(corpus('ico/pillow/hopper_mask.png')).ensureAlpha().raw().toBuffer();
    assert.deepEqual(Buffer.from(img.data), ref);
  });

  test('a mask that hides nothing gives RGB (hopper.ico, black_and_white.ico)', () => {
    for (const f of ['hopper.ico', 'black_and_white.ico']) {
      assert.equal(header(read(f)).hasAlpha, false, f);
      assert.equal(pixels(f).channels, 3, f);
    }
  });

  test('CUR: deerstalker.cur has the pixels Pillow reads; mask_1.cur (wrong directory size) is black, white, clear, clear', () => {
    const cur = pixels('deerstalker.cur');
    assert.deepEqual([cur.width, cur.height], [32, 32]);
    assert.deepEqual(at(cur, 10, 1), [0, 0, 0, 0]);
    assert.deepEqual(at(cur, 11, 1), [253, 254, 254, 1]);
    assert.deepEqual(at(cur, 16, 16), [84, 87, 86, 255]);
    const mask = pixels('mask_1.cur');
    assert.deepEqual([mask.width, mask.height, mask.channels], [1, 4, 4]);
    assert.deepEqual(
      [at(mask, 0, 0), at(mask, 0, 1)],
      [
        [0, 0, 0, 255],
        [255, 255, 255, 255],
      ],
    );
    assert.deepEqual([at(mask, 0, 2)[3], at(mask, 0, 3)[3]], [0, 0]);
  });
});

describe('ico: bad files', () => {
  test('an empty directory, a bomb entry and a non-icon are corrupt_image', () => {
    rejectsKinu(() => header(read('no_cursors.cur')), 'corrupt_image', 'ICO');
    rejectsKinu(() => header(read('decompression_bomb.ico')), 'corrupt_image', 'ICO');
    rejectsKinu(() => decode(read('decompression_bomb.ico'), LIMIT), 'corrupt_image', 'ICO');
    rejectsKinu(() => header(readFileSync(corpus('bmp/bmpsuite/g/rgb24.bmp'))), 'corrupt_image', 'ICO');
  });

  test('cut anywhere, an icon is a KinuError or the largest entry still whole, as its header says', () => {
    for (const f of ['python.ico', 'hopper_mask.ico', 'pillow.ico']) {
      const bytes = read(f);
      for (let n = 0; n < bytes.length; n += n < 600 ? 1 : 211) {
        const cut = bytes.subarray(0, n);
        try {
          const h = header(cut);
          const r = decode(cut, LIMIT);
          assert.deepEqual([r.width, r.height], [h.width, h.height], `${f} cut at ${n}`);
        } catch (err) {
          assert.ok(err instanceof KinuError, `${f} cut at ${n}: ${String(err)}`);
        }
      }
    }
  });

  test('a PNG entry declaring 100000×100000 reports that size, for the pixel limit to refuse', () => {
    const ico = Buffer.from(read('hopper_draw.ico'));
    ico.writeUInt32BE(100000, 22 + 16);
    ico.writeUInt32BE(100000, 22 + 20);
    assert.deepEqual([header(ico).width, header(ico).height], [100000, 100000]);
  });

  test('a BMP entry over the pixel limit is refused before its pixels are allocated', () => {
    rejectsKinu(() => decode(read('python.ico'), { maxPixels: 48 * 48 - 1 }), 'too_many_pixels');
  });
});
