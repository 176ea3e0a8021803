// libspng (sharp ≤ 0.34) ignored chunk CRCs, so a PNG with damaged IDAT data decoded into a wrong picture; libpng
// (sharp 0.35) reads a header with a bad CRC and reports a bad IDAT only as it decodes. Checking
// the CRC of every critical chunk first costs 0.4–1 ms per MB (crc32.ts). Truncation and structure are left to
// the decoder.
import { crc32 } from '../crc32.ts';
import { KinuError } from '../errors.ts';

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
