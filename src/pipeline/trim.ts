// Trim: cut the border that matches a corner's colour, before the plan (it changes the size the geometry uses).
// The top-left corner is sharp's default; for the bottom-right one (thumbor's trim:bottom-right) the image is
// decoded first to read that pixel, then trimmed against its colour.
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
  t: Pick<Transform, 'trim' | 'trimCorner'>,
  loadRaw: (data: Buffer, raw: RawShape) => Sharp,
): Promise<Trimmed> {
  let trimmed: Sharp;
  if (t.trimCorner === 'bottom-right') {
    const { data, info } = await img.toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    const ch = info.channels;
    const i = data.length - ch;
    const background = { r: data[i]!, g: data[i + 1]!, b: data[i + 2]!, alpha: ch === 4 ? data[i + 3]! / 255 : 1 };
    trimmed = loadRaw(data, { width: info.width, height: info.height, channels: ch }).trim({
      threshold: t.trim,
      background,
    });
  } else trimmed = img.trim({ threshold: t.trim });
  const { data, info } = await trimmed.toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  // sharp reports the offsets as negative numbers (where the untrimmed image starts relative to what was kept).
  return { data, info, left: -(info.trimOffsetLeft ?? 0), top: -(info.trimOffsetTop ?? 0) };
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
