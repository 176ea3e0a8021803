// BMP originals (Windows v2–v5 and OS/2 bitmaps; also the pictures inside ICO/CUR), which sharp does not read.
// Our own reader because none on npm is both correct and bounded: decode-bmp ignores compression (RLE comes out
// silently wrong), bmp-js and its port bmp-ts give ABGR and are unmaintained, fast-bmp refuses RLE, and all
// of them allocate width×height×4 from the header unchecked. Behaviour is checked against Jason Summers' bmpsuite.
import { KinuError } from '../../errors.ts';
import type { ForeignHeader, ForeignImage } from './types.ts';

const RGB = 0;
const RLE8 = 1;
const RLE4 = 2;
const BITFIELDS = 3;
const ALPHABITFIELDS = 6;
const MBED = 0x4d424544; // V5 colour space 'MBED': an ICC profile is embedded

/** A parsed DIB (device-independent bitmap) header, everything validated against the file's length. */
export interface Dib {
  readonly width: number;
  readonly height: number;
  readonly topDown: boolean;
  readonly bpp: number;
  readonly compression: number;
  /** Palette as RGB triples, and how many entries it has (indices at or beyond it are corrupt). */
  readonly palette: Uint8Array;
  readonly colours: number;
  /** R, G, B, A bit masks of 16- and 32-bit pixels (A = 0: no alpha channel). */
  readonly masks: readonly [number, number, number, number];
  readonly pixelOffset: number;
  /** Byte length of one stored row of uncompressed pixels (padded to 4 bytes). */
  readonly stride: number;
  /** ICO/CUR only: where the 1-bit AND mask (transparency) starts, when the file holds it whole. */
  readonly andMask?: number;
  readonly icc?: Uint8Array;
}

const corrupt = (detail: string) => new KinuError('corrupt_image', `BMP: ${detail}`);
const unsupported = (detail: string) => new KinuError('unsupported_format', `BMP: ${detail}`);

/**
 * Reads the DIB header at `at`: of a BMP file (after its 14-byte file header, `pixelOffset` from there), or of
 * an ICO/CUR entry (`icon`: height doubled for the AND mask, pixels right after the palette).
 */
