// The carrier that hands pixels decoded outside sharp to sharp: an uncompressed baseline TIFF, because libtiff
// reads it at memcpy speed and it carries what raw input cannot: the ICC profile (so Display P3 is converted
// to sRGB like any JPEG), 16-bit samples, alpha (ExtraSamples) and frames (one page each).
import type { ForeignImage } from './types.ts';

const SHORT = 3;
const LONG = 4;
const UNDEFINED = 7;
/** Bytes per strip: libvips reads a TIFF strip by strip, so no strip costs more than this beside the pixels. */
const STRIP_BYTES = 256 * 1024;

interface Entry {
  readonly tag: number;
  readonly type: number;
  /** Values, or for UNDEFINED the bytes (written at `at`). */
  readonly values: readonly number[] | Uint8Array;
}

/** The image as one TIFF (little-endian): header, the pixels once, then per frame an IFD and its arrays. */
export function toTiff(img: ForeignImage): Buffer {
  const bytesPerSample = img.depth / 8;
  const rowBytes = img.width * img.channels * bytesPerSample;
  const frameBytes = rowBytes * img.height;
  if (img.data.length < frameBytes * img.frames) throw new Error('toTiff: fewer pixels than the image declares');
  const rowsPerStrip = Math.max(1, Math.min(img.height, Math.floor(STRIP_BYTES / rowBytes)));
  const strips = Math.ceil(img.height / rowsPerStrip);
  const alpha = img.channels === 2 || img.channels === 4;

  const ifds = Array.from({ length: img.frames }, (_, f): Entry[] => {
    const base = 8 + f * frameBytes;
    const offsets = Array.from({ length: strips }, (_, s) => base + s * rowsPerStrip * rowBytes);
    const counts = offsets.map((_, s) => Math.min(rowsPerStrip, img.height - s * rowsPerStrip) * rowBytes);
    const entries: Entry[] = [
      { tag: 256, type: LONG, values: [img.width] },
      { tag: 257, type: LONG, values: [img.height] },
      { tag: 258, type: SHORT, values: new Array<number>(img.channels).fill(img.depth) },
      { tag: 259, type: SHORT, values: [1] }, // no compression
      { tag: 262, type: SHORT, values: [img.channels >= 3 ? 2 : 1] }, // RGB, or grey with 0 = black
      { tag: 273, type: LONG, values: offsets },
      { tag: 277, type: SHORT, values: [img.channels] },
      { tag: 278, type: LONG, values: [rowsPerStrip] },
      { tag: 279, type: LONG, values: counts },
      { tag: 284, type: SHORT, values: [1] }, // interleaved
    ];
    if (alpha) entries.push({ tag: 338, type: SHORT, values: [2] }); // unassociated alpha
    if (img.icc && img.icc.length > 0) entries.push({ tag: 34675, type: UNDEFINED, values: img.icc });
    return entries;
  });

  // Sizes first: each IFD is 2 + 12 per entry + 4, followed by the values that do not fit in 4 bytes.
  const size = (e: Entry) => (e.type === UNDEFINED ? 1 : e.type === SHORT ? 2 : 4) * e.values.length;
  const outside = (e: Entry) => size(e) > 4;
  const ifdBytes = (es: Entry[]) => 2 + 12 * es.length + 4 + es.filter(outside).reduce((n, e) => n + even(size(e)), 0);
  const pixelsEnd = 8 + frameBytes * img.frames;
  const total = ifds.reduce((n, es) => n + ifdBytes(es), even(pixelsEnd));
  if (total > 0xffffffff) throw new Error('toTiff: over 4 GiB');

  const out = Buffer.allocUnsafe(total);
  out.write('II', 0, 'latin1');
  out.writeUInt16LE(42, 2);
  out.set(img.data.subarray(0, frameBytes * img.frames), 8);
  if (pixelsEnd % 2) out[pixelsEnd] = 0;
  let at = even(pixelsEnd);
  out.writeUInt32LE(at, 4);
  ifds.forEach((es, f) => {
    let extra = at + 2 + 12 * es.length + 4;
    out.writeUInt16LE(es.length, at);
    es.forEach((e, i) => {
      const p = at + 2 + 12 * i;
      out.writeUInt16LE(e.tag, p);
      out.writeUInt16LE(e.type, p + 2);
      out.writeUInt32LE(e.values.length, p + 4);
      out.writeUInt32LE(0, p + 8);
      const dst = outside(e) ? extra : p + 8;
      if (outside(e)) {
        out.writeUInt32LE(extra, p + 8);
        extra += even(size(e));
      }
      if (e.values instanceof Uint8Array) out.set(e.values, dst);
      else if (e.type === SHORT) for (const [k, v] of e.values.entries()) out.writeUInt16LE(v, dst + 2 * k);
      else for (const [k, v] of e.values.entries()) out.writeUInt32LE(v, dst + 4 * k);
    });
    const next = at + ifdBytes(es);
    out.writeUInt32LE(f + 1 < ifds.length ? next : 0, at + 2 + 12 * es.length);
    at = next;
  });
  return out;
}

const even = (n: number) => n + (n % 2);
