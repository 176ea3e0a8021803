// Pure geometry and decisions, made once from the header before any pixel is decoded: limits, output
// format, crop box, resize box, padding, flatten. Steps only apply these numbers.
import { KinuError } from '../errors.ts';
import { fallbackFormat, FORMAT_TABLE, FORMATS, defaultOutputFormat, MAX_SIDE, type OutputFormat } from '../formats.ts';
import { DEFAULT_BACKGROUND, type Gravity, type Rgba, type Transform } from '../transform.ts';
import { estimateCost, formatBytes, type Cost, type SourceLayout } from './cost.ts';
import { preferences, type AcceptClass } from './negotiate.ts';
import { planImgproxy, type Turn } from './imgproxy-geometry.ts';
import { planThumbor } from './thumbor-geometry.ts';
import { canvasPad, imgixBox } from './imgix-geometry.ts';
import type { ForeignSettings } from './foreign/index.ts';

export interface Limits {
  readonly maxPixels: number;
  readonly maxFrames: number;
  /** The limiter's memory budget: a plan whose estimated peak exceeds it can never run (absent = no budget). */
  readonly memoryBytes?: number;
  /** KINU_TIMEOUT: an output whose estimated encode time exceeds it can never be answered in time. */
  readonly timeoutMs?: number;
  /** Decoders outside sharp (KINU_CODEC_WORKERS, KINU_HEIC); absent: one codec thread, HEIC on. */
  readonly foreign?: ForeignSettings;
}

/** What sharp's encoders accept for frame delays (ms) and play counts; a WebP frame may declare 16,777,215 ms. */
const MAX_DELAY = 65535;
const MAX_LOOP = 65535;

/**
 * An animation's timing as a header gives it (sharp's or a foreign decoder's), bounded to what the encoders
 * take: one delay per frame (a missing tail repeats the last one given). Beyond 65535 plays (a GIF's 65535
 * repeats read as 65536) the count is dropped: libvips then writes the decoder's own, exactly for GIF and as
 * "forever" for WebP.
 */
export function animationTiming(
  frames: number,
  delay: readonly number[] | undefined,
  loop: number | undefined,
): Pick<SourceInfo, 'delay' | 'loop'> {
  if (frames <= 1) return { delay: undefined, loop: undefined };
  const given = (delay ?? [])
    .slice(0, frames)
    .map((d) => (Number.isFinite(d) ? Math.min(MAX_DELAY, Math.max(0, Math.round(d))) : 0));
  while (given.length > 0 && given.length < frames) given.push(given[given.length - 1]!);
  return {
    delay: given.length > 0 ? given : undefined,
    loop: Number.isInteger(loop) && loop! >= 0 && loop! <= MAX_LOOP ? loop : undefined,
  };
}

/** What the header says, after auto-orient (and after trim, when trimming ran first). */
export interface SourceInfo {
  readonly format: string;
  readonly width: number;
  readonly height: number;
  readonly frames: number;
  readonly hasAlpha: boolean;
  /** Frame delays in ms and play count (0 = forever) of an animation, for encoders given re-assembled frames. */
  readonly delay?: readonly number[] | undefined;
  readonly loop?: number | undefined;
  /** Size of the encoded original, held in memory while it is processed. */
  readonly bytes?: number;
  /** Progressive or interlaced originals are decoded whole even when read row by row (their cost). */
  readonly layout?: SourceLayout | undefined;
}

export type SharpPosition = Gravity | 'attention' | 'entropy';

