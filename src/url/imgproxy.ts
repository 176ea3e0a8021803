// The imgproxy dialect (3.x/4.x): /<signature>/<name:arg…>/…/plain/<source>[@ext] or …/<base64url>[.ext];
// options apply left to right, a preset where it stands. How each maps onto Transform, and what is refused:
// README "Migrating from imgproxy".
import { clip, KinuError, quoted } from '../errors.ts';
import { MAX_SIDE, outputNamed, type OutputFormat } from '../formats.ts';
import type { Fit, Gravity, Position, Rgba, Transform } from '../transform.ts';
import { verifyImgproxySignature, type ImgproxyKeys } from './imgproxy-sign.ts';
import { validateKey } from './key.ts';
import { toTransform, type ParsedRequest } from './native.ts';
import type { ParamValues } from './params.ts';

export interface ImgproxyOption {
  readonly name: string;
  readonly args: readonly string[];
}
export type ImgproxyPresets = Readonly<Record<string, readonly ImgproxyOption[]>>;

export interface ImgproxyDialectOptions extends ImgproxyKeys {
  /** Path prefix the dialect is mounted under, without a trailing slash ('' for `/`). */
  readonly prefix: string;
  /** imgproxy-syntax presets (KINU_IMGPROXY_PRESETS); `default` applies to every URL, as in imgproxy. */
  readonly presets: ImgproxyPresets;
  /** Key of the watermark image in the source (imgproxy's IMGPROXY_WATERMARK_PATH); none: `wm` is refused. */
  readonly watermark: string | undefined;
  /** When kinu's source is an S3 bucket: `s3://<bucket>/<prefix>/<key>` names `<key>`. Without it no s3:// URL does. */
  readonly s3?: { readonly bucket: string; readonly prefix: string } | undefined;
  /** Clock for `expires`, in ms since the epoch (default Date.now). */
  readonly now?: () => number;
}

type Compass = 'ce' | 'no' | 'so' | 'ea' | 'we' | 'noea' | 'nowe' | 'soea' | 'sowe';
type IpGravity = { type: Compass; x: number; y: number } | { type: 'sm' } | { type: 'fp'; x: number; y: number };
type ResizingType = 'fit' | 'fill' | 'fill-down' | 'force' | 'auto';

