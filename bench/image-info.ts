// Cheap checks that the right thing came back: the MIME type and pixel width of JPEG, WebP and AVIF bytes.
import type { Photo } from './corpus.ts';

export type BenchFormat = 'jpeg' | 'webp' | 'avif';

export const MIME: Readonly<Record<BenchFormat, string>> = {
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  avif: 'image/avif',
};

/** Width from the first SOFn marker of a JPEG, or -1. */
export function jpegWidth(b: Buffer): number {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return -1;
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return -1;
    const marker = b[i + 1]!;
    if (marker === 0xff) {
      i++;
      continue;
    }
    const len = b.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
      return b.readUInt16BE(i + 7);
    i += 2 + len;
  }
  return -1;
}

/** Width from the VP8 / VP8L / VP8X header of a WebP, or -1. */
export function webpWidth(b: Buffer): number {
  if (b.length < 30 || b.toString('latin1', 0, 4) !== 'RIFF' || b.toString('latin1', 8, 12) !== 'WEBP') return -1;
  const chunk = b.toString('latin1', 12, 16);
  if (chunk === 'VP8 ') return b.readUInt16LE(26) & 0x3fff;
  if (chunk === 'VP8L') return 1 + (((b[22]! & 0x3f) << 8) | b[21]!);
  if (chunk === 'VP8X') return 1 + b.readUIntLE(24, 3);
  return -1;
}

/** Width from the first `ispe` property of an AVIF, or -1. */
export function avifWidth(b: Buffer): number {
  const i = b.subarray(0, 4096).indexOf('ispe', 0, 'latin1');
  return i < 0 || i + 12 > b.length ? -1 : b.readUInt32BE(i + 8);
}

export function imageWidth(format: BenchFormat, b: Buffer): number {
  return format === 'jpeg' ? jpegWidth(b) : format === 'webp' ? webpWidth(b) : avifWidth(b);
}

/** The width a miss for `width` px must have: kinu never enlarges unless asked, and the references do the same. */
export function expectedWidth(photo: Photo, width: number): number {
  return Math.min(width, photo.width);
}

export function checkWidth(what: string, format: BenchFormat, want: number, got: number): void {
  if (got !== want) throw new Error(`${what}: expected ${format} ${want} px wide, got ${got}`);
}