export interface Plan {
  readonly source: SourceInfo;
  readonly transform: Transform;
  readonly format: OutputFormat;
  readonly quality: number | undefined;
  /** Load every frame (animated output) or only the first. */
  readonly animated: boolean;
  readonly crop: { left: number; top: number; width: number; height: number } | undefined;
  /** imgproxy's `c:W:H:sm`: libvips' attention places a box of `crop`'s size instead (steps/crop.ts). */
  readonly smartCrop?: true;
  /** imgproxy's geometry: the dpr it ends up using (its DprScale), which also scales its watermark's offsets. */
  readonly imgproxyDpr?: number;
  /** Resize to exactly width×height; `fit` is how sharp gets there (cover crops by `position`, contain pads). */
  readonly resize:
    | { width: number; height: number; fit: 'fill' | 'cover' | 'contain'; position: SharpPosition }
    | undefined;
  /** Padding around the resized image: top, right, bottom, left (`pad`, or thumbor's fill canvas). */
  readonly pad: [number, number, number, number] | undefined;
  /**
   * thumbor's frame(): the borders its nine-patch adds (top, right, bottom, left), read from the frame before the
   * plan. `width` and `height` are the image inside them, as the steps before the frame see it; the output, and
   * every limit and cost, is larger by them (`steps/frame.ts`).
   */
  readonly frame?: readonly [number, number, number, number];
  /** For focal points: after a `fill` resize to the cover size, cut this window. */
  readonly focalWindow: { left: number; top: number; width: number; height: number } | undefined;
  readonly width: number;
  readonly height: number;
  readonly background: Rgba;
  readonly flatten: Rgba | undefined;
  /** Estimated peak memory and encode time: reserved from the limiter's budget before the work starts. */
  readonly cost: Cost;
  /** `fmt=best`: the formats to encode, `format` first, when more than one fits (pipeline/quality/best.ts keeps
   *  the smallest meeting the target); `cost` is then the sum of their encodes. */
  readonly candidates?: readonly OutputFormat[];
}

export { MAX_SIDE };

export function checkLimits(info: { width: number; height: number; frames: number }, limits: Limits): void {
  if (info.frames > limits.maxFrames) {
    throw new KinuError('too_many_frames', `the original has ${info.frames} frames; the limit is ${limits.maxFrames}`);
  }
  const pixels = info.width * info.height * info.frames;
  if (pixels > limits.maxPixels) {
    throw new KinuError(
      'too_many_pixels',
      `the original has ${info.width}×${info.height}${info.frames > 1 ? `×${info.frames} frames` : ''} = ${pixels} pixels; the limit is ${limits.maxPixels}`,
    );
  }
}

export function outputFormat(t: Transform, src: SourceInfo, accept: AcceptClass): OutputFormat {
  return formatChoices(t, src, accept)[0]!;
}

/**
 * The formats this request may get, best first. An explicit `fmt` is the only choice; `fmt=auto` and the
 * default fall back to a cheaper format when the first would not fit the memory budget or the deadline.
 */
function formatChoices(t: Transform, src: SourceInfo, accept: AcceptClass): OutputFormat[] {
  const wantsAnimation = keepsFrames(t) && src.frames > 1;
  if (t.format === 'auto' || t.format === 'best') {
    // Next.js: a client naming none of images.formats gets JPEG for a WebP or AVIF original.
    const legacy = t.nextjs && (src.format === 'webp' || src.format === 'avif') ? 'jpeg' : undefined;
    const own =
      t.autoFallback === 'source'
        ? (legacy ?? defaultOutputFormat(src.format, src.hasAlpha, wantsAnimation))
        : undefined;
    const all = preferences(accept, { alpha: src.hasAlpha, animated: wantsAnimation }, t.autoFormats, own);
    // fmt=best scores each candidate by decoding it with sharp, which cannot read JPEG XL: it is left out.
    return t.format === 'best' ? all.filter((f) => !FORMAT_TABLE[f].write?.external) : all;
  }
  if (t.format === undefined || t.format === 'json') {
    const native = defaultOutputFormat(src.format, src.hasAlpha, wantsAnimation);
    const first = t.pngToJpeg && native === 'png' && src.format === 'png' && !src.hasAlpha ? 'jpeg' : native;
    const fallback = fallbackFormat({ alpha: src.hasAlpha, animated: false });
    return first === fallback || first === 'gif' ? [first] : [first, fallback];
  }
  return [t.format];
}