export function readDib(b: Uint8Array, at: number, opts: { pixelOffset?: number; icon?: boolean } = {}): Dib {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (at + 16 > b.length) throw corrupt('the file ends inside the header');
  const size = v.getUint32(at, true);
  const core = size === 12;
  const windows = size === 40 || size === 52 || size === 56 || size === 108 || size === 124;
  const os2 = !core && !windows && size >= 16 && size <= 64;
  if (!core && !windows && !os2) throw corrupt(`a header of ${size} bytes is none of BMP's`);
  if (at + size > b.length) throw corrupt('the file ends inside the header');
  const field = (off: number) => (off + 4 <= size ? v.getUint32(at + off, true) : 0);
  const width = core ? v.getUint16(at + 4, true) : v.getInt32(at + 4, true);
  let height = core ? v.getUint16(at + 6, true) : v.getInt32(at + 8, true);
  const planes = v.getUint16(at + (core ? 8 : 12), true);
  const bpp = v.getUint16(at + (core ? 10 : 14), true);
  const compression = core ? RGB : field(16);
  if (opts.icon) height = height / 2;
  const topDown = height < 0;
  height = Math.abs(height);
  if (planes !== 1) throw corrupt(`${planes} planes (must be 1)`);
  if (width <= 0 || height < 1 || !Number.isInteger(height)) throw corrupt(`a size of ${width}×${height}`);
  if (os2 && (compression === 3 || compression === 4)) throw unsupported('OS/2 Huffman and RLE24 are not read');
  if (compression === 4 || compression === 5) throw unsupported('embedded JPEG and PNG (printer BMPs) are not read');
  if (![1, 2, 4, 8, 16, 24, 32, 64].includes(bpp)) throw corrupt(`${bpp} bits per pixel`);
  if (bpp === 64) throw unsupported('64-bit (HDR) pixels are not read');
  const fields = compression === BITFIELDS || compression === ALPHABITFIELDS;
  if (
    !(compression === RGB || (compression === RLE8 && bpp === 8) || (compression === RLE4 && bpp === 4)) &&
    !(fields && (bpp === 16 || bpp === 32))
  ) {
    throw corrupt(`compression ${compression} with ${bpp} bits per pixel`);
  }
  if (topDown && (compression === RLE8 || compression === RLE4)) throw corrupt('RLE cannot be stored top-down');

  // Bit masks: in the header from v2 (52 bytes) on, else right after a 40-byte header; defaults without fields.
  let tableAt = at + size;
  let masks: [number, number, number, number];
  if (fields) {
    if (size >= 52) masks = [field(40), field(44), field(48), field(52)];
    else {
      const n = compression === ALPHABITFIELDS ? 4 : 3;
      if (tableAt + 4 * n > b.length) throw corrupt('the file ends inside the bit masks');
      masks = [0, 1, 2, 3].map((i) => (i < n ? v.getUint32(tableAt + 4 * i, true) : 0)) as typeof masks;
      tableAt += 4 * n;
    }
    checkMasks(masks, bpp);
  } else if (bpp === 16) masks = [0x7c00, 0x3e0, 0x1f, 0];
  else masks = [0xff0000, 0xff00, 0xff, 0xff000000]; // 32-bit: the "reserved" byte is alpha unless all zero

  // The palette: 3-byte entries in core headers, 4 elsewhere; clrUsed (0: all 2^bpp) may exceed 2^bpp.
  const entry = core ? 3 : 4;
  const declared = core ? 0 : field(32);
  if (declared > (b.length - tableAt) / entry) throw corrupt(`a palette of ${declared} colours is past the file's end`);
  let colours = bpp <= 8 ? Math.min(declared || 2 ** bpp, 2 ** bpp) : 0;
  let pixelOffset: number;
  if (opts.icon) pixelOffset = tableAt + Math.max(declared, colours) * entry;
  else {
    pixelOffset = opts.pixelOffset ?? 0;
    if (pixelOffset < tableAt || pixelOffset >= b.length) throw corrupt(`pixel data at ${pixelOffset} is outside`);
    // OS/2 files may hold a shorter palette than 2^bpp: the pixels' offset tells where it ends.
    colours = Math.min(colours, Math.floor((pixelOffset - tableAt) / entry));
  }
  if (bpp <= 8 && colours < 1) throw corrupt('a paletted image without a palette');
  if (tableAt + colours * entry > b.length) throw corrupt('the file ends inside the palette');
  const palette = new Uint8Array(colours * 3);
  for (let i = 0; i < colours; i++) {
    const p = tableAt + i * entry;
    palette[i * 3] = b[p + 2]!;
    palette[i * 3 + 1] = b[p + 1]!;
    palette[i * 3 + 2] = b[p]!;
  }

  const stride = Math.floor((width * bpp + 31) / 32) * 4;
  let andMask: number | undefined;
  if (compression === RGB || fields) {
    // The last row may lack its padding; anything shorter is a truncated file.
    const need = pixelOffset + stride * (height - 1) + Math.ceil((width * bpp) / 8);
    if (need > b.length) throw corrupt(`truncated: ${b.length} bytes where the pixels need ${need}`);
    const mask = pixelOffset + stride * height;
    if (opts.icon && mask + Math.floor((width + 31) / 32) * 4 * height <= b.length) andMask = mask;
  } else if (pixelOffset >= b.length) throw corrupt('truncated before the pixels');

  let icc: Uint8Array | undefined;
  if (size >= 124 && field(56) === MBED) {
    const start = at + field(112);
    const end = start + field(116);
    if (end > start && end <= b.length) icc = b.subarray(start, end);
  }
  return { width, height, topDown, bpp, compression, palette, colours, masks, pixelOffset, stride, andMask, icc };
}

/** Each mask one run of bits within the pixel, none overlapping another (a zero mask: that channel is 0). */
function checkMasks(masks: readonly number[], bpp: number) {
  let seen = 0;
  for (const m of masks) {
    const run = m === 0 ? 0 : m >>> ctz(m);
    if ((run & (run + 1)) !== 0 || (bpp === 16 && m > 0xffff) || (seen & m) !== 0) {
      throw corrupt(`bit masks ${masks.map((x) => `0x${x.toString(16)}`).join(', ')} are not separate runs`);
    }
    seen |= m;
  }
}

const ctz = (m: number) => 31 - Math.clz32(m & -m);

/** The size and alpha of a BMP file from its headers (for the limits), without allocating its pixels. */
export function header(b: Uint8Array): ForeignHeader {
  const dib = readFile(b);
  return { format: 'bmp', width: dib.width, height: dib.height, frames: 1, bitDepth: 8, hasAlpha: hasAlpha(b, dib) };
}

