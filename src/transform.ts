// The canonical description of one output image. Every URL dialect parses into it; the cache key and ETag
// are derived from it, so equal requests must produce equal objects (defaults filled, dpr folded into w/h).
import type { NegotiatedFormat, OutputFormat } from './formats.ts';

export const FITS = ['cover', 'contain', 'fill', 'inside', 'outside'] as const;
export type Fit = (typeof FITS)[number];

export const GRAVITIES = [
  'center',
  'top',
  'bottom',
  'left',
  'right',
  'top-left',
  'top-right',
  'bottom-left',
  'bottom-right',
] as const;
export type Gravity = (typeof GRAVITIES)[number];

export type Position =
  | { kind: 'gravity'; gravity: Gravity }
  | { kind: 'attention' }
  | { kind: 'entropy' }
  | { kind: 'focal'; x: number; y: number };

/** `q=auto…`: the lowest quality meeting a perceptual target, chosen per image (pipeline/quality/auto.ts). */
export const AUTO_QUALITIES = ['auto', 'auto:high', 'auto:low'] as const;
export type AutoQuality = (typeof AUTO_QUALITIES)[number];

/** `auto` is resolved per request from `Accept`, `best` too (the smallest of the formats it allows); `json`
 *  answers metadata of the output instead of pixels. */
export type RequestedFormat = OutputFormat | 'auto' | 'best' | 'json';

export interface Rgba {
  r: number;
  g: number;
  b: number;
  alpha: number;
}

export interface Watermark {
  key: string;
  gravity: Gravity;
  opacity: number;
  scale: number | undefined;
}

/** The images a transform reads beside the original, by role: deliver.ts stats and fetches them with it, and
 *  their versions are part of the ETag (a new logo or frame must not be served under an old tag). */
export type Overlay = 'watermark' | 'frame';
const NO_OVERLAYS: readonly (readonly [Overlay, string])[] = Object.freeze([]);
export function overlayKeys(t: Transform): readonly (readonly [Overlay, string])[] {
  if (t.watermark === undefined && t.frame === undefined) return NO_OVERLAYS;
  const keys: [Overlay, string][] = [];
  if (t.watermark !== undefined) keys.push(['watermark', t.watermark.key]);
  if (t.frame !== undefined) keys.push(['frame', t.frame]);
  return keys;
}

/**
 * thumbor's geometry, planned from the source size as its transformer.py does (`pipeline/thumbor-geometry.ts`):
 * crops cut in source pixels around focal points or the alignment, proportional sides rounded as thumbor's
 * engine rounds them, `orig` sides, adaptive boxes, `no_upscale` per side, `proportion`, `fill`'s canvas.
 */
export interface ThumborGeometry {
  /** Requested sides: pixels, 0 (follow the other side) or `orig` (the source's side). */
  width: number | 'orig';
  height: number | 'orig';
  mode: 'crop' | 'fit-in' | 'full-fit-in' | 'stretch';
  /** adaptive-fit-in: the box turns to the orientation of the source. */
  adaptive: boolean;
  /** fit-in may enlarge (upscale()). */
  upscale: boolean;
  /** no_upscale(): each requested side at most the source's. */
  noUpscale: boolean;
  /** halign/valign as fractions of the source: left/top 0, center/middle 0.5, right/bottom 1. */
  align: [number, number];
  /** focal() boxes as thumbor's FocalPoint.from_square makes them: centre x, y and weight, in source pixels. */
  points: [number, number, number][];
  /** smart without focal points: libvips' attention picks the crop. */
  smart: boolean;
  /** proportion(): the result scaled by this factor (0–1]. */
  proportion: number | undefined;
  /**
   * fill(): the image is centred on a canvas of the requested box (after fit-in's adjustment), of `background`
   * (`colour`), of the image's mean colour (`auto`) or of the image stretched and blurred (`blur`).
   */
  canvas: 'colour' | 'auto' | 'blur' | undefined;
}

/**
 * An imgproxy gravity as a tuple (nested objects would lose their keys in canonicalKey): a compass point with
 * offsets (pixels × dpr, or fractions of the side below 1), `fp` with a point 0–1, or `sm` (libvips attention).
 */
export type ImgproxyGravity = readonly [type: string, x: number, y: number];

/**
 * imgproxy's geometry, planned from the source size as its processing/prepare.go does
 * (`pipeline/imgproxy-geometry.ts`): crop before resize, per-side scales, dpr capped so nothing enlarges, the
 * result crop, extend, extend to the aspect ratio and padding, placed by imgproxy's calc_position.go.
 */
