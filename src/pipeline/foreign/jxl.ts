// JPEG XL in and out through wasm-vips' libjxl. Runs inside a foreign-decoder worker (pool.ts), never on the
// server's thread: a decode or encode is synchronous WebAssembly, stopped only by terminating its worker.
import { KinuError } from '../../errors.ts';
import type { ForeignHeader, ForeignImage } from './types.ts';
import { free, noteJob, type VipsImage, vips, vipsReason } from './vips.ts';

export { heapBytes } from './vips.ts';

/** Size, frames and depth from libjxl's basic info: no pixel is decoded. libjxl applies the file's orientation
 *  itself (libvips leaves it on), so the size is the upright one and `orientation` reads 1 afterwards. */
export async function header(bytes: Uint8Array): Promise<ForeignHeader> {
  const v = await vips();
  let img: VipsImage | undefined;
  try {
    img = v.Image.jxlloadBuffer(bytes, { access: 'sequential' });
    const frames = intField(img, 'n-pages') ?? 1;
    return {
      format: 'jxl',
      width: img.width,
      height: img.height,
      frames,
      ...(frames > 1 && img.getTypeof('delay') !== 0 ? { delay: img.getArrayInt('delay') } : {}),
      ...(frames > 1 && intField(img, 'loop') !== undefined ? { loop: intField(img, 'loop') } : {}),
      bitDepth: intField(img, 'bits-per-sample') ?? (img.format === 'uchar' ? 8 : 16),
      hasAlpha: img.hasAlpha(),
    };
  } catch (err) {
    throw new KinuError('corrupt_image', `the JPEG XL original cannot be read: ${vipsReason(err)}`, { cause: err });
  } finally {
    free(img);
  }
}

/** Every frame, upright, 8-bit where the file is 8-bit and 16-bit otherwise, with its ICC profile. */
export async function decode(bytes: Uint8Array, o: { maxPixels: number }): Promise<ForeignImage> {
  const h = await header(bytes);
  if (h.width * h.height * h.frames > o.maxPixels) {
    throw new KinuError(
      'too_many_pixels',
      `the JPEG XL original has ${h.frames} × ${h.width}×${h.height} pixels, over the limit of ${o.maxPixels}`,
    );
  }
  const v = await vips();
  const held: (VipsImage | undefined)[] = [];
  try {
    // fail_on 'truncated': libvips' default keeps going and hands back grey rows for a cut-off file.
    let img = v.Image.jxlloadBuffer(bytes, { n: h.frames > 1 ? -1 : 1, fail_on: 'truncated' });
    held.push(img);
    const page = img.pageHeight;
    const frames = Math.max(1, Math.round(img.height / page));
    const icc = img.getTypeof('icc-profile-data') !== 0 ? img.getBlob('icc-profile-data').slice() : undefined;
    const delay = frames > 1 && img.getTypeof('delay') !== 0 ? img.getArrayInt('delay') : undefined;
    const loop = frames > 1 ? intField(img, 'loop') : undefined;
    // Float (HDR) and CMYK files become what sharp takes: 16-bit RGB(A) or grey, through their ICC where given.
    if (img.interpretation === 'cmyk') held.push((img = img.colourspace('srgb')));
    if (img.format !== 'uchar' && img.format !== 'ushort') {
      held.push((img = img.colourspace(img.bands >= 3 ? 'rgb16' : 'grey16')));
      held.push((img = img.cast('ushort')));
    }
    if (img.bands > 4) held.push((img = img.extractBand(0, { n: 4 })));
    // A typed array of the band format (Uint16Array for ushort): the contract wants its bytes.
    const mem = img.writeToMemory();
    const data = new Uint8Array(mem.buffer, mem.byteOffset, mem.byteLength);
    // Measured: ≈13 B/px in the thread for 8-bit RGB out (3 B/px), so about 4× the pixels it hands over.
    noteJob(4 * mem.byteLength + bytes.byteLength);
    return {
      width: img.width,
      height: page,
      channels: img.bands as 1 | 2 | 3 | 4,
      depth: img.format === 'uchar' ? 8 : 16,
      data,
      ...(icc ? { icc } : {}),
      frames,
      ...(delay ? { delay } : {}),
      ...(loop !== undefined ? { loop } : {}),
      bitDepth: h.bitDepth,
    };
  } catch (err) {
    throw new KinuError('corrupt_image', `the JPEG XL original is truncated or damaged: ${vipsReason(err)}`, {
      cause: err,
    });
  } finally {
    free(...held);
  }
}

export interface JxlOptions {
  /** kinu's q, 1–100; 100 is lossless. */
  readonly quality: number;
  /** libjxl's effort, 1 (fastest) to 9. */
  readonly effort: number;
}

/** 8-bit sRGB (or grey) pixels, interleaved, as sharp's raw output gives them → a JPEG XL file. */
export async function encode(
  raw: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 2 | 3 | 4,
  o: JxlOptions,
): Promise<Uint8Array> {
  const v = await vips();
  const held: VipsImage[] = [];
  try {
    const mem = v.Image.newFromMemory(raw, width, height, channels, v.BandFormat.uchar);
    held.push(mem);
    const img = mem.copy({ interpretation: channels >= 3 ? 'srgb' : 'b-w' });
    held.push(img);
    // keep 'none': libvips would otherwise write an EXIF box of its own (resolution) into every file.
    const out = img.jxlsaveBuffer({
      distance: distanceFromQuality(o.quality),
      effort: o.effort,
      lossless: o.quality >= 100,
      keep: 'none',
    });
    // Measured: ≈31 B/px of RGB input (3 B/px), libjxl's float planes and its output.
    noteJob(10 * raw.byteLength + out.byteLength);
    return out;
  } finally {
    free(...held);
  }
}

/** libjxl's own mapping of a JPEG-like quality to its Butteraugli distance (cjxl -q, JxlEncoderDistanceFromQuality):
 *  q90 → 1.0 ("visually lossless"), q80 → 1.9, q50 → 4.6; 100 is lossless. */
export function distanceFromQuality(q: number): number {
  if (q >= 100) return 0;
  if (q >= 30) return 0.1 + (100 - q) * 0.09;
  return (53 / 3000) * q * q - (23 / 20) * q + 25;
}

function intField(img: VipsImage, name: string): number | undefined {
  return img.getTypeof(name) !== 0 ? img.getInt(name) : undefined;
}
