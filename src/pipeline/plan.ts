// Pure geometry and decisions, made once from the header before any pixel is decoded: limits, output
// format, crop box, resize box, padding, flatten. Steps only apply these numbers.
import { KinuError } from '../errors.ts';
import { FORMATS, defaultOutputFormat, type OutputFormat } from '../formats.ts';
import { DEFAULT_BACKGROUND, type Gravity, type Rgba, type Transform } from '../transform.ts';
import { negotiate, type AcceptClass } from './negotiate.ts';

export interface Limits {
  readonly maxPixels: number;
  readonly maxFrames: number;
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
  /** Resize to exactly width×height; `fit` is how sharp gets there (cover crops by `position`, contain pads). */
  readonly resize: { width: number; height: number; fit: 'fill' | 'cover' | 'contain'; position: SharpPosition } | undefined;
  /** For focal points: after a `fill` resize to the cover size, cut this window. */
  readonly focalWindow: { left: number; top: number; width: number; height: number } | undefined;
  readonly width: number;
  readonly height: number;
  readonly background: Rgba;
  readonly flatten: Rgba | undefined;
}

export const MAX_SIDE = 16384;

export function checkLimits(info: { width: number; height: number; frames: number }, limits: Limits): void {
  if (info.frames > limits.maxFrames) {
    throw new KinuError('too_many_frames', `the original has ${info.frames} frames; the limit is ${limits.maxFrames}`);
  }
  const pixels = info.width * info.height * info.frames;
  if (pixels > limits.maxPixels) {
    throw new KinuError('too_many_pixels', `the original has ${info.width}×${info.height}${info.frames > 1 ? `×${info.frames} frames` : ''} = ${pixels} pixels; the limit is ${limits.maxPixels}`);
  }
}

export function outputFormat(t: Transform, src: SourceInfo, accept: AcceptClass): OutputFormat {
  const wantsAnimation = keepsFrames(t) && src.frames > 1;
  if (t.format === 'auto') return negotiate(accept, { alpha: src.hasAlpha, animated: wantsAnimation });
  if (t.format === undefined || t.format === 'json') return defaultOutputFormat(src.format, src.hasAlpha);
  return t.format;
}

export function makePlan(src: SourceInfo, t: Transform, accept: AcceptClass, limits: Limits): Plan {
  const format = outputFormat(t, src, accept);
  const info = FORMATS[format];
  const animated = keepsFrames(t) && src.frames > 1 && info.animation;

  const crop = t.crop ? clampCrop(t.crop, src) : undefined;
  const cw = crop?.width ?? src.width;
  const ch = crop?.height ?? src.height;
  // The box applies to the output, so with a quarter turn the image is resized into the swapped box.
  const quarter = t.rotate === 90 || t.rotate === 270;
  const bw = quarter ? t.height : t.width;
  const bh = quarter ? t.width : t.height;
  const geo = resizeGeometry(cw, ch, bw, bh, t);

  const [pt, pr, pb, pl] = t.pad ?? [0, 0, 0, 0];
  const rw = quarter ? geo.height : geo.width;
  const rh = quarter ? geo.width : geo.height;
  const width = rw + pl + pr;
  const height = rh + pt + pb;
  const side = Math.min(MAX_SIDE, info.maxSide);
  if (width > side || height > side || width * height > limits.maxPixels) {
    throw new KinuError('output_too_large', `the output would be ${width}×${height} pixels; the limits are ${side} per side${side < MAX_SIDE ? ` for ${format}` : ''} and ${limits.maxPixels} in all`);
  }

  // Without alpha in the output, padding uses the flatten colour: a translucent bg would otherwise be
  // flattened onto black by the encoder.
  const flatten = !info.alpha ? { ...(t.background ?? DEFAULT_BACKGROUND), alpha: 1 } : undefined;
  const background = flatten ?? t.background ?? { r: 0, g: 0, b: 0, alpha: 0 };
  return {
    source: src, transform: t, format, quality: t.quality ?? info.quality, animated, crop,
    resize: geo.resize, focalWindow: geo.focalWindow, width, height, background, flatten,
  };
}

