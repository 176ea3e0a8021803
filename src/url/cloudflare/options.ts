// Cloudflare's options, as its "Transform via URL" reference lists them
// (developers.cloudflare.com/images/optimization/features/): `name=value` pairs separated by commas, full names
// or their aliases, the last of a repeated option winning. Each row checks its value and writes the State;
// what it means for kinu is apply.ts's business.
import { KinuError, quoted } from '../../errors.ts';
import type { Rgba } from '../../transform.ts';
import { MAX_PARAM_SIDE } from '../params.ts';
import { cssColour } from './colour.ts';

export const CF_FITS = ['scale-down', 'contain', 'cover', 'crop', 'pad', 'squeeze'] as const;
export type CfFit = (typeof CF_FITS)[number];
export const CF_FORMATS = ['auto', 'avif', 'webp', 'jpeg', 'baseline-jpeg', 'png', 'png-force', 'json'] as const;
export type CfFormat = (typeof CF_FORMATS)[number];
export const PERCEPTUAL = ['high', 'medium-high', 'medium-low', 'low'] as const;
export type Perceptual = (typeof PERCEPTUAL)[number];

/** gravity: libvips attention for `auto` (and `face`, which kinu cannot detect), else a point 0–1 in the output. */
export type CfGravity = { kind: 'auto' | 'face' } | { kind: 'point'; x: number; y: number };

export interface State {
  /** CSS pixels; undefined: the source's (also for `auto`, which needs Chromium's client hints). */
  width: number | undefined;
  height: number | undefined;
  fit: CfFit;
  gravity: CfGravity | undefined;
  quality: number | Perceptual | undefined;
  format: CfFormat | undefined;
  dpr: number;
  anim: boolean;
  background: Rgba | undefined;
  /** 0 = none, as Cloudflare's defaults. */
  blur: number;
  sharpen: number;
  brightness: number;
  contrast: number;
  gamma: number;
  saturation: number;
  rotate: 0 | 90 | 180 | 270;
  flip: 'h' | 'v' | 'hv' | undefined;
  /** trim=T;R;B;L and trim.<side>: pixels; trim.width/height: what is kept (0 = all). */
  trim: { top: number; right: number; bottom: number; left: number; width: number; height: number };
  /** trim=border: the colour (undefined: the corner's), tolerance 0–255 (255 = exact), pixels kept. */
  border: { colour: Rgba | undefined; tolerance: number | undefined; keep: number } | undefined;
}

export function initialState(): State {
  return {
    width: undefined,
    height: undefined,
    // Cloudflare's documented default ("contain (default)" in the fit table).
    fit: 'contain',
    gravity: undefined,
    quality: undefined,
    format: undefined,
    dpr: 1,
    anim: true,
    background: undefined,
    blur: 0,
    sharpen: 0,
    brightness: 1,
    contrast: 1,
    gamma: 1,
    saturation: 1,
    rotate: 0,
    flip: undefined,
    trim: { top: 0, right: 0, bottom: 0, left: 0, width: 0, height: 0 },
    border: undefined,
  };
}

export const invalid = (detail: string) => new KinuError('invalid_param', detail);
const bad = (name: string, expected: string, raw: string) =>
  invalid(`${name}: expected ${expected}, got ${quoted(raw)}`);

/** A decimal number within [min, max], or the error naming the option. */
function num(name: string, raw: string, min: number, max: number, expected = `a number ${min}–${max}`): number {
  if (!/^\d{1,6}(\.\d{1,6})?$|^\.\d{1,6}$/.test(raw)) throw bad(name, expected, raw);
  const v = Number(raw);
  if (v < min || v > max) throw bad(name, expected, raw);
  return v;
}
function int(name: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw)) throw bad(name, `an integer ${min}–${max}`, raw);
  return num(name, raw, min, max, `an integer ${min}–${max}`);
}
function oneOf<T extends string>(name: string, raw: string, values: readonly T[]): T {
  if ((values as readonly string[]).includes(raw)) return raw as T;
  throw bad(name, values.join(' · '), raw);
}
const colour = (name: string, raw: string): Rgba => {
  const c = cssColour(raw);
  if (!c) throw bad(name, 'a CSS colour (#RRGGBB as %23RRGGBB, a name, rgb(…) or rgba(…))', raw);
  return c;
};
const bool = (name: string, raw: string) => {
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw bad(name, 'true · false', raw);
};