/** Compass point → (x, y) direction, x to the east and y to the south. */
const COMPASS: Readonly<Record<Compass, readonly [number, number]>> = {
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
const GRAVITY_AT: Readonly<Record<string, Gravity>> = {
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
const RESIZING_TYPES: readonly ResizingType[] = ['fit', 'fill', 'fill-down', 'force', 'auto'];
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
const or = (names: readonly string[]) => `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;

interface State {
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
  padding: [number, number, number, number] | undefined;
  rotate: 0 | 90 | 180 | 270;
  flipH: boolean;
  flipV: boolean;
  background: Rgba | undefined;
  blur: number;
  sharpen: number;
  pixelate: number;
  quality: number;
  format: OutputFormat | undefined;
  watermark: { opacity: number; position: Compass; scale: number; by: string } | undefined;
}

function initialState(): State {
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
  };
}

interface Ctx {
  readonly presets: ImgproxyPresets;
  readonly now: () => number;
}

/** A bad argument; applyOption prefixes it with the option's name as written in the URL. */
class ArgError extends Error {}

const shown = (raw: string) => quoted(raw);
const invalid = (detail: string) => new KinuError('invalid_param', detail);

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

const COMPASS_NAMES = Object.keys(COMPASS);
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

function format(raw: string): OutputFormat {
  const name = raw.toLowerCase();
  const f = IMGPROXY_FORMATS.includes(name) ? outputNamed(name) : undefined;
  if (f) return f;
  if (raw === 'best') throw new ArgError(`best (imgproxy Pro) is not supported; choose ${or(CHOICES)}`);
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
      if (colour) throw new ArgError('colour: not supported; kinu trims the colour of the top-left pixel');
      if ((equalHor && bool('equal_hor: ', equalHor)) || (equalVer && bool('equal_ver: ', equalVer))) {
        throw new ArgError('equal_hor/equal_ver: not supported; kinu trims each side on its own');
      }
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
      else if (args.length === 1 && /^([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/.test(args[0]!)) {
        const hex = args[0]!.length === 3 ? [...args[0]!].map((c) => c + c).join('') : args[0]!;
        s.background = {
          r: parseInt(hex.slice(0, 2), 16),
          g: parseInt(hex.slice(2, 4), 16),
          b: parseInt(hex.slice(4, 6), 16),
          alpha: 1,
        };
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
      if (position === 're') throw new ArgError('position: re (replicate) is not supported; kinu places one watermark');
      if (position && !COMPASS_NAMES.includes(position))
        throw new ArgError(`position: expected ${COMPASS_NAMES.join(', ')}, got ${shown(position)}`);
      if (
        (x && num('x offset: ', x, -1e6, 1e6, 'a number') !== 0) ||
        (y && num('y offset: ', y, -1e6, 1e6, 'a number') !== 0)
      ) {
        throw new ArgError('offsets: not supported; kinu places the watermark flush with the edge given by position');
      }
      const sc = scale ? num('scale: ', scale, 0, 1, 'a number 0–1 (kinu: a fraction of the output width)') : 0;
      s.watermark = o === 0 ? undefined : { opacity: o, position: (position || 'ce') as Compass, scale: sc, by: name };
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
      for (const preset of args) applyPreset(s, ctx, preset, used);
    },
  ],
];

/** imgproxy options kinu knows but does not support, with the reason given in the 400. */
const UNSUPPORTED: readonly [readonly string[], string][] = [
  [['zoom', 'z'], 'kinu sizes by width/height (× dpr) only'],
  [['min-width', 'mw', 'min-height', 'mh'], 'kinu has no minimum size'],
  [['format_quality', 'fq'], 'use quality (q) for the format asked for'],
  [['max_bytes', 'mb'], 'kinu does not re-encode to a byte budget'],
  [['skip_processing', 'skp', 'raw'], 'ask the native dialect for the key without params to get the original bytes'],
  [['filename', 'fn', 'return_attachment', 'att'], 'kinu sends no Content-Disposition'],
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

function applyOption(s: State, ctx: Ctx, opt: ImgproxyOption, used: readonly string[]): void {
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

function applyPreset(s: State, ctx: Ctx, name: string, used: readonly string[]): void {
  const options = Object.hasOwn(ctx.presets, name) ? ctx.presets[name] : undefined;
  if (!options) {
    const known = Object.keys(ctx.presets);
    throw new ArgError(
      `unknown preset ${shown(name)}; known: ${known.join(', ') || '(none: set KINU_IMGPROXY_PRESETS)'}`,
    );
  }
  // imgproxy skips a preset that is already being applied, so presets cannot recurse.
  if (used.includes(name)) return;
  for (const opt of options) {
    try {
      applyOption(s, ctx, opt, [...used, name]);
    } catch (e) {
      if (e instanceof KinuError && e.code === 'invalid_param') throw new ArgError(`preset ${name}: ${e.detail}`);
      throw e;
    }
  }
}

export function parseImgproxy(rawUrl: string, o: ImgproxyDialectOptions): ParsedRequest {
  // imgproxy ignores the query string: only the path is signed and parsed.
  const q = rawUrl.indexOf('?');
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  if (!rawPath.startsWith(`${o.prefix}/`)) throw invalid(`path: must start with ${o.prefix}/`);
  const rest = rawPath.slice(o.prefix.length + 1);
  const slash = rest.indexOf('/');
  const signature = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : redenormalize(rest.slice(slash + 1));
  if (signature === '' || path === '')
    throw invalid('path: expected /<signature>/<options>/plain/<source> or /<signature>/<options>/<base64url source>');
  checkSignature(signature, path, o);

  const parts = path.split('/');
  if ((RESIZING_TYPES as readonly string[]).includes(parts[0]!)) {
    throw invalid(
      `path: "${parts[0]}/…" is imgproxy's old basic URL format, which imgproxy 3 dropped; write rs:${parts[0]}:<width>:<height> instead`,
    );
  }
  const s = initialState();
  const ctx: Ctx = { presets: o.presets, now: o.now ?? Date.now };
  if (Object.hasOwn(o.presets, 'default')) {
    try {
      applyPreset(s, ctx, 'default', []);
    } catch (e) {
      throw e instanceof ArgError ? invalid(e.message) : e;
    }
  }
  let i = 0;
  for (; i < parts.length && parts[i]!.includes(':'); i++) {
    const [name = '', ...args] = parts[i]!.split(':');
    applyOption(s, ctx, { name, args }, []);
  }
  const { source, extension } = decodeSource(parts.slice(i));
  if (extension !== undefined) {
    try {
      s.format = format(extension);
    } catch (e) {
      throw e instanceof ArgError ? invalid(`extension: ${e.message}`) : e;
    }
  }
  const key = resolveSource(source, o);
  return { key, transform: toKinu(s, o) };
}

