import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { KinuError } from '../../src/errors.ts';
import { fromSharpError, matchSharpError } from '../../src/pipeline/sharp-errors.ts';
import { tempDir, testServer } from '../helpers.ts';

// Messages as the prebuilt sharp 0.34.5 gave them for corpus files, then those 0.35.6 (libvips 8.18, which reads
// PNG with libpng instead of libspng) gives.
const ROWS: [string, string | undefined][] = [
  ['Input buffer contains unsupported image format', 'unsupported_format'],
  ['heif: Invalid input: Unspecified: Bitstream not supported by this decoder (2.0)', 'unsupported_format'],
  ['tiff2vips: Old-style JPEG compression support is not configured', 'unsupported_format'],
  ['Input image exceeds pixel limit', 'too_many_pixels'],
  ['timeout: 42% complete', 'processing_timeout'],
  ['Input buffer has corrupt header: pngload_buffer: invalid color type', 'corrupt_image'],
  ['VipsJpeg: premature end of JPEG image', 'corrupt_image'],
  ['VipsJpeg: Corrupt JPEG data: premature end of data segment', 'corrupt_image'],
  ['pngload_buffer: libspng read error', 'corrupt_image'],
  ['Input buffer has corrupt header: gifload_buffer: Unexpected end of GIF source data', 'corrupt_image'],
  // What sharp says when libvips' error buffer was empty: nothing about the source (another thread may have
  // emptied it), then the warnings any thread queued — here png/pngsuite/xhdn0g08.png's own.
  ['Warning treated as error due to failOn setting', undefined],
  ['Warning treated as error due to failOn setting\nIHDR: CRC error', 'corrupt_image'],
  // sharp 0.35.6: png/pngsuite/xcsn0g01.png (bad IDAT CRC) and corrupt/truncated.png; a header libpng rejects.
  ['vipspng: libpng read error', 'corrupt_image'],
  ['Input buffer has corrupt header: ', 'corrupt_image'],
  // sharp 0.35's limitInputChannels (default 5): a 6-band TIFF.
  ['Input image exceeds channel limit', 'unsupported_format'],
  // Not about the source: left for the pipeline to judge by decoding the source alone.
  ['Expected positive integer for left but received -1 of type number', undefined],
  ['extract_area: bad extract area', undefined],
];

test('libvips messages map to stable codes', () => {
  for (const [message, code] of ROWS) {
    const e = matchSharpError(new Error(message));
    assert.equal(e?.code, code, message);
    if (e) assert.ok(e.cause instanceof Error, 'the libvips text is kept as the cause');
    assert.equal(fromSharpError(new Error(message)).code, code ?? 'corrupt_image');
  }
  const own = new KinuError('too_many_frames', 'x');
  assert.equal(matchSharpError(own), own);
});

test("a valid TIFF with 6 bands (over sharp 0.35's limitInputChannels of 5) is a 415 unsupported_format, not a 422 or 500", async (t) => {
  const dir = tempDir('kinu-bands-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const band = (v: number) =>
    sharp({ create: { width: 16, height: 12, channels: 3, background: { r: v, g: v, b: v } } })
      .extractChannel(0)
      .png()
      .toBuffer();
  const six = await sharp({ create: { width: 16, height: 12, channels: 3, background: '#c81e1e' } })
    .joinChannel([await band(50), await band(60), await band(70)])
    .tiff({ compression: 'none' })
    .toBuffer();
  assert.equal((await sharp(six, { limitInputChannels: false }).metadata()).channels, 6);
  writeFileSync(join(dir, 'six.tif'), six);
  const { app } = testServer({ KINU_SOURCE: dir });
  t.after(() => app.close());
  for (const q of ['w=8', 'w=8&fmt=png', 'fmt=json']) {
    const res = await app.inject({ url: `/six.tif?${q}` });
    assert.equal(res.statusCode, 415, `${q}: ${res.body}`);
    assert.equal(res.json().code, 'unsupported_format');
    assert.match(res.json().detail, /channels/);
  }
});