export interface ImgproxyGeometry {
  /** Requested box in CSS pixels; 0 = unset. */
  width: number;
  height: number;
  rt: 'fit' | 'fill' | 'fill-down' | 'force' | 'auto';
  dpr: number;
  enlarge: boolean;
  zoom: readonly [number, number];
  minWidth: number;
  minHeight: number;
  /** `c:W:H:gravity`: sides in pixels, fractions (below 1) or 0 (the full side), before the resize. */
  crop: readonly [width: number, height: number, gravity: ImgproxyGravity] | undefined;
  gravity: ImgproxyGravity;
  extend: ImgproxyGravity | undefined;
  extendAr: ImgproxyGravity | undefined;
  /** CSS pixels, top, right, bottom, left; scaled by the dpr imgproxy ends up using. */
  padding: readonly [number, number, number, number] | undefined;
}

/** thumbor's pixel filters, applied in the URL's order with thumbor's 8-bit integer arithmetic (`steps/adjust.ts`). */
export type Adjustment =
  | { op: 'brightness' | 'contrast'; value: number }
  | { op: 'saturation'; value: number }
  | { op: 'rgb'; r: number; g: number; b: number }
  /** `kernel` row by row, already divided by its sum when thumbor normalises it. */
  | { op: 'convolution'; kernel: number[]; columns: number }
  /** Per-channel histogram equalisation (_equalize.c). */
  | { op: 'equalize' }
  /** One random offset per pixel in ±amount/2 (_noise.c), from glibc's random() seeded with `seed` (> 0). */
  | { op: 'noise'; amount: number; seed: number }
  /** Each channel blended toward `fill` by its percent (_colorize.c); r, g, b arrays for canonicalKey. */
  | { op: 'colorize'; pct: [number, number, number]; fill: [number, number, number] }
  /** Cubic-spline tables (_curve.c) for all channels, then r, g, b: each flat [x0, y0, x1, y1, …] bytes. */
  | { op: 'curve'; curves: [number[], number[], number[], number[]] };

/** thumbor's round_corner: pixels outside each corner's ellipse (radii a, b) painted, or transparent. */
export interface RoundCorner {
  a: number;
  b: number;
  /** r, g, b: an array, as canonicalKey serialises nested objects by the outer object's keys only. */
  colour: [number, number, number];
  transparent: boolean;
}

/**
 * thumbor's watermark placement (thumbor/filters/watermark.py), for `watermark`'s image: x and y as thumbor
 * writes them (pixels from the left/top, `-N` from the right/bottom, `Np` percent, `center`, `repeat`), alpha the
 * transparency in percent subtracted from the mark's alpha, and its size as percents of the image.
 */
export interface WatermarkAt {
  x: string;
  y: string;
  alpha: number;
  wRatio: number | undefined;
  hRatio: number | undefined;
}

/**
 * What imgix sizes from the source (`pipeline/imgix-geometry.ts`): sides as fractions of the source, the side
 * `fit=crop` derives held within min/max, `ar` without sides, `rect` in fractions or anchors, `fp-z`, and
 * fillmax's canvas. The native fields carry fit, position and enlarge; this only resolves the box and crop.
 */
export interface ImgixGeometry {
  /** Device pixels, or with `relative` a fraction of the source's side (× dpr); 0 = unset. */
  width: number;
  height: number;
  relative: readonly [w: boolean, h: boolean];
  /** min-w, max-w, min-h, max-h in device pixels (fit=crop); 0 = no bound. */
  bounds: readonly [number, number, number, number];
  /** ar=W:H (fit=crop) as W/H; 0 = none. */
  ar: number;
  /** rect: x, y, w, h; each below 1 a fraction of the source's side; x, y of -1/-2/-3 = left|top, center|middle, right|bottom. */
  rect: readonly [number, number, number, number] | undefined;
  /** fp-z: the crop around the focal point shrunk by this factor (1 = none). */
  zoom: number;
  /** fit=fillmax: the image centred on a canvas of the box (`source`: each side at most the source's). */
  canvas: 'box' | 'source' | undefined;
}

/**
 * imgproxy's watermark placement (processing/watermark.go), for `watermark`'s image: a compass point with
 * offsets (pixels × the dpr imgproxy ends up using, or fractions of the side below 1) that may overflow the
 * image, or `re` (tiled from the centre, the offsets as gaps); `scale` > 0 fits the mark into scale × the image.
 */
export interface ImgproxyWatermark {
  position: string;
  x: number;
  y: number;
  scale: number;
}

