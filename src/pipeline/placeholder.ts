// What a page shows before an image arrives: a ThumbHash (a blurred ~32 px preview in ~25 bytes) and one
// dominant colour, both read from a ≤100×100 sRGB thumbnail made with a single decode.
import sharp from 'sharp';
import { rgbaToThumbHash } from 'thumbhash';
import { sniffForeign, toSharpInput } from './foreign/index.ts';

export interface Placeholder {
  /** ThumbHash bytes, base64 (with padding): decode with `thumbHashToDataURL` from the `thumbhash` package. */
  readonly thumbhash: string;
  /** `#rrggbb`: the most common colour of the visible pixels. */
  readonly dominant: string;
}

export interface PlaceholderOptions {
  /** Refuse inputs with more pixels (sharp's `limitInputPixels`, default 16383²); `false` for images kinu made itself. */
  readonly maxPixels?: number | false;
}

/** The decode of a foreign original for a placeholder: /_kinu/info has checked it under its limits already. */
const FOREIGN_TIMEOUT_MS = 30_000;

/** ThumbHash's encoder takes at most 100×100. */
const SIDE = 100;

export async function placeholder(image: Buffer, opts: PlaceholderOptions = {}): Promise<Placeholder> {
  // An original sharp cannot decode (HEIC) is decoded off-thread first, as the pipeline does (foreign/).
  if (sniffForeign(image) !== undefined) {
    const maxPixels = opts.maxPixels === false ? Number.MAX_SAFE_INTEGER : (opts.maxPixels ?? 16383 * 16383);
    image = (await toSharpInput(image, { maxPixels, deadline: Date.now() + FOREIGN_TIMEOUT_MS })).data;
  }
  const { data, info } = await sharp(image, { autoOrient: true, limitInputPixels: opts.maxPixels ?? true })
    .resize(SIDE, SIDE, { fit: 'inside', withoutEnlargement: true })
    .toColourspace('srgb')
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return {
    thumbhash: Buffer.from(rgbaToThumbHash(info.width, info.height, data)).toString('base64'),
    dominant: dominantColour(data),
  };
}

/**
 * The heaviest bin of a 16×16×16 RGB histogram (as sharp's `stats().dominant`), but weighted by alpha so
 * transparent pixels do not count, and answered as the mean of that bin's pixels rather than the bin's
 * centre, so a flat colour comes back exactly.
 */
export function dominantColour(rgba: Uint8Array): string {
  const weight = new Float64Array(4096);
  const sums = new Float64Array(4096 * 3);
  let total = 0;
  for (let i = 0; i < rgba.length; i += 4) total += rgba[i + 3]!;
  for (let i = 0; i < rgba.length; i += 4) {
    // A fully transparent image still has colours: then every pixel counts the same.
    const w = total > 0 ? rgba[i + 3]! : 1;
    if (w === 0) continue;
    const r = rgba[i]!,
      g = rgba[i + 1]!,
      b = rgba[i + 2]!;
    const bin = ((r >> 4) << 8) | ((g >> 4) << 4) | (b >> 4);
    weight[bin]! += w;
    sums[bin * 3]! += r * w;
    sums[bin * 3 + 1]! += g * w;
    sums[bin * 3 + 2]! += b * w;
  }
  let best = 0;
  for (let bin = 1; bin < 4096; bin++) if (weight[bin]! > weight[best]!) best = bin;
  const w = weight[best]!;
  if (w === 0) return '#000000';
  const hex = (v: number) =>
    Math.round(v / w)
      .toString(16)
      .padStart(2, '0');
  return `#${hex(sums[best * 3]!)}${hex(sums[best * 3 + 1]!)}${hex(sums[best * 3 + 2]!)}`;
}
