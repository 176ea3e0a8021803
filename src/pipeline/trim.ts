// Trim: cut the border that matches a corner's colour, before the plan (it changes the size the geometry uses).
// The top-left corner is sharp's default; for the bottom-right one (thumbor's trim:bottom-right) the image is
// decoded first to read that pixel, then trimmed against its colour. imgproxy may name the colour, and with
// equal_hor/equal_ver cut both opposite sides by the same (smaller) amount: the box is found, then evened out.
import type { OutputInfo, Sharp } from 'sharp';
import type { Transform } from '../transform.ts';
import type { RawShape } from './steps/index.ts';

export interface Trimmed {
  /** Raw sRGB pixels of what trim kept. */
  readonly data: Buffer;
  readonly info: OutputInfo;
  /** Where what was kept starts in the untrimmed image. */
  readonly left: number;
  readonly top: number;
}

export async function trimImage(
  img: Sharp,
  t: Pick<Transform, 'trim' | 'trimCorner' | 'trimColour' | 'trimEqual'>,
  loadRaw: (data: Buffer, raw: RawShape) => Sharp,
): Promise<Trimmed> {
  const given = t.trimColour && { r: t.trimColour[0], g: t.trimColour[1], b: t.trimColour[2], alpha: 1 };
  if (t.trimCorner !== 'bottom-right' && !t.trimEqual) {
    const { data, info } = await img
      .trim({ threshold: t.trim, ...(given && { background: given }) })
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    // sharp reports the offsets as negative numbers (where the untrimmed image starts relative to what was kept).
    return { data, info, left: -(info.trimOffsetLeft ?? 0), top: -(info.trimOffsetTop ?? 0) };
  }
  const { data, info } = await img.toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const ch = info.channels;
  const raw = { width: info.width, height: info.height, channels: ch };
  let background = given;
  if (!background && t.trimCorner === 'bottom-right') {
    const i = data.length - ch;
    background = { r: data[i]!, g: data[i + 1]!, b: data[i + 2]!, alpha: ch === 4 ? data[i + 3]! / 255 : 1 };
  }
  const trimmed = loadRaw(data, raw).trim({ threshold: t.trim, ...(background && { background }) });
  const kept = await trimmed.raw().toBuffer({ resolveWithObject: true });
  let left = -(kept.info.trimOffsetLeft ?? 0);
  let top = -(kept.info.trimOffsetTop ?? 0);
  let { width, height } = kept.info;
  if (!t.trimEqual) return { data: kept.data, info: kept.info, left, top };
  // imgproxy's vips_trim: both sides lose the smaller of the two cuts.
  if (t.trimEqual[0]) {
    left = Math.min(left, info.width - left - width);
    width = info.width - 2 * left;
  }
  if (t.trimEqual[1]) {
    top = Math.min(top, info.height - top - height);
    height = info.height - 2 * top;
  }
  const cut = await loadRaw(data, raw)
    .extract({ left, top, width, height })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: cut.data, info: cut.info, left, top };
}

/**
 * thumbor's crop after trim (transformer.py trim + manual_crop): its corners, given in the untrimmed image, move by
 * the trim offset and are limited to the trimmed image; a crop with nothing left inside is skipped.
 */
export function cropAfterTrim(
  crop: NonNullable<Transform['crop']>,
  kept: { left: number; top: number; width: number; height: number },
): Transform['crop'] {
  const limit = (v: number, max: number) => Math.min(Math.max(v, 0), max);
  const l = limit(crop.x - kept.left, kept.width);
  const t = limit(crop.y - kept.top, kept.height);
  const r = limit(crop.x + crop.width - kept.left, kept.width);
  const b = limit(crop.y + crop.height - kept.top, kept.height);
  return l >= r || t >= b ? undefined : { x: l, y: t, width: r - l, height: b - t };
}