export function makePlan(
  src: SourceInfo,
  t: Transform,
  accept: AcceptClass,
  limits: Limits,
  frame?: readonly [number, number, number, number],
): Plan {
  const ix = t.imgix ? imgixBox(src.width, src.height, t.imgix, t.position, t.fit === 'cover') : undefined;
  const cfTrim = t.cloudflare?.trim;
  const manual = ix ? ix.crop : cfTrim ? cloudflareTrim(cfTrim, src) : t.crop ? clampCrop(t.crop, src) : undefined;
  const cw = manual?.width ?? src.width;
  const ch = manual?.height ?? src.height;
  // The box applies to the output, so with a quarter turn the image is resized into the swapped box.
  const quarter = t.rotate === 90 || t.rotate === 270;
  const bw = quarter ? (ix ? ix.height : t.height) : ix ? ix.width : t.width;
  const bh = quarter ? (ix ? ix.width : t.width) : ix ? ix.height : t.height;
  const peer: PeerGeometry | undefined = t.thumbor
    ? thumborGeometry(cw, ch, t.thumbor, manual)
    : t.imgproxy
      ? imgproxyGeometry(cw, ch, t.imgproxy, manual, t)
      : undefined;
  const inSource = t.boxInSource && boxInSource(t.width, t.height, src);
  const geo =
    peer?.geo ??
    (inSource
      ? resizeGeometry(cw, ch, inSource[quarter ? 1 : 0], inSource[quarter ? 0 : 1], t)
      : resizeGeometry(cw, ch, bw, bh, t));
  const crop = peer ? peer.crop : manual;
  const canvas = ix && canvasPad(t.imgix!, { width: bw, height: bh }, geo, { width: cw, height: ch });
  const pad = peer?.pad ?? (canvas ? (canvas.map((v, i) => v + (t.pad?.[i] ?? 0)) as Plan['pad']) : t.pad);

  const [pt, pr, pb, pl] = pad ?? [0, 0, 0, 0];
  const rw = quarter ? geo.height : geo.width;
  const rh = quarter ? geo.width : geo.height;
  const width = rw + pl + pr;
  const height = rh + pt + pb;

  const [ft, fr, fb, fl] = frame ?? [0, 0, 0, 0];
  const { format, animated, cost, candidates } = chooseFormat(
    formatChoices(t, src, accept),
    src,
    t,
    width + fl + fr,
    height + ft + fb,
    limits,
    accept,
  );
  const info = FORMATS[format];
  // Without alpha in the output, padding uses the flatten colour: a translucent bg would otherwise be
  // flattened onto black by the encoder.
  const flatten = !info.alpha || t.flattenAlways ? { ...(t.background ?? DEFAULT_BACKGROUND), alpha: 1 } : undefined;
  const background = flatten ?? t.background ?? { r: 0, g: 0, b: 0, alpha: 0 };
  // libvips finds attention and entropy in one picture only: an animation is cut around its centre.
  const smart = geo.resize && (geo.resize.position === 'attention' || geo.resize.position === 'entropy');
  const resize = animated && smart ? { ...geo.resize!, position: 'center' as const } : geo.resize;
  return {
    source: src,
    transform: t,
    format,
    // q=auto… is searched at encode (pipeline/quality/auto.ts); this is then its fallback, the format's default.
    quality: qualityFor(t, format),
    animated,
    crop,
    resize,
    pad,
    focalWindow: geo.focalWindow,
    width,
    height,
    background,
    flatten,
    cost,
    ...(candidates && { candidates }),
    ...(peer?.smartCrop && !animated && { smartCrop: true }),
    ...(peer?.dpr !== undefined && { imgproxyDpr: peer.dpr }),
    ...(frame && { frame }),
  };
}

/**
 * The first choice whose side limit, memory estimate and encode time fit; else why the last one does not. For
 * `fmt=best` (a still), also every later choice that fits beside it: the sum of their encodes (the decode once)
 * must fit the budget and half the time limit, as one request's does.
 */
