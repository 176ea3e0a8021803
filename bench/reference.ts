// The miss reference: what kinu does for `?w=W&fmt=jpeg|webp&q=80`, as the plainest in-process sharp call.
// Same load options as src/pipeline/pipeline.ts, the encoder call of src/formats.ts itself (a copy of its options
// here once kept AVIF at effort 2 after kinu had moved to 0: a 3× slower reference), no enlargement (kinu's
// default), and the original read from disk each time.
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { FORMATS } from '../src/formats.ts';
import { imageWidth, type BenchFormat } from './image-info.ts';
import type { Sample } from './load.ts';

export const MAX_PIXELS = 100_000_000; // kinu's default KINU_MAX_PIXELS

export async function sharpOnce(
  path: string,
  width: number,
  format: BenchFormat,
  quality: number,
): Promise<Sample & { width: number }> {
  const t0 = performance.now();
  const data = await sharpEncode(path, width, format, quality);
  return { ms: performance.now() - t0, bytes: data.length, width: imageWidth(format, data) };
}

/** The original read from disk, resized and encoded: the work of one miss, nothing else. */
export async function sharpEncode(path: string, width: number, format: BenchFormat, quality: number): Promise<Buffer> {
  const input = await readFile(path);
  const img = sharp(input, {
    autoOrient: true,
    failOn: 'warning',
    limitInputPixels: MAX_PIXELS,
    sequentialRead: true,
  }).resize({ width, withoutEnlargement: true });
  return FORMATS[format].encode(img, quality).toBuffer();
}