const side = (name: string, raw: string): number | undefined =>
  raw === 'auto' ? undefined : int(name, raw, 1, MAX_PARAM_SIDE);

function quality(name: string, raw: string): number | Perceptual {
  if ((PERCEPTUAL as readonly string[]).includes(raw)) return raw as Perceptual;
  if (!/^\d+$/.test(raw)) throw bad(name, `an integer 1–100 or ${PERCEPTUAL.join(' · ')}`, raw);
  return num(name, raw, 1, 100, `an integer 1–100 or ${PERCEPTUAL.join(' · ')}`);
}

function gravity(raw: string): CfGravity {
  switch (raw) {
    case 'auto':
    case 'face':
      return { kind: raw };
    case 'center':
    case 'centre':
      return { kind: 'point', x: 0.5, y: 0.5 };
    case 'left':
      return { kind: 'point', x: 0, y: 0.5 };
    case 'right':
      return { kind: 'point', x: 1, y: 0.5 };
    case 'top':
      return { kind: 'point', x: 0.5, y: 0 };
    case 'bottom':
      return { kind: 'point', x: 0.5, y: 1 };
  }
  const m = /^([\d.]+)x([\d.]+)$/.exec(raw);
  const expected = 'auto · face · left · right · top · bottom · XxY (0–1 each, e.g. 0.5x0.33)';
  if (!m) throw bad('gravity', expected, raw);
  return { kind: 'point', x: num('gravity', m[1]!, 0, 1, expected), y: num('gravity', m[2]!, 0, 1, expected) };
}

function trimAll(s: State, raw: string): void {
  if (raw === 'border') {
    s.border ??= { colour: undefined, tolerance: undefined, keep: 0 };
    return;
  }
  const parts = raw.split(';');
  const expected = 'border or top;right;bottom;left in pixels';
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,6}$/.test(p))) throw bad('trim', expected, raw);
  const [top, right, bottom, left] = parts.map(Number) as [number, number, number, number];
  s.trim = { ...s.trim, top, right, bottom, left };
}

const border = (s: State) => (s.border ??= { colour: undefined, tolerance: undefined, keep: 0 });

/** What kinu does not do, with the reason; Cloudflare-only features are refused rather than silently dropped. */
function refuse(name: string, why: string): never {
  throw invalid(`${name}: ${why}`);
}

type Apply = (s: State, raw: string, name: string) => void;