function chooseFormat(
  choices: readonly OutputFormat[],
  src: SourceInfo,
  t: Transform,
  width: number,
  height: number,
  limits: Limits,
  accept: AcceptClass,
): { format: OutputFormat; animated: boolean; cost: Cost; candidates?: OutputFormat[] } {
  const budget = limits.memoryBytes ?? Infinity;
  const timeoutMs = limits.timeoutMs ?? Infinity;
  const whole =
    t.rotate !== 0 ||
    t.flipH ||
    t.flipV ||
    t.trim !== undefined ||
    t.watermark !== undefined ||
    t.frame !== undefined ||
    t.pixelate !== undefined ||
    t.adjust !== undefined ||
    t.sharpOps !== undefined || // normalise's histogram; negate/tint… before a flatten at save are materialised
    t.clampEdges !== undefined ||
    t.roundCorner !== undefined;
  const costOf = (format: OutputFormat, frames: number, w: number, h: number) =>
    estimateCost({
      sourceFormat: src.format,
      sourceWidth: src.width,
      sourceHeight: src.height,
      sourceLayout: src.layout,
      inputBytes: src.bytes ?? 0,
      format,
      width: w,
      height: h,
      frames,
      sourceFrames: src.frames,
      fullDecode: t.sharpOps?.gamma !== undefined,
      wholeImage: whole || (frames > 1 && (t.blur !== undefined || t.sharpen !== undefined)),
    });
  // Decoding alone may not fit (a huge AVIF original): no output format helps, the original is too large.
  const decodeOnly = costOf('jpeg', 1, 1, 1);
  if (decodeOnly.bytes > budget) {
    throw new KinuError(
      'too_many_pixels',
      `decoding this ${src.width}×${src.height} ${src.format} original needs about ${formatBytes(decodeOnly.bytes)}; the memory budget (KINU_MEMORY_BUDGET) is ${formatBytes(budget)}`,
    );
  }
  let refusal: KinuError | undefined;
  let first: { format: OutputFormat; animated: boolean; cost: Cost } | undefined;
  const candidates: OutputFormat[] = [];
  for (const format of choices) {
    const info = FORMATS[format];
    const animated = keepsFrames(t) && src.frames > 1 && info.animation;
    const frames = animated ? src.frames : 1;
    const side = Math.min(MAX_SIDE, info.maxSide);
    const name = FORMAT_TABLE[format].label.toUpperCase();
    if (width > side || height > side || width * height > limits.maxPixels) {
      refusal = new KinuError(
        'output_too_large',
        `the output would be ${width}×${height} pixels; the limits are ${side} per side${side < MAX_SIDE ? ` for ${format}` : ''} and ${limits.maxPixels} in all`,
      );
      continue;
    }
    const cost = costOf(format, frames, width, height);
    if (cost.bytes > budget) {
      refusal = new KinuError(
        'output_too_large',
        `a ${width}×${height}${frames > 1 ? `×${frames}` : ''} ${name} needs about ${formatBytes(cost.bytes)} of memory to encode; the memory budget (KINU_MEMORY_BUDGET) is ${formatBytes(budget)}: ask for a smaller size or another format`,
      );
      continue;
    }
    // An encoder nothing can stop must fit in half the time limit: the estimate is one idle core's, and a
    // late one would go on spending a core (and its memory) after its request was answered 504.
    if (!info.cost.stoppable && cost.ms > timeoutMs / 2) {
      refusal = new KinuError(
        'output_too_large',
        `a ${width}×${height}${frames > 1 ? `×${frames}` : ''} ${name} takes about ${Math.max(1, Math.round(cost.ms / 1000))} s to encode, too long for the time limit (KINU_TIMEOUT) of ${timeoutMs / 1000} s: ask for a smaller size or another format`,
      );
      continue;
    }
    if (!first) {
      first = { format, animated, cost };
      if (t.format !== 'best' || animated) return first;
      candidates.push(format);
      continue;
    }
    const sum = { bytes: first.cost.bytes + cost.bytes - decodeOnly.bytes, ms: first.cost.ms + cost.ms };
    if (sum.bytes <= budget && sum.ms <= timeoutMs / 2) {
      first.cost = sum;
      candidates.push(format);
    }
  }
  if (first) return candidates.length > 1 ? { ...first, candidates } : first;
  // Where kinu chose the format, an animation too costly in every format the client takes is served as a
  // still of its first frame rather than refused.
  if (src.frames > 1 && (t.format === 'auto' || t.format === 'best' || t.format === undefined || t.format === 'json')) {
    const still = { ...src, frames: 1 };
    return chooseFormat(formatChoices(t, still, accept), still, t, width, height, limits, accept);
  }
  throw refusal!;
}

