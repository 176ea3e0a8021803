// The canonical description of one output image. Every URL dialect parses into it; the cache key and ETag
// are derived from it, so equal requests must produce equal objects (defaults filled, dpr folded into w/h).
import type { OutputFormat } from './formats.ts';

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

/** `auto` is resolved per request from `Accept`; `json` answers metadata of the output instead of pixels. */
export type RequestedFormat = OutputFormat | 'auto' | 'json';

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

export interface Transform {
  /** Target box in device pixels (`w`/`h` × `dpr`, rounded). */
  width: number | undefined;
  height: number | undefined;
  fit: Fit;
  position: Position;
  enlarge: boolean;
  crop: { x: number; y: number; width: number; height: number } | undefined;
  format: RequestedFormat | undefined;
  quality: number | undefined;
  background: Rgba | undefined;
  blur: number | undefined;
  sharpen: number | undefined;
  rotate: 0 | 90 | 180 | 270;
  flipH: boolean;
  flipV: boolean;
  animated: boolean;
  trim: number | undefined;
  pad: [number, number, number, number] | undefined;
  watermark: Watermark | undefined;
  gray: boolean;
  pixelate: number | undefined;
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
  pad: undefined,
  watermark: undefined,
  gray: false,
  pixelate: undefined,
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
