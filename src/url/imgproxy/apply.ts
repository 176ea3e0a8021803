// The State the options built → kinu's Transform, through the native params (toTransform), so a dialect
// cannot mean something the native grammar cannot say. What cannot be mapped is refused here with the reason.
import type { Fit, Gravity, ImgproxyGeometry, ImgproxyGravity, Position, Transform } from '../../transform.ts';
import { toTransform } from '../native.ts';
import type { ParamValues } from '../params.ts';
import { COMPASS, GRAVITY_AT, invalid, type Compass, type IpGravity, type State } from './options.ts';

export interface ApplyOptions {
  /** Key of the watermark image in the source; none: `wm` is refused. */
  readonly watermark: string | undefined;
}

/**
 * Where imgproxy places a crop or padding in the output's orientation, kinu places it in the source's (it
 * resizes before it rotates and mirrors): map an output-side point back through the mirror, then the turn.
 */
function toSource(s: State, x: number, y: number, centred: boolean): [number, number] {
  const inv = (v: number) => (centred ? -v : 1 - v);
  let [u, v] = [s.flipH ? inv(x) : x, s.flipV ? inv(y) : y];
  switch (s.rotate) {
    case 90:
      [u, v] = [v, inv(u)];
      break;
    case 180:
      [u, v] = [inv(u), inv(v)];
      break;
    case 270:
      [u, v] = [inv(v), u];
      break;
  }
  return [u, v];
}

function position(s: State, g: IpGravity, by: string, allowFocal: boolean): Position {
  if (g.type === 'sm') return { kind: 'attention' };
  if (g.type === 'fp') {
    if (!allowFocal)
      throw invalid(
        `${by}: fp gravity for extend is not supported together with rot or fl (kinu plans imgproxy's geometry in the source's orientation only)`,
      );
    const [x, y] = toSource(s, g.x, g.y, false);
    return { kind: 'focal', x, y };
  }
  if (g.x !== 0 || g.y !== 0)
    throw invalid(
      `${by}: gravity offsets are not supported together with rot or fl (kinu plans imgproxy's geometry in the source's orientation only)`,
    );
  const [dx, dy] = COMPASS[g.type];
  const [u, v] = toSource(s, dx, dy, true);
  return { kind: 'gravity', gravity: GRAVITY_AT[`${u},${v}`]! };
}

const roundHalfEven = (v: number) => {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

function cropBox(s: State): undefined {
  const c = s.crop;
  if (!c || (c.w === 0 && c.h === 0)) return undefined;
  throw invalid(
    `${c.by}: crop is not supported together with rot or fl (kinu plans imgproxy's geometry in the source's orientation only)`,
  );
}

export function toKinu(s: State, o: ApplyOptions): Transform {
  const geometry = s.rotate === 0 && !s.flipH && !s.flipV && !nativeIsExact(s) ? imgproxyGeometry(s) : undefined;
  const base = toNative(
    geometry
      ? { ...s, width: 0, height: 0, crop: undefined, padding: undefined, zoom: [1, 1], minWidth: 0, minHeight: 0 }
      : s,
    o,
  );
  const withGeometry = geometry ? { ...base, imgproxy: geometry } : base;
  return { ...withGeometry, ...trimming(s), ...encoding(s) };
}

/** `trim`'s colour and equal_* (outside the native grammar, which trims against the top-left pixel only). */
function trimming(s: State): Partial<Pick<Transform, 'trimColour' | 'trimEqual'>> {
  if (s.trim === undefined) return {};
  const out: Partial<Pick<Transform, 'trimColour' | 'trimEqual'>> = {};
  if (s.trimColour) out.trimColour = s.trimColour;
  if (s.trimEqual[0] || s.trimEqual[1]) out.trimEqual = s.trimEqual;
  return out;
}

/**
 * `mb` and `fq`. A quality is explicit when `q` or the format is known here (fq then folds into the native
 * `q`, keeping the native twin's cache entry); otherwise the per-format list waits for the chosen format.
 */
function encoding(s: State): Partial<Pick<Transform, 'maxBytes' | 'formatQuality' | 'quality'>> {
  const out: Partial<Pick<Transform, 'maxBytes' | 'formatQuality' | 'quality'>> = {};
  if (s.maxBytes > 0) out.maxBytes = s.maxBytes;
  const fq = [...s.formatQuality].filter(([, q]) => q > 0);
  if (s.quality === 0 && fq.length > 0) {
    if (s.format !== undefined) {
      const q = s.formatQuality.get(s.format);
      if (q) out.quality = q;
    } else out.formatQuality = fq.sort(([a], [b]) => (a < b ? -1 : 1));
  }
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
  if (c && (c.gravity ?? s.gravity.g).type === 'sm')
    throw invalid(`${c.by}: sm (smart) gravity for crop is not supported; use a compass point or fp:x:y`);
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

/** The native mapping: exact for what nativeIsExact accepts; with rot/fl, the nearest native request or a 400. */
function toNative(s: State, o: ApplyOptions): Transform {
  const boxed = s.width > 0 && s.height > 0;
  const sized = s.width > 0 || s.height > 0;
  const zoomed = s.zoom[0] !== 1 || s.zoom[1] !== 1;
  if (zoomed || s.minWidth > 0 || s.minHeight > 0)
    throw invalid(
      `${zoomed ? 'zoom' : s.minWidth > 0 ? 'min-width' : 'min-height'}: not supported together with rot or fl (kinu plans imgproxy's geometry in the source's orientation only)`,
    );
  if (s.rt === 'auto' && boxed) {
    throw invalid(
      `${s.rtBy}: auto with both width and height is not supported together with rot or fl (kinu plans imgproxy's geometry in the source's orientation only)`,
    );
  }
  if (s.rt === 'force' && sized && !boxed) {
    throw invalid(
      `${s.rtBy}: force with only ${s.width > 0 ? 'width' : 'height'} is not supported together with rot or fl (kinu plans imgproxy's geometry in the source's orientation only)`,
    );
  }
  let fit: Fit = 'inside';
  let pos: Position | undefined;
  if (s.rt === 'fill' || s.rt === 'fill-down') {
    fit = 'cover';
    if (boxed) pos = position(s, s.gravity.g, s.gravity.by, true);
  } else if (s.rt === 'force') {
    fit = 'fill';
  } else if (s.extend.on || s.extendAr.on) {
    fit = 'contain';
    const e = s.extend.on ? s.extend : s.extendAr;
    if (boxed) pos = position(s, e.gravity, e.by, false);
  }
  const wm = s.watermark;
  if (wm && o.watermark === undefined)
    throw invalid(`${wm.by}: no watermark image is configured; set KINU_IMGPROXY_WATERMARK to its key in the source`);
  // imgproxy scales padding by dpr (rounding half to even); kinu's pad is in output pixels.
  const pad = s.padding?.map((v) => roundHalfEven(v * s.dpr)) as [number, number, number, number] | undefined;
  const p: ParamValues = {
    w: s.width || undefined,
    h: s.height || undefined,
    dpr: s.dpr,
    fit,
    pos,
    enlarge: s.enlarge,
    crop: cropBox(s),
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
    ...(wm && o.watermark !== undefined
      ? { wm: o.watermark, wm_pos: gravityName(wm.position), wm_opacity: wm.opacity, wm_scale: wm.scale || undefined }
      : {}),
  };
  return toTransform(p);
}

function gravityName(c: Compass): Gravity {
  const [x, y] = COMPASS[c];
  return GRAVITY_AT[`${x},${y}`]!;
}
