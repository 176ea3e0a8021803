// The State the options built → kinu's Transform: through the native params (toTransform) where they mean
// exactly what imgproxy does (same cache entry as the native twin), else with imgproxy's own geometry, watermark
// placement, flatten and qualities as Transform fields the pipeline follows.
import { FORMATS, type OutputFormat } from '../../formats.ts';
import type { Fit, ImgproxyGeometry, ImgproxyGravity, Position, Transform } from '../../transform.ts';
import { toTransform } from '../native.ts';
import type { ParamValues } from '../params.ts';
import { COMPASS, GRAVITY_AT, invalid, type IpGravity, type State } from './options.ts';

export interface ApplyOptions {
  /** Key of the watermark image in the source; none: `wm` is refused. */
  readonly watermark: string | undefined;
}

const roundHalfEven = (v: number) => {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/** A compass point (no offsets: nativeIsExact) or sm as the native position; the native path has no rot/fl. */
function position(g: IpGravity): Position {
  if (g.type === 'sm') return { kind: 'attention' };
  if (g.type === 'fp') return { kind: 'focal', x: g.x, y: g.y };
  const [dx, dy] = COMPASS[g.type];
  return { kind: 'gravity', gravity: GRAVITY_AT[`${dx},${dy}`]! };
}

export function toKinu(s: State, o: ApplyOptions): Transform {
  const wm = s.watermark;
  if (wm && o.watermark === undefined)
    throw invalid(`${wm.by}: no watermark image is configured; set KINU_IMGPROXY_WATERMARK to its key in the source`);
  // imgproxy plans in the turned orientation: the native box means the same only where nothing is cut or placed.
  // A watermark needs the dpr imgproxy ends up using (its offsets scale by it), which its geometry computes.
  const turned = s.rotate !== 0 || s.flipH || s.flipV;
  const native = nativeIsExact(s) && (!turned || s.rt === 'fit' || !(s.width > 0 && s.height > 0)) && !wm;
  const geometry = native ? undefined : imgproxyGeometry(s);
  const base = toNative(
    geometry
      ? { ...s, width: 0, height: 0, crop: undefined, padding: undefined, zoom: [1, 1], minWidth: 0, minHeight: 0 }
      : s,
    o,
  );
  const withGeometry = geometry ? { ...base, imgproxy: geometry } : base;
  return { ...withGeometry, ...trimming(s), ...encoding(s), ...watermarking(s), ...flattening(s) };
}

/** `wm`'s placement (processing/watermark.go); the mark and its opacity are the native `watermark`. */
function watermarking(s: State): Partial<Pick<Transform, 'watermarkImgproxy'>> {
  const wm = s.watermark;
  return wm ? { watermarkImgproxy: { position: wm.position, x: wm.x, y: wm.y, scale: wm.scale } } : {};
}

/** imgproxy flattens onto `bg` whatever the output format once `bg` is given (processing/flatten.go). */
function flattening(s: State): Partial<Pick<Transform, 'flattenAlways'>> {
  return s.background ? { flattenAlways: true } : {};
}

/** `trim`'s colour and equal_* (outside the native grammar, which trims against the top-left pixel only). */
function trimming(s: State): Partial<Pick<Transform, 'trimColour' | 'trimEqual'>> {
  if (s.trim === undefined) return {};
  const out: Partial<Pick<Transform, 'trimColour' | 'trimEqual'>> = {};
  if (s.trimColour) out.trimColour = s.trimColour;
  if (s.trimEqual[0] || s.trimEqual[1]) out.trimEqual = s.trimEqual;
  return out;
}

/** imgproxy's IMGPROXY_QUALITY and IMGPROXY_FORMAT_QUALITY defaults (processing/config.go). */
const IMGPROXY_QUALITY = 80;
const IMGPROXY_FORMAT_QUALITY: Partial<Record<OutputFormat, number>> = { webp: 79, avif: 63, jxl: 77 };

/** imgproxy's quality for `f` without `q` (processing/options.go Quality): `fq`, its default, then 80. */
function defaultQuality(s: State, f: OutputFormat): number {
  return s.formatQuality.get(f) || IMGPROXY_FORMAT_QUALITY[f] || IMGPROXY_QUALITY;
}

/**
 * `mb`, `q` and `fq`. Without `q` imgproxy writes each format at its own default quality: folded into the native
 * `q` when the format is known here (none where it is kinu's own default, keeping the native twin's cache entry),
 * otherwise a per-format list for when the format is chosen; formats without a quality scale are left out.
 */
function encoding(s: State): Partial<Pick<Transform, 'maxBytes' | 'formatQuality' | 'quality'>> {
  const out: Partial<Pick<Transform, 'maxBytes' | 'formatQuality' | 'quality'>> = {};
  if (s.maxBytes > 0) out.maxBytes = s.maxBytes;
  if (s.quality > 0) return out;
  const differs = (f: OutputFormat) => FORMATS[f].quality !== undefined && defaultQuality(s, f) !== FORMATS[f].quality;
  if (s.format !== undefined && s.format !== 'best') {
    if (differs(s.format)) out.quality = defaultQuality(s, s.format);
    return out;
  }
  const fq = (Object.keys(FORMATS) as OutputFormat[])
    .filter(differs)
    .sort()
    .map((f) => [f, defaultQuality(s, f)] as const);
  if (fq.length > 0) out.formatQuality = fq;
  return out;
}

const compassOffsets = (g: IpGravity) => g.type !== 'sm' && g.type !== 'fp' && (g.x !== 0 || g.y !== 0);

/**
 * Where the native box means exactly what imgproxy does whatever the source's size, the request stays a native
 * one (same cache entry and ETag as its native twin); everything else carries imgproxy's own geometry.
 */
function nativeIsExact(s: State): boolean {
  const boxed = s.width > 0 && s.height > 0;
  const sized = s.width > 0 || s.height > 0;
  const rtExact =
    s.rt === 'fit' ||
    (s.rt === 'auto' && !boxed) ||
    s.rt === 'fill-down' ||
    (s.rt === 'fill' && (s.enlarge || !boxed)) ||
    (s.rt === 'force' && ((s.enlarge && boxed) || !sized));
  const extended = (s.extend.on || s.extendAr.on) && sized;
  const gravities = [s.gravity.g, s.extend.gravity, s.extendAr.gravity];
  return (
    rtExact &&
    !extended &&
    s.crop === undefined &&
    !gravities.some(compassOffsets) &&
    !(s.gravity.g.type === 'fp' && boxed && s.rt !== 'fit') &&
    s.zoom[0] === 1 &&
    s.zoom[1] === 1 &&
    s.minWidth === 0 &&
    s.minHeight === 0 &&
    (s.dpr === 1 || (sized && s.padding === undefined))
  );
}

const tuple = (g: IpGravity): ImgproxyGravity => (g.type === 'sm' ? ['sm', 0, 0] : [g.type, g.x, g.y]);

function imgproxyGeometry(s: State): ImgproxyGeometry {
  const c = s.crop;
  const extendGravity = (e: State['extend']) => (e.on ? tuple(e.gravity) : undefined);
  return {
    width: s.width,
    height: s.height,
    rt: s.rt,
    dpr: s.dpr,
    enlarge: s.enlarge,
    zoom: s.zoom,
    minWidth: s.minWidth,
    minHeight: s.minHeight,
    crop: c && (c.w !== 0 || c.h !== 0) ? [c.w, c.h, tuple(c.gravity ?? s.gravity.g)] : undefined,
    gravity: tuple(s.gravity.g),
    extend: extendGravity(s.extend),
    extendAr: extendGravity(s.extendAr),
    padding: s.padding,
  };
}

/** The native mapping: exact for what toKinu sends here (nativeIsExact), neutral beside imgproxy's geometry. */
function toNative(s: State, o: ApplyOptions): Transform {
  const boxed = s.width > 0 && s.height > 0;
  let fit: Fit = 'inside';
  let pos: Position | undefined;
  if (s.rt === 'fill' || s.rt === 'fill-down') {
    fit = 'cover';
    if (boxed) pos = position(s.gravity.g);
  } else if (s.rt === 'force') {
    fit = 'fill';
  } else if (s.extend.on || s.extendAr.on) {
    fit = 'contain';
    const e = s.extend.on ? s.extend : s.extendAr;
    if (boxed) pos = position(e.gravity);
  }
  // imgproxy scales padding by dpr (rounding half to even); kinu's pad is in output pixels.
  const pad = s.padding?.map((v) => roundHalfEven(v * s.dpr)) as [number, number, number, number] | undefined;
  const p: ParamValues = {
    w: s.width || undefined,
    h: s.height || undefined,
    dpr: s.dpr,
    fit,
    pos,
    enlarge: s.enlarge,
    fmt: s.format,
    q: s.quality || undefined,
    bg: s.background,
    blur: s.blur || undefined,
    sharpen: s.sharpen || undefined,
    rot: s.rotate,
    flip: s.flipH && s.flipV ? 'hv' : s.flipH ? 'h' : s.flipV ? 'v' : undefined,
    trim: s.trim,
    pad,
    pixelate: s.pixelate || undefined,
    ...(s.watermark && o.watermark !== undefined ? { wm: o.watermark, wm_opacity: s.watermark.opacity } : {}),
  };
  return toTransform(p);
}
