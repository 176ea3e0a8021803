import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { KinuError } from '../../src/errors.ts';
import { crc32, tableCrc32 } from '../../src/crc32.ts';
import { checkPngCrc } from '../../src/pipeline/png-crc.ts';
import { corpus } from '../helpers.ts';

const corrupt = (e: unknown) => e instanceof KinuError && e.code === 'corrupt_image';

/** Offset of the first chunk of this type. */
function chunkAt(png: Buffer, type: string): number {
  for (let at = 8; at + 12 <= png.length; at += 12 + png.readUInt32BE(at)) {
    if (png.toString('latin1', at + 4, at + 8) === type) return at;
  }
  throw new Error(`no ${type} chunk`);
}

test('crc32 (zlib where Node has it, the table otherwise) matches the standard check value at every length and offset', () => {
  for (const f of [crc32, tableCrc32]) {
    assert.equal(f(Buffer.from('123456789')), 0xcbf43926);
    assert.equal(f(Buffer.alloc(0)), 0);
  }
  // Slice-by-8 and the byte loop must agree whatever the remainder, and a range must be read as its own bytes.
  const data = Buffer.from(Array.from({ length: 40 }, (_, i) => (i * 37) % 256));
  for (let start = 0; start <= 3; start++)
    for (let n = start; n <= 40; n++) {
      let c = ~0;
      for (let i = start; i < n; i++) {
        c ^= data[i]!;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      }
      assert.equal(crc32(data, start, n), ~c >>> 0, `[${start}, ${n})`);
      assert.equal(tableCrc32(data, start, n), ~c >>> 0, `table [${start}, ${n})`);
    }
});

test('valid PNGs pass; a damaged IDAT byte or CRC is corrupt_image', () => {
  const good = readFileSync(corpus('png/pngsuite/basn2c08.png'));
  checkPngCrc(good);
  const idat = chunkAt(good, 'IDAT');
  const data = Buffer.from(good);
  data[idat + 8 + 5]! ^= 0x01;
  assert.throws(() => checkPngCrc(data), corrupt);
  const crc = Buffer.from(good);
  crc[idat + 8 + crc.readUInt32BE(idat)]! ^= 0x80;
  assert.throws(() => checkPngCrc(crc), corrupt);
  assert.throws(() => checkPngCrc(readFileSync(corpus('png/pngsuite/xcsn0g01.png'))), corrupt);
});

test('a bad CRC in an ancillary chunk, a truncated file and non-PNG bytes are left to the decoder', () => {
  const withText = readFileSync(corpus('png/pngsuite/ctzn0g04.png'));
  const at = chunkAt(withText, 'tEXt');
  const bad = Buffer.from(withText);
  bad[at + 8]! ^= 0x01;
  checkPngCrc(bad);
  checkPngCrc(withText.subarray(0, withText.length - 30));
  checkPngCrc(Buffer.from('not a png at all'));
});