function checkSignature(signature: string, path: string, o: ImgproxyDialectOptions): void {
  if (o.keys.length === 0) {
    // Unsigned mode: imgproxy takes any signature segment, but one with a colon is an option without a signature before it.
    if (signature.includes(':'))
      throw invalid(
        `signature: "${signature.slice(0, 32)}" is an option, not a signature; start the path with /insecure/ (or /_/) while no key is set`,
      );
    return;
  }
  if (verifyImgproxySignature(o, path, signature)) return;
  const unsigned = signature === 'insecure' || signature === 'unsafe' || signature === '_';
  throw new KinuError(
    'bad_signature',
    unsigned
      ? `signature: ${signature} is refused because KINU_IMGPROXY_KEY is set; sign the URL`
      : 'signature: does not match this URL for any configured imgproxy key/salt pair',
  );
}

/** Undo what browsers and proxies do to imgproxy paths (`%3A` in options, `scheme:/x` for `scheme://x`), as imgproxy does before checking the signature. */
function redenormalize(path: string): string {
  let options: string;
  let plain: string | undefined;
  if (path.startsWith('plain/')) [options, plain] = ['', path.slice(6)];
  else {
    const at = path.indexOf('/plain/');
    [options, plain] = at < 0 ? [path, undefined] : [path.slice(0, at), path.slice(at + 7)];
  }
  options = options.replaceAll('%3A', ':');
  if (plain === undefined) return options.replace(/^\//, '');
  const fixed = plain.replace(
    /^(\S+):\/([^/])/,
    (_m, scheme: string, c: string) => `${scheme}://${scheme === 'local' ? '/' : ''}${c}`,
  );
  return `${options}/plain/${fixed}`.replace(/^\//, '');
}

function decodeSource(parts: readonly string[]): { source: string; extension: string | undefined } {
  if (parts.length === 0 || parts.join('') === '')
    throw invalid('source: missing; end the path with plain/<source URL> or its base64url form');
  if (parts[0] === 'plain' && parts.length > 1) {
    const [url = '', extension, ...more] = parts.slice(1).join('/').split('@');
    if (url === '') throw invalid('source: empty after plain/');
    if (more.length > 0) throw invalid('source: more than one @extension; percent-encode @ in the source as %40');
    let source: string;
    try {
      source = decodeURIComponent(url);
    } catch {
      throw invalid('source: malformed percent-encoding');
    }
    return { source, extension: extension || undefined };
  }
  if (parts[0] === 'enc') throw invalid('source: encrypted source URLs (enc/, imgproxy Pro) are not supported');
  const [encoded = '', extension, ...more] = parts.join('').split('.');
  if (more.length > 0) throw invalid('source: more than one .extension after the base64url source');
  const b64 = encoded.replace(/=+$/, '');
  if (b64 === '' || !/^[A-Za-z0-9_-]+$/.test(b64) || b64.length % 4 === 1)
    throw invalid(`source: not valid base64url: ${shown(encoded)}`);
  let source: string;
  try {
    source = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(b64, 'base64url'));
  } catch {
    throw invalid('source: the base64url source is not UTF-8 text');
  }
  return { source, extension: extension || undefined };
}

/** A source URL → a key in kinu's source, or why not. */
function resolveSource(url: string, o: ImgproxyDialectOptions): string {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/]*)(.*)$/s.exec(url);
  if (!m)
    throw new KinuError(
      'invalid_key',
      `source: expected local:///<path>, got ${shown(url)} (relative sources under IMGPROXY_BASE_URL are not supported)`,
    );
  const [, rawScheme = '', host = '', rest = ''] = m;
  const scheme = rawScheme.toLowerCase();
  // As imgproxy: leading slashes go, and `?` starts a query (an S3 version id), which kinu has no use for.
  const objectKey = rest.replace(/^\/+/, '').split('?')[0]!;
  switch (scheme) {
    case 'local':
      if (host !== '')
        throw new KinuError('invalid_key', `source: expected local:///<path> (three slashes), got ${shown(url)}`);
      return validateKey(objectKey);
    case 's3': {
      const prefix = o.s3 ? o.s3.prefix.replace(/^\/+|\/+$/g, '') : '';
      if (o.s3 && host === o.s3.bucket && (prefix === '' || objectKey.startsWith(`${prefix}/`))) {
        return validateKey(prefix === '' ? objectKey : objectKey.slice(prefix.length + 1));
      }
      throw new KinuError(
        'not_found',
        `source: ${shown(url)} is not in kinu's source; ${o.s3 ? `only s3://${o.s3.bucket}/${prefix ? `${prefix}/` : ''}… URLs are` : 'kinu reads a folder here, so only local:///<path> URLs are'}`,
      );
    }
    case 'http':
    case 'https':
      throw new KinuError(
        'invalid_key',
        "source: http(s) source URLs are not supported: kinu has no HTTP origin allow-list yet; put the image in kinu's source and use local:///<path>",
      );
    default:
      throw new KinuError('invalid_key', `source: ${scheme}:// sources are not supported; use local:///<path>`);
  }
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
        `${by}: fp gravity is not supported here; kinu centres an extended image or places it by a compass gravity`,
      );
    const [x, y] = toSource(s, g.x, g.y, false);
    return { kind: 'focal', x, y };
  }
  if (g.x !== 0 || g.y !== 0)
    throw invalid(
      `${by}: gravity offsets are not supported; kinu places by the compass point alone (use ${g.type} or fp:x:y)`,
    );
  const [dx, dy] = COMPASS[g.type];
  const [u, v] = toSource(s, dx, dy, true);
  return { kind: 'gravity', gravity: GRAVITY_AT[`${u},${v}`]! };
}