/**
 * Cloudflare's `/cdn-cgi/image` geometry the native fields cannot say (planned in `pipeline/plan.ts`).
 * `trim`: top, right, bottom and left pixels cut off the source, then the width and height kept from that corner
 * (0 = all), before anything else (trim=T;R;B;L, trim.width). `align`: a focal `position` places cover's window so
 * the point sits at the same relative place in the window as in the image (XxY gravity: left = x·(W − w)), not
 * at its centre. `clamp`: cover without `enlarge` cuts the box to the source's sides instead of shrinking it to
 * the box's aspect ratio (fit=crop: a smaller source keeps its size).
 */
export interface CloudflareRules {
  trim: readonly [top: number, right: number, bottom: number, left: number, width: number, height: number] | undefined;
  align: boolean;
  clamp: boolean;
}

export interface Transform {
  /** Target box in device pixels (`w`/`h` × `dpr`, rounded). */
  width: number | undefined;
  height: number | undefined;
  fit: Fit;
  position: Position;
  enlarge: boolean;
  crop: { x: number; y: number; width: number; height: number } | undefined;
  format: RequestedFormat | undefined;
  quality: number | AutoQuality | undefined;
  background: Rgba | undefined;
  blur: number | undefined;
  sharpen: number | undefined;
  rotate: 0 | 90 | 180 | 270;
  flipH: boolean;
  flipV: boolean;
  animated: boolean;
  trim: number | undefined;
  /** The corner whose colour trim cuts away (thumbor's trim:bottom-right); undefined: the top-left pixel. */
  trimCorner: 'bottom-right' | undefined;
  /** r, g, b trim cuts away instead of a corner's (imgproxy's trim colour); an array for canonicalKey. */
  trimColour: readonly [number, number, number] | undefined;
  /** imgproxy's equal_hor/equal_ver: left and right (top and bottom) lose the same, the smaller of the two cuts. */
  trimEqual: readonly [hor: boolean, ver: boolean] | undefined;
  /** `crop` is in the untrimmed image's pixels and cut to what trim keeps (thumbor trims, then shifts its crop). */
  cropUntrimmed: true | undefined;
  pad: [number, number, number, number] | undefined;
  watermark: Watermark | undefined;
  gray: boolean;
  pixelate: number | undefined;
  /** When set, plan.ts follows it instead of width/height/fit/position/enlarge (which hold the nearest native box). */
  thumbor: ThumborGeometry | undefined;
  /** When set, plan.ts follows it instead of width/height/fit/position/enlarge/crop/pad, as for `thumbor`. */
  imgproxy: ImgproxyGeometry | undefined;
  adjust: readonly Adjustment[] | undefined;
  roundCorner: RoundCorner | undefined;
  /** When set, `watermark`'s image is placed by thumbor's rules (`steps/watermark-at.ts`), not by its gravity. */
  watermarkAt: WatermarkAt | undefined;
  /** When set, `watermark`'s image is placed by imgproxy's rules (`steps/watermark-imgproxy.ts`). */
  watermarkImgproxy: ImgproxyWatermark | undefined;
  /**
   * thumbor's frame(): the key of a nine-patch image in the source, drawn around the image, which it pads by the
   * frame's borders (`steps/frame.ts`); read beside the original like the watermark (`overlayKeys`).
   */
  frame: string | undefined;
  /** thumbor's autojpg(): an opaque PNG original is written as JPEG unless a format is asked for. */
  pngToJpeg: true | undefined;
  /** Flatten onto `background` whatever the output format (thumbor's background_color and fill(…, true)). */
  flattenAlways: true | undefined;
  /**
   * A byte budget for the encoded output (imgproxy `max_bytes`, thumbor `max_bytes()`): when the first encode is
   * larger, the quality is lowered step by step as imgproxy's saveImageToFitBytes does, down to 10; if even that
   * is too large, that smallest attempt is served. Only for formats with a quality scale (not PNG/GIF/lossless),
   * and only for encoders inside sharp (`pipeline/max-bytes.ts`). It wins over `q=auto`.
   */
  maxBytes: number | undefined;
  /** Quality per output format (imgproxy `format_quality`), used when `quality` is unset: the format is known only
   *  once it is chosen (from `Accept` or the source). Pairs sorted by format, so equal requests key alike. */
  formatQuality: readonly (readonly [format: OutputFormat, quality: number])[] | undefined;
  /**
   * `fmt=auto` limited to these formats, best first (Next.js's `images.formats`, the AVIF/WebP of Cloudflare's
   * `format=auto` and imgix's `auto=format`); undefined: every format kinu negotiates, in its order.
   */
  autoFormats: readonly NegotiatedFormat[] | undefined;
  /** What `fmt=auto` serves a client that accepts none of them: `source` = the original's own format, as the
   *  hosted services answer; undefined = kinu's JPEG/PNG/GIF by alpha and animation. */
  autoFallback: 'source' | undefined;
  /** JPEG written progressive (imgix `fm=pjpg`, Cloudflare's `format=jpeg`); kinu's own JPEG is baseline. */
  progressive: true | undefined;
  /** When set, plan.ts applies Cloudflare's trim, XxY alignment and fit=crop rules to the native fields. */
  cloudflare: CloudflareRules | undefined;
  /**
   * Next.js's optimizer rules on what the original turns out to be (its image-optimizer/transform.ts): an SVG is
   * refused (400), with `autoFallback` a WebP or AVIF original becomes JPEG for a client accepting none of
   * `autoFormats`, and an animated GIF, PNG or WebP is served `as-is` (Next's answer) or, where KINU_ORIGINALS
   * keeps originals from being served, `resized` like a still.
   */
  nextjs: 'as-is' | 'resized' | undefined;
  /** When set, plan.ts resolves imgix's box from the source (`pipeline/imgix-geometry.ts`), then plans the native fields. */
  imgix: ImgixGeometry | undefined;
  /**
   * ipx's `s=WxH` without `enlarge` (its clampDimensionsPreservingAspectRatio): the w×h box first shrinks, keeping
   * its aspect ratio, until it fits inside the original's sides (compared unrotated, as ipx does); `enlarge` then
   * applies to what is resized (ipx sets it: a crop may grow to that box).
   */
  boxInSource: true | undefined;
  /** sharp's resize kernel (ipx's `kernel`, handed over with `s`); undefined: lanczos3, sharp's default. */
  kernel: Kernel | undefined;
  /** sharp's own operations, one call each as ipx makes them (`steps/sharp-ops.ts`). */
  sharpOps: SharpOps | undefined;
  /** `fit: contain`'s margins repeat the image's edge pixels instead of `background` (imgix `fit=clamp`). */
  clampEdges: true | undefined;
}

