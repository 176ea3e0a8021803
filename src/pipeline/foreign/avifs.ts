// AVIF image sequences (brand `avis`), which the prebuilt sharp refuses outright. wasm-vips' heifload reads
// HEIF items, not tracks (libvips 8.18 does not use libheif's sequence API), so what comes out is the still
// image such a file carries for viewers without animation support: its first frame, served as a still picture.
// Runs inside a foreign-decoder worker (pool.ts), like jxl.ts.
import { KinuError } from '../../errors.ts';
import type { ForeignHeader, ForeignImage } from './types.ts';
import { free, noteJob, type VipsImage, vips, vipsReason } from './vips.ts';

export { heapBytes } from './vips.ts';

const ONLY_FIRST = 'AVIF sequences are read as their first frame (the still image the file carries)';

export async function header(bytes: Uint8Array): Promise<ForeignHeader> {
  const v = await vips();
  let img: VipsImage | undefined;
  try {
    img = v.Image.heifloadBuffer(bytes, { access: 'sequential' });
    return {
      format: 'avif',
      width: img.width,
      height: img.height,
      frames: 1,
      bitDepth: img.getTypeof('bits-per-sample') !== 0 ? img.getInt('bits-per-sample') : 8,
      hasAlpha: img.hasAlpha(),
    };
  } catch (err) {
    // A sequence without a readable still image is a file this decoder cannot show, not proven damaged.
    throw new KinuError('unsupported_format', `${ONLY_FIRST}, and this one's cannot be read: ${vipsReason(err)}`, {
      cause: err,
    });
  } finally {
    free(img);
  }
}

export async function decode(bytes: Uint8Array, o: { maxPixels: number }): Promise<ForeignImage> {
  const h = await header(bytes);
  if (h.width * h.height > o.maxPixels) {
    throw new KinuError(
      'too_many_pixels',
      `the AVIF sequence's frames have ${h.width}×${h.height} pixels, over the limit of ${o.maxPixels}`,
    );
  }
  const v = await vips();
  let img: VipsImage | undefined;
  try {
    img = v.Image.heifloadBuffer(bytes, { fail_on: 'truncated' });
    const icc = img.getTypeof('icc-profile-data') !== 0 ? img.getBlob('icc-profile-data').slice() : undefined;
    const mem = img.writeToMemory();
    noteJob(4 * mem.byteLength + bytes.byteLength);
    return {
      width: img.width,
      height: img.height,
      channels: img.bands as 1 | 2 | 3 | 4,
      depth: img.format === 'uchar' ? 8 : 16,
      data: new Uint8Array(mem.buffer, mem.byteOffset, mem.byteLength),
      ...(icc ? { icc } : {}),
      frames: 1,
      bitDepth: h.bitDepth,
    };
  } catch (err) {
    throw new KinuError('corrupt_image', `the AVIF sequence is truncated or damaged: ${vipsReason(err)}`, {
      cause: err,
    });
  } finally {
    free(img);
  }
}