/** libvips cannot rotate, mirror, trim, pixelate or watermark a multi-page image: those keep the first frame. */
function keepsFrames(t: Transform): boolean {
  return t.animated && t.rotate === 0 && !t.flipH && !t.flipV && t.trim === undefined && t.pixelate === undefined && t.watermark === undefined;
}

function clampCrop(c: NonNullable<Transform['crop']>, src: SourceInfo) {
  if (c.x >= src.width || c.y >= src.height) {
    throw new KinuError('invalid_param', `crop: region starts outside the ${src.width}×${src.height} image`);
  }
  return { left: c.x, top: c.y, width: Math.min(c.width, src.width - c.x), height: Math.min(c.height, src.height - c.y) };
}

interface Geometry {
  width: number;
  height: number;
  resize: Plan['resize'];
  focalWindow: Plan['focalWindow'];
}

const px = (v: number) => Math.max(1, Math.round(v));

/** Where the image of sw×sh ends up for a box bw×bh (either may be absent). Never enlarges unless asked. */
export function resizeGeometry(sw: number, sh: number, bw: number | undefined, bh: number | undefined, t: Pick<Transform, 'fit' | 'position' | 'enlarge'>): Geometry {
  const cap = (s: number) => (t.enlarge ? s : Math.min(s, 1));
  const scaled = (s: number): Geometry => {
    const width = px(sw * s);
    const height = px(sh * s);
    return { width, height, resize: width === sw && height === sh ? undefined : { width, height, fit: 'fill', position: 'center' }, focalWindow: undefined };
  };
  if (bw === undefined && bh === undefined) return scaled(1);
  if (bw === undefined) return scaled(cap(bh! / sh));
  if (bh === undefined) return scaled(cap(bw / sw));

  switch (t.fit) {
    case 'inside': return scaled(cap(Math.min(bw / sw, bh / sh)));
    case 'outside': return scaled(cap(Math.max(bw / sw, bh / sh)));
    case 'fill': {
      const width = t.enlarge ? bw : Math.min(bw, sw);
      const height = t.enlarge ? bh : Math.min(bh, sh);
      return { width, height, resize: width === sw && height === sh ? undefined : { width, height, fit: 'fill', position: 'center' }, focalWindow: undefined };
    }
    case 'cover':
    case 'contain': {
      const s = t.fit === 'cover' ? Math.max(bw / sw, bh / sh) : Math.min(bw / sw, bh / sh);
      // Without enlarge a small source keeps its size and the box shrinks, keeping the asked aspect ratio.
      const shrink = !t.enlarge && s > 1 ? s : 1;
      const k = s / shrink;
      const cover = t.fit === 'cover';
      const width = cover ? Math.min(px(bw / shrink), px(sw * k)) : px(bw / shrink);
      const height = cover ? Math.min(px(bh / shrink), px(sh * k)) : px(bh / shrink);
      const pos = t.position;
      if (cover && pos.kind === 'focal') {
        const fw = px(sw * k);
        const fh = px(sh * k);
        const left = clamp(Math.round(pos.x * fw - width / 2), 0, fw - width);
        const top = clamp(Math.round(pos.y * fh - height / 2), 0, fh - height);
        return { width, height, resize: { width: fw, height: fh, fit: 'fill', position: 'center' }, focalWindow: { left, top, width, height } };
      }
      // attention and entropy choose what to cut away, so they only mean something for cover.
      const position: SharpPosition = pos.kind === 'gravity' ? pos.gravity : cover && pos.kind !== 'focal' ? pos.kind : 'center';
      return { width, height, resize: { width, height, fit: t.fit, position }, focalWindow: undefined };
    }
  }
}

const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), Math.max(lo, hi));