/** A BMP file as upright RGB, or RGBA when it has a real alpha channel or RLE leaves pixels out. */
export function decode(b: Uint8Array, opts: { maxPixels: number }): ForeignImage {
  const dib = readFile(b);
  return decodeDib(b, dib, { ...opts, alpha: hasAlpha(b, dib) });
}

function readFile(b: Uint8Array): Dib {
  if (b.length < 26 || b[0] !== 0x42 || b[1] !== 0x4d) throw corrupt('not a BMP file (no "BM")');
  return readDib(b, 14, { pixelOffset: new DataView(b.buffer, b.byteOffset).getUint32(10, true) });
}

/**
 * Whether the picture needs its alpha: an alpha mask (or 32-bit's reserved byte) that is not zero everywhere
 * (all-zero alpha means "unused", as browsers read it), or RLE that skips pixels (left transparent).
 */
export function hasAlpha(b: Uint8Array, dib: Dib): boolean {
  if (dib.compression === RLE8 || dib.compression === RLE4) return rle(b, dib, null) < dib.width * dib.height;
  const a = dib.masks[3];
  if (a === 0 || (dib.bpp !== 16 && dib.bpp !== 32)) return false;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const bytes = dib.bpp / 8;
  for (let y = 0; y < dib.height; y++) {
    const row = dib.pixelOffset + y * dib.stride;
    for (let x = 0; x < dib.width; x++) {
      const p = row + x * bytes;
      if (((bytes === 4 ? v.getUint32(p, true) : v.getUint16(p, true)) & a) !== 0) return true;
    }
  }
  return false;
}

/** Decodes a DIB's pixels, after checking the pixel count against the limit and before allocating them. */
export function decodeDib(b: Uint8Array, dib: Dib, opts: { maxPixels: number; alpha: boolean }): ForeignImage {
  const { width: w, height: h } = dib;
  if (w * h > opts.maxPixels) {
    throw new KinuError(
      'too_many_pixels',
      `the original has ${w}×${h} = ${w * h} pixels; the limit is ${opts.maxPixels}`,
    );
  }
  const ch = opts.alpha ? 4 : 3;
  const out = new Uint8Array(w * h * ch);
  const image = (data: Uint8Array, channels: 3 | 4): ForeignImage => ({
    width: w,
    height: h,
    channels,
    depth: 8,
    data,
    frames: 1,
    bitDepth: 8,
    ...(dib.icc ? { icc: dib.icc } : {}),
  });
  if (dib.compression === RLE8 || dib.compression === RLE4) {
    // Pixels RLE skips stay transparent black (an all-zero buffer); alpha was asked for only if there are any.
    const put = (x: number, y: number, i: number) => {
      const o = ((h - 1 - y) * w + x) * ch;
      paint(dib, i, out, o);
      if (ch === 4) out[o + 3] = 255;
    };
    rle(b, dib, put);
    return image(out, ch);
  }
  const { palette, colours, bpp, stride } = dib;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const scale = dib.masks.map(scaler);
  const [mr, mg, mb, ma] = dib.masks;
  const bytes8 =
    bpp === 32 && dib.masks.every((m, i) => (i === 3 && m === 0) || [0xff, 0xff00, 0xff0000, 0xff000000].includes(m))
      ? dib.masks.map((m) => (m === 0 ? 0 : ctz(m) / 8))
      : undefined;
  for (let r = 0; r < h; r++) {
    const src = dib.pixelOffset + r * stride;
    const row = (dib.topDown ? r : h - 1 - r) * w * ch;
    let o = row;
    if (bpp <= 8) {
      const perByte = 8 / bpp;
      const mask = (1 << bpp) - 1;
      for (let x = 0; x < w; x++, o += ch) {
        const i = bpp === 8 ? b[src + x]! : (b[src + ((x / perByte) | 0)]! >> (8 - bpp * ((x % perByte) + 1))) & mask;
        if (i >= colours) throw corrupt(`pixel index ${i} is beyond the palette's ${colours} colours`);
        out[o] = palette[i * 3]!;
        out[o + 1] = palette[i * 3 + 1]!;
        out[o + 2] = palette[i * 3 + 2]!;
      }
    } else if (bpp === 24) {
      for (let x = 0, p = src; x < w; x++, o += ch, p += 3) {
        out[o] = b[p + 2]!;
        out[o + 1] = b[p + 1]!;
        out[o + 2] = b[p]!;
      }
    } else if (bytes8) {
      // Every field a whole byte (32-bit BI_RGB, the usual BITFIELDS): no scaling, no DataView.
      const [r8, g8, b8, a8] = bytes8;
      for (let x = 0, p = src; x < w; x++, o += ch, p += 4) {
        out[o] = b[p + r8!]!;
        out[o + 1] = b[p + g8!]!;
        out[o + 2] = b[p + b8!]!;
        if (ch === 4) out[o + 3] = b[p + a8!]!;
      }
    } else {
      const four = bpp === 32;
      for (let x = 0, p = src; x < w; x++, o += ch, p += four ? 4 : 2) {
        const px = four ? v.getUint32(p, true) : v.getUint16(p, true);
        out[o] = scale[0]!(px & mr!);
        out[o + 1] = scale[1]!(px & mg!);
        out[o + 2] = scale[2]!(px & mb!);
        if (ch === 4) out[o + 3] = scale[3]!(px & ma!);
      }
    }
    if (ch === 4 && bpp !== 16 && bpp !== 32) for (let x = 0; x < w; x++) out[row + x * 4 + 3] = 255;
  }
  return image(out, ch);
}