const roundHalfEven = (v: number) => {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

function cropBox(s: State): [number, number, number, number] | undefined {
  const c = s.crop;
  if (!c || (c.w === 0 && c.h === 0)) return undefined;
  const by = c.by;
  if (c.w < 1 || c.h < 1)
    throw invalid(
      `${by}: width and height must be ≥ 1 pixel; relative sizes (below 1) and 0 (the full side) need the image size, which kinu's crop does not take`,
    );
  const g = c.gravity ?? s.gravity.g;
  if (g.type !== 'nowe')
    throw invalid(
      `${by}: only crops anchored at the top-left corner (gravity nowe, with pixel offsets) are supported; ${g.type} needs the image size, which kinu's crop does not take`,
    );
  if (s.rotate !== 0 || s.flipH || s.flipV) throw invalid(`${by}: crop together with rotate or flip is not supported`);
  const offset = (v: number) => {
    if (v !== 0 && Math.abs(v) < 1)
      throw invalid(`${by}: relative offsets (below 1) are not supported; give them in pixels`);
    return Math.max(0, roundHalfEven(v));
  };
  return [offset(g.x), offset(g.y), Math.trunc(c.w), Math.trunc(c.h)];
}

function toKinu(s: State, o: ImgproxyDialectOptions): Transform {
  const boxed = s.width > 0 && s.height > 0;
  const sized = s.width > 0 || s.height > 0;
  if (s.rt === 'auto' && boxed) {
    throw invalid(
      `${s.rtBy}: auto with both width and height picks fill or fit from the source's orientation, which kinu cannot know from the URL; choose fill or fit`,
    );
  }
  if (s.rt === 'force' && sized && !boxed) {
    throw invalid(
      `${s.rtBy}: force with only ${s.width > 0 ? 'width' : 'height'} stretches one side alone, which kinu does not do; give both width and height`,
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

/**
 * Presets as imgproxy's IMGPROXY_PRESETS writes them: `name=option/option`, separated by commas or newlines
 * (`#` starts a comment line). Every option is checked here, so a bad preset stops the server at start.
 */
export function parseImgproxyPresets(text: string): Record<string, ImgproxyOption[]> {
  const out: Record<string, ImgproxyOption[]> = {};
  for (const line of text.split(/[,\n]/)) {
    const entry = line.trim();
    if (entry === '' || entry.startsWith('#')) continue;
    const eq = entry.indexOf('=');
    const name = entry.slice(0, Math.max(eq, 0)).trim();
    if (eq < 0 || !/^[A-Za-z0-9_.-]{1,64}$/.test(name))
      throw new Error(`${shown(entry)}: expected name=option/option, the name of letters, digits, ., - or _`);
    if (Object.hasOwn(out, name)) throw new Error(`preset ${name} is defined twice`);
    const options = entry
      .slice(eq + 1)
      .trim()
      .split('/')
      .filter(Boolean)
      .map((seg): ImgproxyOption => {
        if (!seg.includes(':')) throw new Error(`preset ${name}: ${shown(seg)} is not an option (name:argument…)`);
        const [n = '', ...args] = seg.split(':');
        return { name: n, args };
      });
    if (options.length === 0) throw new Error(`preset ${name}: no options`);
    // Defined, not assigned: a preset named __proto__ must stay a preset, not become the object's prototype.
    Object.defineProperty(out, name, { value: options, enumerable: true, writable: true, configurable: true });
  }
  const ctx: Ctx = { presets: out, now: () => 0 };
  for (const name of Object.keys(out)) {
    try {
      applyPreset(initialState(), ctx, name, []);
    } catch (e) {
      throw new Error(e instanceof KinuError ? e.detail : (e as Error).message);
    }
  }
  return out;
}
