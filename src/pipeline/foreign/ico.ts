// ICO and CUR originals: the largest picture of the directory (ties: the most bits per pixel). A PNG entry
// goes to sharp as it is; a BMP entry is decoded by bmp.ts with its AND mask as alpha. Our own directory
// parser, not decode-ico: that decodes every entry up front, allocating width×height×4 from headers unchecked,
// and ignores the AND mask of 32-bit entries whose alpha is empty.
import { KinuError } from '../../errors.ts';
import { decodeDib, hasAlpha, readDib, type Dib } from './bmp.ts';
import type { ForeignEncoded, ForeignHeader, ForeignImage } from './types.ts';

interface Entry {
  readonly width: number;
  readonly height: number;
  readonly bits: number;
  readonly bytes: Uint8Array;
  /** PNG: its bit depth and whether it has alpha (colour type 4 or 6, or a tRNS chunk); BMP: its header. */
  readonly png?: { readonly depth: number; readonly alpha: boolean };
  readonly dib?: Dib;
}

const corrupt = (detail: string) => new KinuError('corrupt_image', `ICO: ${detail}`);
const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/**
 * The entry the file is shown by. Directory sizes are one byte (0 means 256) and often wrong, so each entry's
 * own PNG or BMP header is read instead; entries whose header cannot be read are passed over.
 */
function largest(b: Uint8Array): Entry {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length < 6 || v.getUint16(0, true) !== 0 || (v.getUint16(2, true) !== 1 && v.getUint16(2, true) !== 2)) {
    throw corrupt('not an ICO or CUR file');
  }
  const count = v.getUint16(4, true);
  if (count === 0) throw corrupt('the directory is empty');
  if (6 + count * 16 > b.length) throw corrupt(`the file ends inside its directory of ${count} entries`);
  let best: Entry | undefined;
  let why = '';
  for (let i = 0; i < count; i++) {
    const size = v.getUint32(6 + i * 16 + 8, true);
    const offset = v.getUint32(6 + i * 16 + 12, true);
    try {
      if (offset >= b.length) throw corrupt(`entry ${i} starts past the file's end`);
      // Sizes in the directory are sometimes wrong: then the entry runs to the end of the file.
      const e = entry(b.subarray(offset, size >= 16 && offset + size <= b.length ? offset + size : b.length));
      const area = e.width * e.height;
      if (!best || area > best.width * best.height || (area === best.width * best.height && e.bits > best.bits)) {
        best = e;
      }
    } catch (err) {
      why = err instanceof Error ? err.message : String(err);
    }
  }
  if (!best) throw corrupt(`no entry is readable (${why})`);
  return best;
}

function entry(bytes: Uint8Array): Entry {
  if (PNG_MAGIC.every((x, i) => bytes[i] === x)) {
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const chunk = Buffer.from(bytes.buffer, bytes.byteOffset + 12, 4).toString('latin1');
    const [depth, type] = [bytes[24]!, bytes[25]!];
    if (chunk !== 'IHDR' || bytes.length < 33 || PNG_CHANNELS[type] === undefined)
      throw corrupt('a PNG entry without IHDR');
    const [width, height] = [v.getUint32(16), v.getUint32(20)];
    if (width === 0 || height === 0) throw corrupt('a PNG entry of no pixels');
    const alpha =
      type === 4 || type === 6 || Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).includes('tRNS');
    return { width, height, bits: depth * PNG_CHANNELS[type]!, bytes, png: { depth, alpha } };
  }
  const dib = readDib(bytes, 0, { icon: true });
  return { width: dib.width, height: dib.height, bits: dib.bpp, bytes, dib };
}

/** Alpha of a BMP entry: 32-bit alpha that is not all zero, else the AND mask where it hides any pixel. */
function alphaOf(e: Entry): 'pixels' | 'mask' | 'none' {
  const dib = e.dib!;
  if (dib.bpp === 32 && hasAlpha(e.bytes, dib)) return 'pixels';
  if (dib.andMask === undefined) return 'none';
  const end = dib.andMask + Math.floor((dib.width + 31) / 32) * 4 * dib.height;
  return e.bytes.subarray(dib.andMask, end).some((x) => x !== 0) ? 'mask' : 'none';
}

export function header(b: Uint8Array): ForeignHeader {
  const e = largest(b);
  const alpha = e.png ? e.png.alpha : alphaOf(e) !== 'none';
  const bitDepth = e.png?.depth === 16 ? 16 : 8;
  return { format: 'ico', width: e.width, height: e.height, frames: 1, bitDepth, hasAlpha: alpha };
}

/** The largest picture: a PNG entry as its bytes (sharp reads it), a BMP entry as RGB(A) pixels. */
export function decode(b: Uint8Array, opts: { maxPixels: number }): ForeignImage | ForeignEncoded {
  const e = largest(b);
  if (e.png) {
    const { width, height, png } = e;
    return { png: e.bytes, width, height, bitDepth: png.depth === 16 ? 16 : 8, hasAlpha: png.alpha };
  }
  const dib = e.dib!;
  const alpha = alphaOf(e);
  const img = decodeDib(e.bytes, dib, { maxPixels: opts.maxPixels, alpha: alpha !== 'none' });
  if (alpha === 'mask') {
    // 1 bit a pixel, rows bottom-up padded to 4 bytes: 1 is transparent.
    const { width: w, height: h } = dib;
    const stride = Math.floor((w + 31) / 32) * 4;
    for (let r = 0; r < h; r++) {
      const row = dib.andMask! + r * stride;
      const out = (h - 1 - r) * w * 4 + 3;
      for (let x = 0; x < w; x++) img.data[out + x * 4] = (e.bytes[row + (x >> 3)]! >> (7 - (x & 7))) & 1 ? 0 : 255;
    }
  }
  return img;
}
