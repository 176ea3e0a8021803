import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KinuError } from '../../src/errors.ts';
import { fromSharpError, matchSharpError } from '../../src/pipeline/sharp-errors.ts';

// Messages as the prebuilt sharp 0.34.5 gives them for corpus files.
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
  // A decoder's warning under failOn, its own text lost (libvips' error buffer is shared by all threads).
  ['Warning treated as error due to failOn setting', 'corrupt_image'],
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
