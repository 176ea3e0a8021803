// The reference: what kinu does for `?w=W&fmt=jpeg&q=80`, as the plainest in-process sharp call.
// Same load options as src/pipeline/pipeline.ts, same encoder options as src/formats.ts, and the original
// read from disk each time, as kinu does.
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { jpegWidth } from './kinu.ts';
import type { Sample } from './load.ts';

export const MAX_PIXELS = 100_000_000; // kinu's default KINU_MAX_PIXELS

export async function sharpOnce(path: string, width: number, quality: number): Promise<Sample & { width: number }> {
  const t0 = performance.now();
  const input = await readFile(path);
  const data = await sharp(input, { autoOrient: true, failOn: 'warning', limitInputPixels: MAX_PIXELS, sequentialRead: true })
    .resize({ width })
    .jpeg({ quality, progressive: false, chromaSubsampling: '4:2:0' })
    .toBuffer();
  return { ms: performance.now() - t0, bytes: data.length, width: jpegWidth(data) };
}
