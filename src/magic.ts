// Image magic numbers, in one place: source/sniff.ts reads them to tell what an object is (an image to serve or
// not), pipeline/foreign to pick a decoder. Both layers import this file rather than each other.

const view = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length));

/** `s` (latin1) at byte `at`. */
export const ascii = (b: Uint8Array, at: number, s: string): boolean =>
  b.length >= at + s.length && view(b).toString('latin1', at, at + s.length) === s;

/** The bytes `v` at byte `at`. */
export const bytesAt = (b: Uint8Array, at: number, ...v: number[]): boolean =>
  b.length >= at + v.length && v.every((x, i) => b[at + i] === x);

export const isJpeg = (b: Uint8Array) => bytesAt(b, 0, 0xff, 0xd8, 0xff);
export const isPng = (b: Uint8Array) => bytesAt(b, 0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
export const isGif = (b: Uint8Array) => ascii(b, 0, 'GIF87a') || ascii(b, 0, 'GIF89a');
export const isWebp = (b: Uint8Array) => ascii(b, 0, 'RIFF') && ascii(b, 8, 'WEBP');
export const isTiff = (b: Uint8Array) =>
  ascii(b, 0, 'II*\0') || ascii(b, 0, 'MM\0*') || ascii(b, 0, 'II+\0') || ascii(b, 0, 'MM\0+');

/** JPEG XL: a bare codestream, or the container's signature box. */
export const isJxl = (b: Uint8Array) =>
  bytesAt(b, 0, 0xff, 0x0a) || bytesAt(b, 0, 0, 0, 0, 0x0c, 0x4a, 0x58, 0x4c, 0x20, 0x0d, 0x0a, 0x87, 0x0a);

/** BMP: `BM`, the file size, reserved zeros, then a known DIB header size, so a text starting with BM is not one. */
export const isBmp = (b: Uint8Array) =>
  ascii(b, 0, 'BM') &&
  b.length >= 18 &&
  view(b).readUInt32LE(6) === 0 &&
  [12, 40, 52, 56, 64, 108, 124].includes(view(b).readUInt32LE(14));

/** ICO: reserved 0, type 1, at least one image, whose first directory entry has a zero reserved byte and 0–1 planes. */
export const isIco = (b: Uint8Array) =>
  bytesAt(b, 0, 0, 0, 1, 0) &&
  b.length >= 22 &&
  view(b).readUInt16LE(4) > 0 &&
  b[9] === 0 &&
  view(b).readUInt16LE(10) <= 1;

/** The ftyp box's brands of an ISO-BMFF file (HEIF, AVIF, MP4…), major first; undefined when it starts none. */
export function ftypBrands(b: Uint8Array): string[] | undefined {
  if (!ascii(b, 4, 'ftyp') || b.length < 16) return undefined;
  const v = view(b);
  const size = Math.min(v.readUInt32BE(0), b.length, 512);
  if (size < 16 || size % 4 !== 0) return undefined;
  const brands = [v.toString('latin1', 8, 12)];
  for (let at = 16; at + 4 <= size; at += 4) brands.push(v.toString('latin1', at, at + 4));
  return brands;
}

/**
 * ISO-BMFF brands that name a still image or an image sequence (`sequence`), by the format they make the file;
 * video brands (isom, mp42, …) are none of these.
 */
export const IMAGE_BRANDS: Readonly<
  Record<string, { readonly format: 'avif' | 'heic' | 'heif'; readonly sequence: boolean }>
> = Object.assign(Object.create(null) as object, {
  avif: { format: 'avif' as const, sequence: false },
  avis: { format: 'avif' as const, sequence: true },
  heic: { format: 'heic' as const, sequence: false },
  heix: { format: 'heic' as const, sequence: false },
  heim: { format: 'heic' as const, sequence: false },
  heis: { format: 'heic' as const, sequence: false },
  hevc: { format: 'heic' as const, sequence: true },
  hevx: { format: 'heic' as const, sequence: true },
  mif1: { format: 'heif' as const, sequence: false },
  msf1: { format: 'heif' as const, sequence: true },
});