/** The quality `format` is written at for a numeric or absent `q`: it, imgproxy's per-format one, the default. */
export function qualityFor(t: Transform, format: OutputFormat): number | undefined {
  return typeof t.quality === 'number'
    ? t.quality
    : (t.formatQuality?.find(([f]) => f === format)?.[1] ?? FORMATS[format].quality);
}

/** libvips cannot rotate, mirror, trim, pixelate, watermark or frame a multi-page image: those keep the first frame. */
function keepsFrames(t: Transform): boolean {
  return (
    t.animated &&
    t.rotate === 0 &&
    !t.flipH &&
    !t.flipV &&
    t.trim === undefined &&
    t.pixelate === undefined &&
    t.watermark === undefined &&
    t.frame === undefined
  );
}

function clampCrop(c: NonNullable<Transform['crop']>, src: SourceInfo) {
  if (c.x >= src.width || c.y >= src.height) {
    throw new KinuError('invalid_param', `crop: region starts outside the ${src.width}×${src.height} image`);
  }
  return {
    left: c.x,
    top: c.y,
    width: Math.min(c.width, src.width - c.x),
    height: Math.min(c.height, src.height - c.y),
  };
}

/** Cloudflare's trim: sides cut off, then at most width × height kept from the top-left corner left. */
function cloudflareTrim(
  [top, right, bottom, left, w, h]: NonNullable<NonNullable<Transform['cloudflare']>['trim']>,
  src: SourceInfo,
) {
  const width = Math.min(src.width - left - right, w || Infinity);
  const height = Math.min(src.height - top - bottom, h || Infinity);
  if (width < 1 || height < 1)
    throw new KinuError(
      'invalid_param',
      `trim: ${top};${right};${bottom};${left} leaves nothing of the ${src.width}×${src.height} image`,
    );
  return { left, top, width, height };
}

interface Geometry {
  width: number;
  height: number;
  resize: Plan['resize'];
  focalWindow: Plan['focalWindow'];
}

const px = (v: number) => Math.max(1, Math.round(v));

/** imgproxy's geometry (`imgproxy-geometry.ts`): its crop in source pixels, the resize, the result crop as the window after it, padding. */
function imgproxyGeometry(
  cw: number,
  ch: number,
  g: NonNullable<Transform['imgproxy']>,
  manual: Plan['crop'],
  turn: Turn,
): PeerGeometry {
  const p = planImgproxy(cw, ch, g, turn);
  const crop =
    p.crop && manual
      ? { ...p.crop, left: p.crop.left + manual.left, top: p.crop.top + manual.top }
      : (p.crop ?? manual);
  const w = p.window;
  // libvips' attention chooses the window itself: a cover resize straight to the window's size.
  const resize: Plan['resize'] = w?.smart
    ? { width: w.width, height: w.height, fit: 'cover', position: 'attention' }
    : p.resize && { width: p.resize.width, height: p.resize.height, fit: 'fill', position: 'center' };
  const focalWindow = w && !w.smart ? { left: w.left, top: w.top, width: w.width, height: w.height } : undefined;
  return {
    geo: { width: p.width, height: p.height, resize, focalWindow },
    crop: crop && { left: crop.left, top: crop.top, width: crop.width, height: crop.height },
    pad: p.pad,
    smartCrop: p.crop?.smart || undefined,
    dpr: p.dpr,
  };
}

type PeerGeometry = {
  geo: Geometry;
  crop: Plan['crop'];
  pad: Plan['pad'];
  smartCrop?: true | undefined;
  dpr?: number | undefined;
};

/** thumbor's geometry (`thumbor-geometry.ts`) as one crop in source pixels (its auto crop inside the manual one), a resize and padding. */
function thumborGeometry(
  cw: number,
  ch: number,
  g: NonNullable<Transform['thumbor']>,
  manual: Plan['crop'],
): { geo: Geometry; crop: Plan['crop']; pad: Plan['pad'] } {
  const p = planThumbor(cw, ch, g, manual);
  const crop =
    p.crop && manual
      ? { ...p.crop, left: p.crop.left + manual.left, top: p.crop.top + manual.top }
      : (p.crop ?? manual);
  const resize: Plan['resize'] = p.resize && {
    width: p.resize.width,
    height: p.resize.height,
    fit: p.resize.smart ? 'cover' : 'fill',
    position: p.resize.smart ? 'attention' : 'center',
  };
  return { geo: { width: p.width, height: p.height, resize, focalWindow: undefined }, crop, pad: p.pad };
}

