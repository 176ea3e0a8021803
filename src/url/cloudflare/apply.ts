// The State Cloudflare's options built → kinu's Transform, through the native params (toTransform) plus the
// `cloudflare` rules for what only Cloudflare means (trim by sides, XxY alignment, fit=crop's clamp). What kinu
// cannot do the same way is refused here, naming the option.
import type { Fit, Gravity, Position, Transform } from '../../transform.ts';
import { DEFAULT_BACKGROUND } from '../../transform.ts';
import { toTransform } from '../native.ts';
import type { ParamValues } from '../params.ts';
import { type CfFit, type CfFormat, invalid, type Perceptual, type State } from './options.ts';

/** Cloudflare's default quality for JPEG, WebP and AVIF ("85 is the default"). */
export const CF_QUALITY = 85;

/** Each fit as kinu's fit and whether it may enlarge (the features page's fit table). */
const FITS: Readonly<Record<CfFit, readonly [Fit, boolean]>> = {
  contain: ['inside', true],
  'scale-down': ['inside', false],
  cover: ['cover', true],
  // cover that never enlarges; its box is cut to a smaller source's sides (CloudflareRules.clamp).
  crop: ['cover', false],
  // contain's image on a canvas of the box.
  pad: ['contain', true],
  squeeze: ['fill', true],
};

/** The perceptual levels on kinu's SSIMULACRA 2 presets: ends to ends, the two middles to the middle. */
const PERCEPTUAL_Q: Readonly<Record<Perceptual, 'auto' | 'auto:high' | 'auto:low'>> = {
  high: 'auto:high',
  'medium-high': 'auto',
  'medium-low': 'auto',
  low: 'auto:low',
};

const FORMATS: Readonly<Record<CfFormat, Transform['format']>> = {
  auto: 'auto',
  avif: 'avif',
  webp: 'webp',
  // Cloudflare's `jpeg` is progressive (apply sets Transform.progressive), `baseline-jpeg` is not.
  jpeg: 'jpeg',
  'baseline-jpeg': 'jpeg',
  png: 'png',
  'png-force': 'png',
  json: 'json',
};

const COMPASS: Readonly<Record<string, Gravity>> = {
  '0.5,0.5': 'center',
  '0,0.5': 'left',
  '1,0.5': 'right',
  '0.5,0': 'top',
  '0.5,1': 'bottom',
  '0,0': 'top-left',
  '1,0': 'top-right',
  '0,1': 'bottom-left',
  '1,1': 'bottom-right',
};