export const KERNELS = [
  'nearest',
  'linear',
  'cubic',
  'mitchell',
  'lanczos2',
  'lanczos3',
  'mks2013',
  'mks2021',
] as const;
export type Kernel = (typeof KERNELS)[number];

/** Arguments of sharp's gamma(in, out), median(size), threshold(t), normalise(), tint(rgb) and negate(). */
export interface SharpOps {
  gamma?: readonly [number, number];
  median?: number;
  threshold?: number;
  normalise?: true;
  tint?: readonly [number, number, number];
  negate?: true;
}

export const IDENTITY: Readonly<Transform> = Object.freeze<Transform>({
  width: undefined,
  height: undefined,
  fit: 'cover',
  position: { kind: 'gravity', gravity: 'center' },
  enlarge: false,
  crop: undefined,
  format: undefined,
  quality: undefined,
  background: undefined,
  blur: undefined,
  sharpen: undefined,
  rotate: 0,
  flipH: false,
  flipV: false,
  animated: true,
  trim: undefined,
  trimCorner: undefined,
  trimColour: undefined,
  trimEqual: undefined,
  cropUntrimmed: undefined,
  pad: undefined,
  watermark: undefined,
  gray: false,
  pixelate: undefined,
  thumbor: undefined,
  imgproxy: undefined,
  adjust: undefined,
  roundCorner: undefined,
  watermarkAt: undefined,
  watermarkImgproxy: undefined,
  frame: undefined,
  pngToJpeg: undefined,
  flattenAlways: undefined,
  maxBytes: undefined,
  formatQuality: undefined,
  autoFormats: undefined,
  autoFallback: undefined,
  progressive: undefined,
  cloudflare: undefined,
  imgix: undefined,
  nextjs: undefined,
  boxInSource: undefined,
  kernel: undefined,
  sharpOps: undefined,
  clampEdges: undefined,
});

const KEY_ORDER: readonly (keyof Transform)[] = Object.keys(IDENTITY) as (keyof Transform)[];

/** A stable string for the cache key and ETag: fixed field order, undefined fields omitted. */
export function canonicalKey(t: Transform): string {
  let key = CANONICAL.get(t);
  if (key === undefined) CANONICAL.set(t, (key = computeCanonicalKey(t)));
  return key;
}

// Parsed transforms are reused for repeated URLs, so their canonical form is computed once.
const CANONICAL = new WeakMap<Transform, string>();

function computeCanonicalKey(t: Transform): string {
  const parts: string[] = [];
  for (const k of KEY_ORDER) {
    const v = t[k];
    if (v === undefined) continue;
    parts.push(
      `${k}=${JSON.stringify(v, v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.keys(v).sort() : undefined)}`,
    );
  }
  return parts.join(';');
}

export const DEFAULT_BACKGROUND: Readonly<Rgba> = Object.freeze({ r: 255, g: 255, b: 255, alpha: 1 });