/** `Transform.boxInSource`: ipx's clampDimensionsPreservingAspectRatio, its rounding included. */
function boxInSource(w: number | undefined, h: number | undefined, src: SourceInfo): [number, number] | undefined {
  if (w === undefined || h === undefined) return undefined;
  const ratio = w / h;
  let [width, height] = [w, h];
  if (width > src.width) [width, height] = [src.width, px(src.width / ratio)];
  if (height > src.height) [width, height] = [px(src.height * ratio), src.height];
  return [width, height];
}

/** Where the image of sw×sh ends up for a box bw×bh (either may be absent). Never enlarges unless asked. */
export function resizeGeometry(
  sw: number,
  sh: number,
  bw: number | undefined,
  bh: number | undefined,
  t: Pick<Transform, 'fit' | 'position' | 'enlarge'> & { readonly cloudflare?: Transform['cloudflare'] },
): Geometry {
  const cap = (s: number) => (t.enlarge ? s : Math.min(s, 1));
  const scaled = (s: number): Geometry => {
    const width = px(sw * s);
    const height = px(sh * s);
    return {
      width,
      height,
      resize: width === sw && height === sh ? undefined : { width, height, fit: 'fill', position: 'center' },
      focalWindow: undefined,
    };
  };
  if (bw === undefined && bh === undefined) return scaled(1);
  if (bw === undefined) return scaled(cap(bh! / sh));
  if (bh === undefined) return scaled(cap(bw / sw));

  switch (t.fit) {
    case 'inside':
      return scaled(cap(Math.min(bw / sw, bh / sh)));
    case 'outside':
      return scaled(cap(Math.max(bw / sw, bh / sh)));
    case 'fill': {
      const width = t.enlarge ? bw : Math.min(bw, sw);
      const height = t.enlarge ? bh : Math.min(bh, sh);
      return {
        width,
        height,
        resize: width === sw && height === sh ? undefined : { width, height, fit: 'fill', position: 'center' },
        focalWindow: undefined,
      };
    }
    case 'cover':
    case 'contain': {
      const s = t.fit === 'cover' ? Math.max(bw / sw, bh / sh) : Math.min(bw / sw, bh / sh);
      // Without enlarge a small source keeps its size and the box shrinks, keeping the asked aspect ratio
      // (or, for Cloudflare's fit=crop, the box is cut to the source's sides).
      const clamped = !t.enlarge && t.cloudflare?.clamp === true;
      const shrink = !t.enlarge && s > 1 && !clamped ? s : 1;
      const k = clamped ? Math.min(s, 1) : s / shrink;
      const cover = t.fit === 'cover';
      const width = cover ? Math.min(px(bw / shrink), px(sw * k)) : px(bw / shrink);
      const height = cover ? Math.min(px(bh / shrink), px(sh * k)) : px(bh / shrink);
      const pos = t.position;
      if (cover && pos.kind === 'focal') {
        const fw = px(sw * k);
        const fh = px(sh * k);
        const aligned = t.cloudflare?.align === true;
        const left = aligned
          ? Math.round(pos.x * (fw - width))
          : clamp(Math.round(pos.x * fw - width / 2), 0, fw - width);
        const top = aligned
          ? Math.round(pos.y * (fh - height))
          : clamp(Math.round(pos.y * fh - height / 2), 0, fh - height);
        return {
          width,
          height,
          resize: { width: fw, height: fh, fit: 'fill', position: 'center' },
          focalWindow: { left, top, width, height },
        };
      }
      // attention and entropy choose what to cut away, so they only mean something for cover.
      const position: SharpPosition =
        pos.kind === 'gravity' ? pos.gravity : cover && pos.kind !== 'focal' ? pos.kind : 'center';
      return { width, height, resize: { width, height, fit: t.fit, position }, focalWindow: undefined };
    }
  }
}

const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), Math.max(lo, hi));