export function toKinu(s: State): Transform {
  refuseUnsupported(s);
  const [fit, enlarge] = FITS[s.fit];
  // Cloudflare flips, then rotates; kinu rotates, then mirrors: a mirror after a quarter turn is the other one.
  const quarter = s.rotate === 90 || s.rotate === 270;
  const flip = quarter && (s.flip === 'h' || s.flip === 'v') ? (s.flip === 'h' ? 'v' : 'h') : s.flip;
  const crops = s.fit === 'cover' || s.fit === 'crop';
  const { pos, align } = crops ? position(s, flip) : { pos: undefined, align: false };
  const values: ParamValues = {
    w: s.width,
    h: s.height,
    dpr: s.dpr,
    fit,
    pos,
    enlarge,
    rot: s.rotate,
    flip,
    anim: s.anim,
    q: s.quality === undefined ? CF_QUALITY : typeof s.quality === 'number' ? s.quality : PERCEPTUAL_Q[s.quality],
    // A radius 1–250 as a Gaussian sigma: σ = r / 2.5, so Cloudflare's 250 is kinu's strongest blur (100).
    blur: s.blur > 0 ? Math.max(0.3, s.blur / 2.5) : undefined,
    // Strength 0–10 as the sharpening sigma (kinu's smallest is 0.5).
    sharpen: s.sharpen > 0 ? Math.max(0.5, s.sharpen) : undefined,
    gray: s.saturation === 0,
  };
  const t = toTransform(values);
  // Rules that cannot change this output are left out, so equal outputs share a cache key.
  const aligned = align && t.position.kind === 'focal';
  const clamp = s.fit === 'crop' && t.width !== undefined && t.height !== undefined;
  const { top, right, bottom, left, width, height } = s.trim;
  // "Takes dpr into account": trim counts CSS pixels, as width and height do.
  const px = (v: number) => Math.round(v * s.dpr);
  const sides = [top, right, bottom, left, width, height].some((v) => v > 0);
  const rules =
    sides || aligned || clamp
      ? {
          trim: sides ? ([px(top), px(right), px(bottom), px(left), px(width), px(height)] as const) : undefined,
          align: aligned,
          clamp,
        }
      : undefined;
  const background = s.fit === 'pad' ? (s.background ?? DEFAULT_BACKGROUND) : s.background;
  return {
    ...t,
    format: s.format === undefined ? undefined : FORMATS[s.format],
    progressive: s.format === 'jpeg' ? true : undefined,
    // "Cloudflare will default to JPEG when possible due to the large size of PNG files."
    pngToJpeg: s.format === undefined ? true : undefined,
    ...(s.format === 'auto' && { autoFormats: ['avif', 'webp'] as const, autoFallback: 'source' as const }),
    background,
    // A background is painted under the image's transparency too, whatever the output format.
    flattenAlways: s.background !== undefined ? true : undefined,
    // Tolerance 255 is an exact match, kinu's threshold 0; without one, sharp's default threshold (10).
    trim: s.border ? (s.border.tolerance === undefined ? 10 : 255 - s.border.tolerance) : undefined,
    trimColour: s.border?.colour ? [s.border.colour.r, s.border.colour.g, s.border.colour.b] : undefined,
    adjust: adjustments(s),
    cloudflare: rules,
  };
}

/** gravity, in the output's orientation, as a position in the source's (kinu crops before it rotates and mirrors). */
function position(s: State, flip: State['flip']): { pos: Position | undefined; align: boolean } {
  const g = s.gravity;
  if (g === undefined) return { pos: undefined, align: false };
  // kinu has no face detection: libvips' attention (saliency) is the nearest it has.
  if (g.kind !== 'point') return { pos: { kind: 'attention' }, align: false };
  let [u, v] = [flip === 'h' || flip === 'hv' ? 1 - g.x : g.x, flip === 'v' || flip === 'hv' ? 1 - g.y : g.y];
  switch (s.rotate) {
    case 90:
      [u, v] = [v, 1 - u];
      break;
    case 180:
      [u, v] = [1 - u, 1 - v];
      break;
    case 270:
      [u, v] = [1 - v, u];
      break;
  }
  const compass = COMPASS[`${u},${v}`];
  if (compass) return { pos: { kind: 'gravity', gravity: compass }, align: false };
  return { pos: { kind: 'focal', x: u, y: v }, align: true };
}

/** brightness, contrast, gamma and saturation: 0 and 1 change nothing (saturation 0 is greyscale). */
function adjustments(s: State): Transform['adjust'] {
  const out: NonNullable<Transform['adjust']>[number][] = [];
  // thumbor's contrast scales around 128 by ((v + 100) / 100)²: the value giving Cloudflare's factor.
  if (s.contrast !== 0 && s.contrast !== 1) out.push({ op: 'contrast', value: 100 * Math.sqrt(s.contrast) - 100 });
  // thumbor's saturation moves each channel from the pixel's perceived brightness by this factor.
  if (s.saturation !== 0 && s.saturation !== 1) out.push({ op: 'saturation', value: s.saturation });
  return out.length > 0 ? out : undefined;
}

function refuseUnsupported(s: State): void {
  if (s.brightness !== 0 && s.brightness !== 1)
    throw invalid(
      'brightness: Cloudflare publishes no formula for its brightness factor (colour space, clipping), so kinu cannot match it; 0 and 1 (no change) are accepted',
    );
  if (s.gamma !== 0 && s.gamma !== 1)
    throw invalid(
      "gamma: Cloudflare publishes no formula for its gamma, and sharp's gamma() is not an exposure change; 0 and 1 (no change) are accepted",
    );
  if (s.border && s.border.keep > 0)
    throw invalid('trim.border.keep: keeping part of the trimmed border is not supported by kinu');
}
