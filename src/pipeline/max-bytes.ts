// A byte budget for the encoded output (Transform.maxBytes): imgproxy's saveImageToFitBytes
// (processing/save_fit_bytes.go), step for step, so a migrated `mb:` URL gets the quality imgproxy would pick.
import type { OutputInfo, Sharp } from 'sharp';
import { FORMATS, type OutputFormat } from '../formats.ts';
import type { Animation } from '../formats.ts';

/** imgproxy stops lowering the quality at or below this and serves that attempt, fitting or not. */
export const MIN_FIT_QUALITY = 10;

/** The next quality to try after an attempt of `size` bytes at `quality` missed `target`: imgproxy's steps. */
export function nextFitQuality(quality: number, size: number, target: number): number {
  const delta = size / target;
  const scale = delta > 3 ? 0.25 : delta > 1.5 ? 0.5 : 0.75;
  // Go's math.Round rounds half away from zero, as Math.round does for positive numbers.
  return Math.max(1, Math.min(quality - 1, Math.round(quality * scale)));
}

/**
 * Encodes `img` (every step applied) at `quality`, then lower, until the bytes fit `target` or the quality is
 * at most MIN_FIT_QUALITY (that attempt is returned: the smallest imgproxy would make). Each attempt re-runs
 * the pipeline from its input (sharp's clone); `check` (deadline, abort) runs between attempts.
 */
export async function encodeToFit(
  img: Sharp,
  format: OutputFormat,
  quality: number,
  target: number,
  animation: Animation | undefined,
  check: () => void,
  opts?: { readonly progressive?: boolean },
): Promise<{ data: Buffer; info: OutputInfo; quality: number }> {
  let q = quality;
  for (;;) {
    const out = await FORMATS[format].encode(img.clone(), q, animation, opts).toBuffer({ resolveWithObject: true });
    if (out.data.length <= target || q <= MIN_FIT_QUALITY) return { ...out, quality: q };
    check();
    q = nextFitQuality(q, out.data.length, target);
  }
}