function paint(dib: Dib, i: number, out: Uint8Array, o: number) {
  if (i >= dib.colours) throw corrupt(`pixel index ${i} is beyond the palette's ${dib.colours} colours`);
  out[o] = dib.palette[i * 3]!;
  out[o + 1] = dib.palette[i * 3 + 1]!;
  out[o + 2] = dib.palette[i * 3 + 2]!;
}

/** A masked field scaled to 0–255 (n bits: v × 255 / (2^n − 1), so a full field is white, not 248). */
function scaler(mask: number): (masked: number) => number {
  if (mask === 0) return () => 0;
  const shift = ctz(mask);
  const max = (mask >>> shift) >>> 0;
  if (max === 255) return (m) => m >>> shift;
  return (m) => Math.round(((m >>> shift) * 255) / max);
}

/**
 * Walks RLE8/RLE4 data (runs, literal runs, end-of-line, end-of-bitmap, delta), calling `put` with each pixel
 * (x, row from the bottom, palette index), and returns how many were set. A run past its row or past the last
 * row, or data that ends early, is corrupt.
 */
function rle(b: Uint8Array, dib: Dib, put: ((x: number, y: number, i: number) => void) | null): number {
  const { width: w, height: h } = dib;
  const four = dib.compression === RLE4;
  let p = dib.pixelOffset;
  let x = 0;
  let y = 0;
  let set = 0;
  const room = (n: number) => {
    if (y >= h || x + n > w) throw corrupt(`an RLE run of ${n} at (${x}, ${y}) leaves the ${w}×${h} picture`);
  };
  for (;;) {
    if (p + 2 > b.length) {
      if (y >= h || (y === h - 1 && x === w)) return set; // a missing end-of-bitmap after the last pixel
      throw corrupt('RLE data ends before the picture does (truncated)');
    }
    const n = b[p]!;
    const c = b[p + 1]!;
    p += 2;
    if (n > 0) {
      room(n);
      if (put) for (let i = 0; i < n; i++) put(x + i, y, four ? (i & 1 ? c & 15 : c >> 4) : c);
      x += n;
      set += n;
    } else if (c === 0) {
      x = 0;
      y++;
    } else if (c === 1) {
      return set;
    } else if (c === 2) {
      if (p + 2 > b.length) throw corrupt('RLE data ends inside a delta (truncated)');
      x += b[p]!;
      y += b[p + 1]!;
      p += 2;
      if (x > w || y > h) throw corrupt(`an RLE delta to (${x}, ${y}) leaves the ${w}×${h} picture`);
    } else {
      const bytes = four ? Math.ceil(c / 2) : c;
      if (p + bytes > b.length) throw corrupt('RLE data ends inside a literal run (truncated)');
      room(c);
      if (put)
        for (let i = 0; i < c; i++)
          put(x + i, y, four ? (i & 1 ? b[p + (i >> 1)]! & 15 : b[p + (i >> 1)]! >> 4) : b[p + i]!);
      x += c;
      set += c;
      p += (bytes + 1) & ~1;
    }
  }
}
