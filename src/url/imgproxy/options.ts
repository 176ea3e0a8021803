// imgproxy's processing options: each name and alias, its argument parser, and what it sets in the State
// that apply.ts turns into a Transform. Options apply left to right, a preset where it stands.
import { clip, KinuError, quoted } from '../../errors.ts';
import { formatNamed, MAX_SIDE, outputNamed, type FormatName, type OutputFormat } from '../../formats.ts';
import type { Gravity, Rgba } from '../../transform.ts';

export interface ImgproxyOption {
  readonly name: string;
  readonly args: readonly string[];
}
export type ImgproxyPresets = Readonly<Record<string, readonly ImgproxyOption[]>>;

export type Compass = 'ce' | 'no' | 'so' | 'ea' | 'we' | 'noea' | 'nowe' | 'soea' | 'sowe';
export type IpGravity = { type: Compass; x: number; y: number } | { type: 'sm' } | { type: 'fp'; x: number; y: number };
export type ResizingType = 'fit' | 'fill' | 'fill-down' | 'force' | 'auto';

/** Compass point → (x, y) direction, x to the east and y to the south. */
export const COMPASS: Readonly<Record<Compass, readonly [number, number]>> = {
  ce: [0, 0],
  no: [0, -1],
  so: [0, 1],
  ea: [1, 0],
  we: [-1, 0],
  noea: [1, -1],
  nowe: [-1, -1],
  soea: [1, 1],
  sowe: [-1, 1],
};
export const GRAVITY_AT: Readonly<Record<string, Gravity>> = {
  '0,0': 'center',
  '0,-1': 'top',
  '0,1': 'bottom',
  '1,0': 'right',
  '-1,0': 'left',
  '1,-1': 'top-right',
  '-1,-1': 'top-left',
  '1,1': 'bottom-right',
  '-1,1': 'bottom-left',
};
export const RESIZING_TYPES: readonly ResizingType[] = ['fit', 'fill', 'fill-down', 'force', 'auto'];
/** The format names imgproxy takes (its docs' list, and `jpeg`), looked up in kinu's format table; kinu writes some. */
export const IMGPROXY_FORMATS: readonly string[] = [
  'jpg',
  'jpeg',
  'png',
  'webp',
  'avif',
  'gif',
  'tiff',
  'tif',
  'bmp',
  'ico',
  'svg',
  'heic',
  'jxl',
];
/** imgproxy's outputs that are not images kinu knows. */
const NOT_IMAGES = ['pdf', 'mp4'];
const WRITABLE = IMGPROXY_FORMATS.filter((n) => outputNamed(n) !== undefined);
/** One spelling per output format, for "choose …". */
const CHOICES = WRITABLE.filter((n, i) => WRITABLE.findIndex((m) => outputNamed(m) === outputNamed(n)) === i);
/** imgproxy's hex colour (vips/color/color.go RGBFromHex): RGB or RRGGBB. */
function hexColour(raw: string): [number, number, number] | undefined {
  if (!/^([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/.test(raw)) return undefined;
  const hex = raw.length === 3 ? [...raw].map((c) => c + c).join('') : raw;
  return [parseInt(hex.slice(0, 2), 16), parseInt(hex.slice(2, 4), 16), parseInt(hex.slice(4, 6), 16)];
}

const or = (names: readonly string[]) => `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;

export interface State {
  width: number;
  height: number;
  rt: ResizingType;
  rtBy: string;
  dpr: number;
  enlarge: boolean;
  extend: { on: boolean; gravity: IpGravity; by: string };
  extendAr: { on: boolean; gravity: IpGravity; by: string };
  gravity: { g: IpGravity; by: string };
  crop: { w: number; h: number; gravity: IpGravity | undefined; by: string } | undefined;
  trim: number | undefined;
  /** `trim`'s colour (r, g, b); undefined: the top-left pixel's. */
  trimColour: [number, number, number] | undefined;
  /** `trim`'s equal_hor, equal_ver. */
  trimEqual: [boolean, boolean];
  padding: [number, number, number, number] | undefined;
  rotate: 0 | 90 | 180 | 270;
  flipH: boolean;
  flipV: boolean;
  background: Rgba | undefined;
  blur: number;
  sharpen: number;
  pixelate: number;
  quality: number;
  /** `best`: imgproxy Pro's best format, kinu's `fmt=best`. */
  format: OutputFormat | 'best' | undefined;
  /** `wm`: position a compass point or `re`; offsets pixels (× dpr) or, below 1, fractions; scale 0 = unset. */
  watermark: { opacity: number; position: Compass | 're'; x: number; y: number; scale: number; by: string } | undefined;
  zoom: [number, number];
  minWidth: number;
  minHeight: number;
  /** `mb`: 0 = no budget. */
  maxBytes: number;
  /** `fq`: quality per output format, for when `q` is unset. */
  formatQuality: Map<OutputFormat, number>;
  /** `raw`: the source is served untouched. */
  raw: boolean;
  /** `skp`: source formats served untouched. */
  skip: FormatName[];
  /** `fn`: the Content-Disposition filename without its extension. */
  filename: string | undefined;
  /** `att`: Content-Disposition `attachment` instead of `inline`. */
  attachment: boolean;
}

export function initialState(): State {
  const centre: IpGravity = { type: 'ce', x: 0, y: 0 };
  return {
    width: 0,
    height: 0,
    rt: 'fit',
    rtBy: 'rt',
    dpr: 1,
    enlarge: false,
    extend: { on: false, gravity: centre, by: 'ex' },
    extendAr: { on: false, gravity: centre, by: 'exar' },
    gravity: { g: centre, by: 'g' },
    crop: undefined,
    trim: undefined,
    trimColour: undefined,
    trimEqual: [false, false],
    padding: undefined,
    rotate: 0,
    flipH: false,
    flipV: false,
    background: undefined,
    blur: 0,
    sharpen: 0,
    pixelate: 0,
    quality: 0,
    format: undefined,
    watermark: undefined,
    zoom: [1, 1],
    minWidth: 0,
    minHeight: 0,
    maxBytes: 0,
    formatQuality: new Map(),
    raw: false,
    skip: [],
    filename: undefined,
    attachment: false,
  };
}

export interface Ctx {
  readonly presets: ImgproxyPresets;
  readonly now: () => number;
  /** presets.ts's applyPreset, passed in so the two files do not import each other. */
  readonly applyPreset: (s: State, ctx: Ctx, name: string, used: readonly string[]) => void;
}

/** A bad argument; applyOption prefixes it with the option's name as written in the URL. */
export class ArgError extends Error {}

export const shown = (raw: string) => quoted(raw);
export const invalid = (detail: string) => new KinuError('invalid_param', detail);

function maxArgs(args: readonly string[], n: number): void {
  if (args.length > n) throw new ArgError(`takes at most ${n} argument${n === 1 ? '' : 's'}, got ${args.length}`);
}

function int(label: string, raw: string, min: number, max: number): number {
  const n = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= min && n <= max)) throw new ArgError(`${label}expected an integer ${min}–${max}, got ${shown(raw)}`);
  return n;
}

function num(label: string, raw: string, min: number, max: number, what = `a number ${min}–${max}`): number {
  const n = /^[+-]?(\d{1,9}(\.\d*)?|\.\d+)$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= min && n <= max)) throw new ArgError(`${label}expected ${what}, got ${shown(raw)}`);
  return n;
}

// Go's strconv.ParseBool, which imgproxy uses; imgproxy reads anything else as false, kinu refuses it.
function bool(label: string, raw: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(raw)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(raw)) return false;
  throw new ArgError(`${label}expected 1, t, true, 0, f or false, got ${shown(raw)}`);
}

function gravity(args: readonly string[], allowed: readonly string[]): IpGravity {
  const [type = '', x, y] = args;
  if (!allowed.includes(type)) throw new ArgError(`gravity: expected ${allowed.join(', ')}, got ${shown(type)}`);
  if (type === 'sm') {
    maxArgs(args, 1);
    return { type: 'sm' };
  }
  if (type === 'fp') {
    if (args.length !== 3) throw new ArgError('gravity: fp takes x and y, each 0–1 (fp:0.5:0.3)');
    return { type: 'fp', x: num('fp x: ', x!, 0, 1), y: num('fp y: ', y!, 0, 1) };
  }
  maxArgs(args, 3);
  const offset = (label: string, raw: string | undefined) => (raw ? num(label, raw, -1e6, 1e6, 'a number') : 0);
  return { type: type as Compass, x: offset('x offset: ', x), y: offset('y offset: ', y) };
}

export const COMPASS_NAMES = Object.keys(COMPASS);
const CROP_GRAVITIES = [...COMPASS_NAMES, 'sm', 'fp'];
const EXTEND_GRAVITIES = [...COMPASS_NAMES, 'fp'];

function extend(target: State['extend'], name: string, args: readonly string[]): void {
  maxArgs(args, 4);
  target.on = bool('', args[0]!);
  target.by = name;
  if (args.length > 1) target.gravity = gravity(args.slice(1), EXTEND_GRAVITIES);
}

// imgproxy has no largest width or height by default (IMGPROXY_MAX_RESULT_DIMENSION, 3.29, is 0: off): kinu's
// output limit per side applies to `width`/`height`; the output is checked again after `dpr`.
function setSize(s: State, name: string, args: readonly string[]): void {
  maxArgs(args, 7);
  const [w, h, enlarge, ex] = args;
  if (w) s.width = int('width: ', w, 0, MAX_SIDE);
  if (h) s.height = int('height: ', h, 0, MAX_SIDE);
  if (enlarge) s.enlarge = bool('enlarge: ', enlarge);
  if (ex) extend(s.extend, name, args.slice(3));
}

function resizingType(s: State, name: string, raw: string): void {
  if (!(RESIZING_TYPES as readonly string[]).includes(raw))
    throw new ArgError(`resizing type: expected ${RESIZING_TYPES.join(', ')}, got ${shown(raw)}`);
  s.rt = raw as ResizingType;
  s.rtBy = name;
}

export function format(raw: string): OutputFormat | 'best' {
  const name = raw.toLowerCase();
  const f = IMGPROXY_FORMATS.includes(name) ? outputNamed(name) : undefined;
  if (f) return f;
  // imgproxy Pro encodes several formats and keeps the smallest: kinu's fmt=best (its own target, README).
  if (raw === 'best') return 'best';
  if (IMGPROXY_FORMATS.includes(name) || NOT_IMAGES.includes(name))
    throw new ArgError(`kinu cannot write ${raw}; choose ${or(CHOICES)}`);
  throw new ArgError(`expected ${or(WRITABLE)}, got ${shown(raw)}`);
}

/** A filter whose 0 means off, and whose other values must be in kinu's range. */
function filter(raw: string, min: number, max: number, integer = false): number {
  const v = integer ? int('', raw, 0, 1e6) : num('', raw, 0, 1e6, 'a number ≥ 0');
  if (v === 0 || (integer && v === 1)) return 0;
  if (v < min || v > max) throw new ArgError(`kinu supports ${min}–${max} (0 = off), got ${shown(raw)}`);
  return v;
}

type Apply = (s: State, args: readonly string[], name: string, ctx: Ctx, used: readonly string[]) => void;

const APPLY: readonly [readonly string[], Apply][] = [
  [
    ['resize', 'rs'],
    (s, args, name) => {
      maxArgs(args, 8);
      if (args[0]) resizingType(s, name, args[0]);
      if (args.length > 1) setSize(s, name, args.slice(1));
    },
  ],
  [['size', 's'], (s, args, name) => setSize(s, name, args)],
  [
    ['resizing_type', 'rt'],
    (s, args, name) => {
      maxArgs(args, 1);
      resizingType(s, name, args[0]!);
    },
  ],
  [
    ['width', 'w'],
    (s, args) => {
      maxArgs(args, 1);
      s.width = int('', args[0]!, 0, MAX_SIDE);
    },
  ],
  [
    ['height', 'h'],
    (s, args) => {
      maxArgs(args, 1);
      s.height = int('', args[0]!, 0, MAX_SIDE);
    },
  ],
  [
    ['dpr'],
    (s, args) => {
      maxArgs(args, 1);
      s.dpr = num('', args[0]!, 0, 4, 'a number above 0, up to 4');
      if (s.dpr === 0) throw new ArgError('expected a number above 0, up to 4, got "0"');
    },
  ],
  [
    ['enlarge', 'el'],
    (s, args) => {
      maxArgs(args, 1);
      s.enlarge = bool('', args[0]!);
    },
  ],
  [['extend', 'ex'], (s, args, name) => extend(s.extend, name, args)],
  [['extend_aspect_ratio', 'extend_ar', 'exar'], (s, args, name) => extend(s.extendAr, name, args)],
  [
    ['gravity', 'g'],
    (s, args, name) => {
      s.gravity = { g: gravity(args, CROP_GRAVITIES), by: name };
    },
  ],
  [
    ['crop', 'c'],
    (s, args, name) => {
      const [w, h] = args;
      s.crop = {
        w: num('width: ', w!, 0, 1e6, 'a number ≥ 0'),
        h: h ? num('height: ', h, 0, 1e6, 'a number ≥ 0') : 0,
        gravity: args.length > 2 ? gravity(args.slice(2), CROP_GRAVITIES) : undefined,
        by: name,
      };
    },
  ],
  [
    ['trim', 't'],
    (s, args) => {
      maxArgs(args, 4);
      const [threshold, colour, equalHor, equalVer] = args;
      s.trim = threshold ? int('threshold: ', threshold, 0, 255) : undefined;
      if (colour) {
        const c = hexColour(colour);
        if (!c) throw new ArgError(`colour: expected a hex colour (RGB or RRGGBB), got ${shown(colour)}`);
        s.trimColour = c;
      } else s.trimColour = undefined;
      // As imgproxy's parser: an empty equal_* keeps what an earlier trim (a preset) set.
      s.trimEqual = [
        equalHor ? bool('equal_hor: ', equalHor) : s.trimEqual[0],
        equalVer ? bool('equal_ver: ', equalVer) : s.trimEqual[1],
      ];
    },
  ],
  [
    ['padding', 'pd'],
    (s, args) => {
      maxArgs(args, 4);
      const side = (label: string, raw: string | undefined) => (raw ? int(label, raw, 0, 4096) : undefined);
      const top = side('top: ', args[0]) ?? s.padding?.[0] ?? 0;
      const right = side('right: ', args[1]) ?? top;
      const bottom = side('bottom: ', args[2]) ?? top;
      const left = side('left: ', args[3]) ?? right;
      s.padding = [top, right, bottom, left];
    },
  ],
  [
    ['auto_rotate', 'ar'],
    (_s, args) => {
      maxArgs(args, 1);
      if (!bool('', args[0]!)) throw new ArgError('kinu always rotates by the EXIF orientation; only true is accepted');
    },
  ],
  [
    ['rotate', 'rot'],
    (s, args) => {
      maxArgs(args, 1);
      const r = /^\d{1,6}$/.test(args[0]!) ? Number(args[0]) : NaN;
      if (!(r % 90 === 0)) throw new ArgError(`expected 0, 90, 180, 270 (a multiple of 90), got ${shown(args[0]!)}`);
      s.rotate = (r % 360) as State['rotate'];
    },
  ],
  [
    ['flip', 'fl'],
    (s, args) => {
      maxArgs(args, 2);
      if (args[0]) s.flipH = bool('horizontal: ', args[0]);
      if (args[1]) s.flipV = bool('vertical: ', args[1]);
    },
  ],
  [
    ['background', 'bg'],
    (s, args) => {
      if (args.length === 1 && args[0] === '') s.background = undefined;
      else if (args.length === 1 && hexColour(args[0]!)) {
        const [r, g, b] = hexColour(args[0]!)!;
        s.background = { r, g, b, alpha: 1 };
      } else if (args.length === 3) {
        s.background = {
          r: int('R: ', args[0]!, 0, 255),
          g: int('G: ', args[1]!, 0, 255),
          b: int('B: ', args[2]!, 0, 255),
          alpha: 1,
        };
      } else throw new ArgError(`expected a hex colour (RGB or RRGGBB) or R:G:B, got ${shown(args.join(':'))}`);
    },
  ],
  [
    ['blur', 'bl'],
    (s, args) => {
      maxArgs(args, 1);
      s.blur = filter(args[0]!, 0.3, 100);
    },
  ],
  [
    ['sharpen', 'sh'],
    (s, args) => {
      maxArgs(args, 1);
      s.sharpen = filter(args[0]!, 0.5, 10);
    },
  ],
  [
    ['pixelate', 'pix'],
    (s, args) => {
      maxArgs(args, 1);
      s.pixelate = filter(args[0]!, 2, 100, true);
    },
  ],
  [
    ['watermark', 'wm'],
    (s, args, name) => {
      maxArgs(args, 5);
      const [opacity, position, x, y, scale] = args;
      const o = num('opacity: ', opacity!, 0, 1);
      if (position && position !== 're' && !COMPASS_NAMES.includes(position))
        throw new ArgError(`position: expected ${[...COMPASS_NAMES, 're'].join(', ')}, got ${shown(position)}`);
      const dx = x ? num('x offset: ', x, -1e6, 1e6, 'a number') : 0;
      const dy = y ? num('y offset: ', y, -1e6, 1e6, 'a number') : 0;
      // With re the offsets are the gaps between copies; imgproxy would pad the mark by a negative amount.
      if (position === 're' && (dx < 0 || dy < 0))
        throw new ArgError(`offsets: with re they are the gaps between copies, ≥ 0; got ${dx}:${dy}`);
      // 0 = unset (imgproxy refuses 0; builders write it for "no scale"); above 1 the mark outgrows the image.
      const sc = scale ? num('scale: ', scale, 0, 100, 'a number 0–100 (× the image; 0 = the mark as it is)') : 0;
      s.watermark =
        o === 0
          ? undefined
          : { opacity: o, position: (position || 'ce') as Compass | 're', x: dx, y: dy, scale: sc, by: name };
    },
  ],
  [
    ['strip_metadata', 'sm'],
    (_s, args) => {
      maxArgs(args, 1);
      if (!bool('', args[0]!)) throw new ArgError('kinu always strips metadata; only true is accepted');
    },
  ],
  [
    ['quality', 'q'],
    (s, args) => {
      maxArgs(args, 1);
      s.quality = int('', args[0]!, 0, 100);
    },
  ],
  [
    ['format', 'f', 'ext'],
    (s, args) => {
      maxArgs(args, 1);
      s.format = format(args[0]!);
    },
  ],
  [
    ['zoom', 'z'],
    (s, args) => {
      maxArgs(args, 2);
      const z = (label: string, raw: string) => {
        const v = num(label, raw, 0, 1e6, 'a number above 0');
        if (v === 0) throw new ArgError(`${label}expected a number above 0, got ${shown(raw)}`);
        return v;
      };
      const x = z(args.length > 1 ? 'x: ' : '', args[0]!);
      s.zoom = [x, args.length > 1 ? z('y: ', args[1]!) : x];
    },
  ],
  [
    ['min-width', 'mw'],
    (s, args) => {
      maxArgs(args, 1);
      s.minWidth = int('', args[0]!, 0, MAX_SIDE);
    },
  ],
  [
    ['min-height', 'mh'],
    (s, args) => {
      maxArgs(args, 1);
      s.minHeight = int('', args[0]!, 0, MAX_SIDE);
    },
  ],
  [
    ['max_bytes', 'mb'],
    (s, args) => {
      maxArgs(args, 1);
      s.maxBytes = int('', args[0]!, 0, 1e9);
    },
  ],
  [
    ['format_quality', 'fq'],
    (s, args) => {
      if (args.length % 2 !== 0) throw new ArgError(`expected format:quality pairs, got ${shown(args.join(':'))}`);
      for (let i = 0; i < args.length; i += 2) {
        const name = args[i]!.toLowerCase();
        if (!IMGPROXY_FORMATS.includes(name))
          throw new ArgError(`expected ${or(IMGPROXY_FORMATS)}, got ${shown(args[i]!)}`);
        const q = int(`${name}: `, args[i + 1]!, 0, 100);
        // A format kinu cannot write is never the output: its quality can never apply.
        const f = outputNamed(name);
        if (f) s.formatQuality.set(f, q);
      }
    },
  ],
  [
    ['raw'],
    (s, args) => {
      maxArgs(args, 1);
      s.raw = bool('', args[0]!);
    },
  ],
  [
    ['skip_processing', 'skp'],
    (s, args) => {
      for (const raw of args) {
        const name = raw.toLowerCase();
        const f = IMGPROXY_FORMATS.includes(name) ? formatNamed(name) : undefined;
        if (!f) throw new ArgError(`expected ${or(IMGPROXY_FORMATS)}, got ${shown(raw)}`);
        if (!s.skip.includes(f)) s.skip.push(f);
      }
    },
  ],
  [
    ['filename', 'fn'],
    (s, args) => {
      maxArgs(args, 2);
      const [name = '', encoded] = args;
      // imgproxy's fn:<base64url>:1 (its parseBase64String: URL-safe alphabet, padding optional).
      if (encoded && bool('encoded: ', encoded)) {
        const b64 = name.replace(/=+$/, '');
        if (!/^[A-Za-z0-9_-]*$/.test(b64) || b64.length % 4 === 1)
          throw new ArgError(`expected a base64url filename after encoded=1, got ${shown(name)}`);
        s.filename = Buffer.from(b64, 'base64url').toString('utf8');
      } else {
        try {
          s.filename = decodeURIComponent(name);
        } catch {
          throw new ArgError(`malformed percent-encoding in ${shown(name)}`);
        }
      }
    },
  ],
  [
    ['return_attachment', 'att'],
    (s, args) => {
      maxArgs(args, 1);
      s.attachment = bool('', args[0]!);
    },
  ],
  [['cachebuster', 'cb'], (_s, args) => maxArgs(args, 1)],
  [
    ['expires', 'exp'],
    (_s, args, name, ctx) => {
      maxArgs(args, 1);
      if (!/^-?\d{1,15}$/.test(args[0]!)) throw new ArgError(`expected a unix timestamp, got ${shown(args[0]!)}`);
      const at = Number(args[0]);
      if (at > 0 && at * 1000 < ctx.now()) {
        throw new KinuError('not_found', `${name}: this URL expired at ${new Date(at * 1000).toISOString()}`);
      }
    },
  ],
  [
    ['preset', 'pr'],
    (s, args, _name, ctx, used) => {
      for (const preset of args) ctx.applyPreset(s, ctx, preset, used);
    },
  ],
];

/** imgproxy options kinu knows but does not support, with the reason given in the 400. */
const UNSUPPORTED: readonly [readonly string[], string][] = [
  [
    ['keep_copyright', 'kcr', 'strip_color_profile', 'scp', 'preserve_hdr', 'ph', 'enforce_thumbnail', 'eth'],
    'kinu strips all metadata, converts to sRGB and always decodes the full image',
  ],
  [
    [
      'max_src_resolution',
      'msr',
      'max_src_file_size',
      'msfs',
      'max_animation_frames',
      'maf',
      'max_animation_frame_resolution',
      'mafr',
      'max_result_dimension',
      'mrd',
    ],
    'limits are server settings in kinu (KINU_MAX_PIXELS, KINU_MAX_BYTES, KINU_MAX_FRAMES)',
  ],
];

const APPLY_BY_NAME = new Map<string, Apply>(APPLY.flatMap(([names, fn]) => names.map((n) => [n, fn] as const)));
const UNSUPPORTED_BY_NAME = new Map<string, string>(
  UNSUPPORTED.flatMap(([names, why]) => names.map((n) => [n, why] as const)),
);

export function applyOption(s: State, ctx: Ctx, opt: ImgproxyOption, used: readonly string[]): void {
  const fn = APPLY_BY_NAME.get(opt.name);
  if (!fn) {
    const why = UNSUPPORTED_BY_NAME.get(opt.name);
    if (why !== undefined) throw invalid(`${opt.name}: this imgproxy option is not supported by kinu: ${why}`);
    throw invalid(
      `${clip(opt.name, 32) || '(empty)'}: unknown imgproxy option; kinu supports ${APPLY.map(([n]) => n.at(-1)).join(', ')}`,
    );
  }
  try {
    fn(s, opt.args, opt.name, ctx, used);
  } catch (e) {
    if (e instanceof ArgError) throw invalid(`${opt.name}: ${e.message}`);
    throw e;
  }
}
