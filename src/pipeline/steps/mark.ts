// The watermark image as the three placements read it (native `watermark.ts`, thumbor's `watermark-at.ts`,
// imgproxy's `watermark-imgproxy.ts`): the operator's file, yet bounded like any input, decoded to sRGB + alpha
// so opacity is arithmetic on the alpha bytes, and a failure that names the mark's key, not the original's.
import sharp from 'sharp';
import { KinuError } from '../../errors.ts';
import { fromSharpError } from '../sharp-errors.ts';

/** A mark with more pixels is refused: it is decoded for every request that places it. */
export const MARK_MAX_PIXELS = 25_000_000;

export interface RawMark {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
}

/** The mark opened for reading, to add its own operations to. */
export const openMark = (input: Buffer) => sharp(input, { failOn: 'warning', limitInputPixels: MARK_MAX_PIXELS });

/** Runs `read`, turning sharp's failures into the catalogue's errors naming the mark's key (and its role: the
 *  watermark, or thumbor's frame, read the same way by `frame.ts`). */
export async function readMark<T>(key: string, read: () => Promise<T>, role = 'watermark'): Promise<T> {
  try {
    return await read();
  } catch (err) {
    const e = fromSharpError(err);
    throw new KinuError(e.code, `${role} ${key}: ${e.detail}`, { cause: err });
  }
}

/** The mark as sRGB RGBA pixels at its own size. */
export async function rgbaMark(input: Buffer): Promise<RawMark> {
  const { data, info } = await openMark(input)
    .toColourspace('srgb')
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** An RGBA mark stretched to exactly w×h; the same mark when it already is that size. */
export async function resizeMark(m: RawMark, w: number, h: number): Promise<RawMark> {
  if (w === m.width && h === m.height) return m;
  const data = await sharp(m.data, { raw: { width: m.width, height: m.height, channels: 4 } })
    .resize(w, h, { fit: 'fill' })
    .raw()
    .toBuffer();
  return { data, width: w, height: h };
}

/** Copies the mark into an RGBA layer of W×H at x, y (which may lie outside: only the overlap is copied). */
export function blit(layer: Buffer, W: number, H: number, mark: RawMark, x: number, y: number): void {
  const x0 = Math.max(0, x);
  const x1 = Math.min(W, x + mark.width);
  if (x1 <= x0) return;
  for (let row = Math.max(0, y); row < Math.min(H, y + mark.height); row++) {
    const from = ((row - y) * mark.width + (x0 - x)) * 4;
    mark.data.copy(layer, (row * W + x0) * 4, from, from + (x1 - x0) * 4);
  }
}