/** Options by every name Cloudflare accepts for them. Ignored ones are listed so a typo is still an error. */
const OPTIONS: Readonly<Record<string, Apply>> = {
  width: (s, raw, n) => void (s.width = side(n, raw)),
  height: (s, raw, n) => void (s.height = side(n, raw)),
  fit: (s, raw, n) => void (s.fit = oneOf(n, raw, CF_FITS)),
  gravity: (s, raw) => void (s.gravity = gravity(raw)),
  quality: (s, raw, n) => void (s.quality = quality(n, raw)),
  format: (s, raw, n) => void (s.format = oneOf(n, raw, CF_FORMATS)),
  // Cloudflare's documented maximum is 2: a larger ratio is served as 2.
  dpr: (s, raw, n) => void (s.dpr = Math.min(2, num(n, raw, 0.01, 100, 'a number above 0 (at most 2 is used)'))),
  anim: (s, raw, n) => void (s.anim = bool(n, raw)),
  background: (s, raw, n) => void (s.background = colour(n, raw)),
  blur: (s, raw, n) => void (s.blur = num(n, raw, 0, 250)),
  sharpen: (s, raw, n) => void (s.sharpen = num(n, raw, 0, 10)),
  brightness: (s, raw, n) => void (s.brightness = num(n, raw, 0, 100)),
  contrast: (s, raw, n) => void (s.contrast = num(n, raw, 0, 100)),
  gamma: (s, raw, n) => void (s.gamma = num(n, raw, 0, 100)),
  saturation: (s, raw, n) => void (s.saturation = num(n, raw, 0, 100)),
  rotate: (s, raw, n) => void (s.rotate = Number(oneOf(n, raw, ['0', '90', '180', '270'])) as State['rotate']),
  flip: (s, raw, n) => void (s.flip = oneOf(n, raw, ['h', 'v', 'hv'] as const)),
  trim: trimAll,
  'trim.top': (s, raw, n) => void (s.trim.top = int(n, raw, 0, 100000)),
  'trim.right': (s, raw, n) => void (s.trim.right = int(n, raw, 0, 100000)),
  'trim.bottom': (s, raw, n) => void (s.trim.bottom = int(n, raw, 0, 100000)),
  'trim.left': (s, raw, n) => void (s.trim.left = int(n, raw, 0, 100000)),
  'trim.width': (s, raw, n) => void (s.trim.width = int(n, raw, 1, 100000)),
  'trim.height': (s, raw, n) => void (s.trim.height = int(n, raw, 1, 100000)),
  'trim.border.color': (s, raw, n) => void (border(s).colour = colour(n, raw)),
  'trim.border.tolerance': (s, raw, n) => void (border(s).tolerance = int(n, raw, 0, 255)),
  'trim.border.keep': (s, raw, n) => void (border(s).keep = int(n, raw, 0, 100000)),
  // Accepted and ignored: kinu writes no EXIF whatever is asked (colour profile and orientation are applied).
  metadata: (_s, raw, n) => void oneOf(n, raw, ['keep', 'copyright', 'none']),
  // Ignored: kinu chooses the format as it would without it.
  compression: (_s, raw, n) => void oneOf(n, raw, ['fast']),
  // Ignored: kinu answers its own error; Cloudflare too ignores it for sources on another zone.
  onerror: (_s, raw, n) => void oneOf(n, raw, ['redirect']),
  // Only for gravity=face, which finds no faces in kinu (it uses attention): checked, then ignored.
  zoom: (_s, raw, n) => void num(n, raw, 0, 1),
  // Needs the client hints (RTT, Save-Data, ECT, Downlink) kinu does not read: checked, then ignored.
  'slow-connection-quality': (_s, raw, n) => void quality(n, raw),
  upscale: (_s, raw, n) => {
    if (oneOf(n, raw, ['interpolate', 'generate']) === 'generate')
      refuse(n, 'generate (AI upscaling) is not supported; kinu enlarges by interpolation');
  },
  segment: (_s, raw, n) => {
    oneOf(n, raw, ['foreground']);
    refuse(n, 'foreground (background removal by a model) is not supported by kinu');
  },
  border: (_s, _raw, n) =>
    refuse(n, "Cloudflare offers border in Workers only, not in URLs; kinu's native pad + bg draws one"),
};

const ALIASES: Readonly<Record<string, string>> = {
  w: 'width',
  h: 'height',
  g: 'gravity',
  q: 'quality',
  f: 'format',
  'face-zoom': 'zoom',
  scq: 'slow-connection-quality',
};

const NAMES = [...Object.keys(OPTIONS), ...Object.keys(ALIASES)].sort().join(', ');

/** The options segment → State; a bad name or value is a 400 naming it, as Cloudflare's error 9401. */
export function parseOptions(segment: string): State {
  const s = initialState();
  let any = false;
  // Trailing and doubled commas are tolerated (Cloudflare's own docs write `flip=h,rotate=90,`); commas inside
  // parentheses belong to a value (`background=rgba(250,40,145,0.5)`, as the docs show it).
  for (const item of segment.split(/,(?![^(]*\))/)) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) throw invalid(`options: expected name=value, got ${quoted(item)}`);
    const given = item.slice(0, eq);
    let raw: string;
    try {
      raw = decodeURIComponent(item.slice(eq + 1));
    } catch {
      throw invalid(`${given}: malformed percent-encoding`);
    }
    const name = Object.hasOwn(ALIASES, given) ? ALIASES[given]! : given;
    if (!Object.hasOwn(OPTIONS, name)) throw invalid(`${quoted(given, 32)}: unknown option; known: ${NAMES}`);
    if (raw === '') throw invalid(`${given}: empty value`);
    OPTIONS[name]!(s, raw, given);
    any = true;
  }
  if (!any) throw invalid('options: at least one option is needed, e.g. /width=400/');
  return s;
}
