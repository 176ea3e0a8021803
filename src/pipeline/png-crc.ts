// libspng (sharp ≤ 0.34) ignored chunk CRCs, so a PNG with damaged IDAT data decoded into a wrong picture; libpng
// (sharp 0.35) reads a header with a bad CRC and reports a bad IDAT only as it decodes. Checking
// the CRC of every critical chunk first costs about 1 ms per MB (slice-by-8 CRC-32; node:zlib has crc32
// only from Node 22). Truncation and structure are left to the decoder.
import { KinuError } from '../errors.ts';

const TABLE = new Int32Array(256 * 8);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLE[n] = c;
}
for (let n = 0; n < 256; n++) {
  let c = TABLE[n]!;
  for (let s = 1; s < 8; s++) {
    c = TABLE[c & 0xff]! ^ (c >>> 8);
    TABLE[s * 256 + n] = c;
  }
}

export function crc32(b: Uint8Array, start = 0, end = b.length): number {
  const t = TABLE;
  let c = -1;
  let i = start;
  for (const stop = end - ((end - start) % 8); i < stop; i += 8) {
    const a = (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) ^ c;
    c =
      t[1792 + (a & 0xff)]! ^
      t[1536 + ((a >>> 8) & 0xff)]! ^
      t[1280 + ((a >>> 16) & 0xff)]! ^
      t[1024 + (a >>> 24)]! ^
      t[768 + b[i + 4]!]! ^
      t[512 + b[i + 5]!]! ^
      t[256 + b[i + 6]!]! ^
      t[b[i + 7]!]!;
  }
  for (; i < end; i++) c = t[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Throws corrupt_image when a critical chunk (IHDR, PLTE, IDAT, IEND: upper-case first letter) has a wrong CRC. */
export function checkPngCrc(png: Buffer): void {
  if (png.length < 8 || !png.subarray(0, 8).equals(SIGNATURE)) return;
  let at = 8;
  while (at + 12 <= png.length) {
    const length = png.readUInt32BE(at);
    const end = at + 8 + length;
    if (end + 4 > png.length) return;
    const critical = (png[at + 4]! & 0x20) === 0;
    if (critical && crc32(png, at + 4, end) !== png.readUInt32BE(end)) {
      const type = png.toString('latin1', at + 4, at + 8);
      throw new KinuError(
        'corrupt_image',
        `the original PNG is damaged: the ${JSON.stringify(type)} chunk at byte ${at} fails its CRC check`,
      );
    }
    if (png.toString('latin1', at + 4, at + 8) === 'IEND') return;
    at = end + 4;
  }
}
