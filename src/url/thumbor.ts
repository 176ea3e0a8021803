// The thumbor dialect: /<signature|unsafe>/[trim…/][AxB:CxD/][adaptive-][full-]fit-in/][-]Wx[-]H/[halign/]
// [valign/][smart/][filters:…/]<image>. Parsed with thumbor's own grammar, then mapped onto native params, so
// a thumbor URL and its native equivalent give one canonical Transform (same bytes, cache key and ETag).
// What does not map onto kinu is a 400 that names the part, never a silent approximation of something else.
import { createHash, createHmac } from 'node:crypto';
import { matchesAny } from './sign.ts';
import { clip, KinuError, quoted } from '../errors.ts';
import { formatNamed, outputNamed, type OutputFormat } from '../formats.ts';
import type {
  Adjustment,
  Gravity,
  Position,
  Rgba,
  RoundCorner,
  ThumborGeometry,
  Transform,
  WatermarkAt,
} from '../transform.ts';
import { parseColour } from './colours.ts';
import { validateKey } from './key.ts';
import { resolveSource, type SourceOptions } from './source-url.ts';
import { toTransform, type ParsedRequest } from './native.ts';
import { MAX_PARAM_SIDE, type ParamValues } from './params.ts';

export interface ThumborOptions extends SourceOptions {
  /** Path prefix the dialect is mounted under, without a trailing slash. */
  readonly prefix: string;
  /** thumbor SECURITY_KEYs; empty: `unsafe/` URLs are accepted and signatures are not checked. */
  readonly keys: readonly string[];
}

export const THUMBOR_FILTERS = [
  'format',
  'quality',
  'blur',
  'sharpen',
  'rotate',
  'grayscale',
  'fill',
  'background_color',
  'no_upscale',
  'upscale',
  'strip_exif',
  'strip_icc',
  'watermark',
  'focal',
  'brightness',
  'contrast',
  'saturation',
  'rgb',
  'round_corner',
  'proportion',
  'stretch',
  'convolution',
  'autojpg',
  'equalize',
  'noise',
  'max_bytes',
  'colorize',
  'curve',
  'cover',
  'extract_focal',
  'max_age',
  'red_eye',
  'frame',
] as const;

// libthumbor's Url.regex() after the signature segment, which is split off first. Tokens must come in this
// order; anything that does not match a token is the start of the image.
const GRAMMAR = new RegExp(
  [
    '^(?:(?<debug>debug)/)?',
    '(?:(?<meta>meta)/)?',
    '(?:(?<trim>trim(?::(?:top-left|bottom-right))?(?::\\d+)?)/)?',
    '(?:(?<cropL>\\d+)x(?<cropT>\\d+):(?<cropR>\\d+)x(?<cropB>\\d+)/)?',
    '(?:(?<adaptive>adaptive-)?(?<full>full-)?(?<fitIn>fit-in)/)?',
    '(?:(?<flipH>-)?(?<w>\\d+|orig)?x(?<flipV>-)?(?<h>\\d+|orig)?/)?',
    '(?:(?<halign>left|right|center)/)?',
    '(?:(?<valign>top|bottom|middle)/)?',
    '(?:(?<smart>smart)/)?',
    '(?:filters:(?<filters>.+?\\))/)?',
    '(?<image>.+)$',
  ].join(''),
);

/** A first image segment that is really an option: out of order, repeated or malformed. */
const STRAY =
  /^(debug|meta|unsafe|trim(:.*)?|\d+x\d+:\d+x\d+|(adaptive-)?(full-)?fit-in|-?(\d+|orig)?x-?(\d+|orig)?|left|right|center|top|bottom|middle|smart|filters:.*)$/;
const ORDER = "thumbor's order is <signature|unsafe>/trim/AxB:CxD/fit-in/WxH/halign/valign/smart/filters:…/<image>";
const SIGNATURE = /^[A-Za-z0-9_-]{27}=$/;
// thumbor's MAX_WIDTH/MAX_HEIGHT are off (0) by default: the box is native `w`/`h`, with their limit.
const MAX_SIDE = MAX_PARAM_SIDE;

/** base64url(HMAC-SHA1(key, path)) with its `=` padding, as libthumbor makes it; `path` is what follows `/<signature>/`. */
export function thumborSignature(key: string, path: string): string {
  return createHmac('sha1', key).update(path, 'utf8').digest('base64').replaceAll('+', '-').replaceAll('/', '_');
}

/** `/<signature>/<path>` for a path such as `300x200/smart/photos/a.jpg` (mount prefix not included). */
export function signThumbor(key: string, path: string): string {
  return `/${thumborSignature(key, path)}/${path}`;
}

export function parseThumbor(rawUrl: string, opts: ThumborOptions): ParsedRequest {
  // thumbor signs and reads the path only: a query string (cache busters) is ignored.
  const q = rawUrl.indexOf('?');
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  if (!rawPath.startsWith(`${opts.prefix}/`))
    throw new KinuError('invalid_key', `path: thumbor URLs start with ${opts.prefix}/`);
  const below = rawPath.slice(opts.prefix.length + 1);
  const slash = below.indexOf('/');
  const head = slash < 0 ? below : below.slice(0, slash);
  const rest = slash < 0 ? '' : below.slice(slash + 1);
  checkSignature(head, rest, opts.keys);

  const g = GRAMMAR.exec(rest)?.groups;
  if (!g) throw bad('image', `missing after /${head}/`);
  if (g.debug) throw bad('debug', "thumbor's focal-point overlay is not supported");
  if (g.meta)
    throw bad(
      'meta',
      "thumbor's JSON metadata is not supported (the native dialect's fmt=json answers the output's size and format)",
    );

  const f = parseFilters(g.filters === undefined ? undefined : decode('filters', g.filters));
  const key = imageKey(g.image!, opts, f);
  // noise() without a seed: thumbor goes on with the process's random state; kinu seeds from the URL's path
  // (signature and query left out), so the same URL always gives the same pixels.
  for (const a of f.adjust ?? []) if (a.op === 'noise' && a.seed === 0) a.seed = urlSeed(rest);
  const trim = g.trim === undefined ? undefined : parseTrim(g.trim);
  const crop = parseCrop(g);

  let w = side(g.w, 'width');
  let h = side(g.h, 'height');
  const fitIn = g.fitIn !== undefined;
  const full = g.full !== undefined;
  const geometry = thumborGeometry(g, f);

  // thumbor rotates after resizing (a filter), kinu before: swap the box, and the mirrors, for a quarter turn.
  const rot = f.rotate ?? 0;
  let flipH = g.flipH !== undefined;
  let flipV = g.flipV !== undefined;
  if (rot === 90 || rot === 270) [w, h, flipH, flipV] = [h, w, flipV, flipH];

  const v: ParamValues = {};
  if (w !== undefined) v.w = w;
  if (h !== undefined) v.h = h;
  // Crop mode upscales in thumbor, fit-in does not (unless upscale()), full-fit-in always covers the box.
  v.fit = !fitIn ? 'cover' : full ? 'outside' : f.fill ? 'contain' : 'inside';
  v.enlarge = f.upscale ?? (!fitIn || full);
  if (!fitIn) {
    const pos = g.smart ? ({ kind: 'attention' } as const) : alignment(g.halign, g.valign);
    if (pos) v.pos = pos;
  }
  if (crop) v.crop = crop;
  if (trim !== undefined) v.trim = trim.tolerance;
  if (f.format) v.fmt = f.format;
  if (f.quality !== undefined) v.q = f.quality;
  if (f.bg) v.bg = f.bg;
  if (f.blur !== undefined) v.blur = f.blur;
  if (f.sharpen !== undefined) v.sharpen = f.sharpen;
  if (rot !== 0) v.rot = rot;
  if (flipH || flipV) v.flip = flipH && flipV ? 'hv' : flipH ? 'h' : 'v';
  if (f.gray) v.gray = true;
  if (f.cover) v.anim = false;
  if (f.wm) Object.assign(v, f.wm);
  const t = toTransform(v);
  const maxAge = f.maxAge === undefined ? {} : { maxAge: f.maxAge };
  // The native fields above are the nearest native box; `thumbor` is what the plan follows (thumbor's own arithmetic).
  // thumbor trims first and then moves its crop by what trim cut off: the crop is in the untrimmed image.
  const trimmed: Pick<Transform, 'trimCorner' | 'cropUntrimmed'> = {
    trimCorner: trim?.corner,
    cropUntrimmed: trim !== undefined && crop ? true : undefined,
  };
  if (
    !geometry &&
    !f.adjust &&
    !f.roundCorner &&
    !f.flattenAlways &&
    !f.wmAt &&
    !f.pngToJpeg &&
    !f.maxBytes &&
    !f.frame &&
    !trimmed.trimCorner &&
    !trimmed.cropUntrimmed
  )
    return { key, transform: t, ...maxAge };
  return {
    key,
    ...maxAge,
    transform: {
      ...t,
      thumbor: geometry,
      adjust: f.adjust,
      roundCorner: f.roundCorner,
      watermarkAt: f.wmAt,
      pngToJpeg: f.pngToJpeg,
      flattenAlways: f.flattenAlways,
      maxBytes: f.maxBytes,
      frame: f.frame,
      ...trimmed,
    },
  };
}

/** A noise() seed from the URL: 1 – 2³¹−1, as srandom takes a positive C int. */
function urlSeed(path: string): number {
  return (createHash('sha256').update(path, 'utf8').digest().readUInt32BE(0) % 2147483647) + 1;
}

/** thumbor's geometry when the URL asks for any: a box, fit-in, a focal point or proportion. */
function thumborGeometry(g: Record<string, string | undefined>, f: Filters): ThumborGeometry | undefined {
  const sideOf = (raw: string | undefined): number | 'orig' => (raw === 'orig' ? 'orig' : Number(raw ?? 0));
  const width = sideOf(g.w);
  const height = sideOf(g.h);
  const fitIn = g.fitIn !== undefined;
  if (!width && !height && !fitIn && !f.focal && f.proportion === undefined && !f.stretch) return undefined;
  return {
    width,
    height,
    mode: fitIn ? (g.full ? 'full-fit-in' : 'fit-in') : f.stretch ? 'stretch' : 'crop',
    adaptive: g.adaptive !== undefined,
    upscale: f.upscale === true,
    noUpscale: f.upscale === false,
    align: [ALIGN[g.halign ?? 'center']!, ALIGN[g.valign ?? 'middle']!],
    points: f.focal ?? [],
    smart: g.smart !== undefined,
    proportion: f.proportion,
    canvas: f.canvas,
  };
}

// FocalPoint.ALIGNMENT_PERCENTAGES
const ALIGN: Record<string, number> = { left: 0, center: 0.5, right: 1, top: 0, middle: 0.5, bottom: 1 };

function checkSignature(head: string, rest: string, keys: readonly string[]): void {
  const signed = keys.length > 0;
  if (head === 'unsafe') {
    if (signed)
      throw new KinuError(
        'bad_signature',
        'unsafe: this server only answers signed thumbor URLs (KINU_THUMBOR_KEY is set)',
      );
    return;
  }
  const sig = head.replace(/%3D$/i, '=');
  if (!SIGNATURE.test(sig)) {
    if (signed)
      throw new KinuError(
        'bad_signature',
        'signature: missing; a signed thumbor URL starts with /<28-character base64url HMAC-SHA1>/',
      );
    throw bad(
      'signature',
      `expected unsafe or a 28-character base64url HMAC-SHA1 as the first segment, got ${show(head)}`,
    );
  }
  // Without a key there is nothing to check the signature against: it is accepted as unsafe/ would be.
  if (!signed) return;
  const ok = matchesAny(
    Buffer.from(sig, 'utf8'),
    keys.map((key) => () => Buffer.from(thumborSignature(key, rest), 'utf8')),
  );
  if (!ok) throw new KinuError('bad_signature', 'signature: does not match this URL');
}

function imageKey(raw: string, opts: SourceOptions, f: Filters): string {
  if (f.extractFocal !== undefined) {
    const nested = nestedCrop(decode('image', raw));
    if (nested) {
      (f.focal ??= []).splice(f.extractFocal, 0, nested.point);
      return sourceKey(nested.image, opts);
    }
  }
  const first = raw.split('/', 1)[0]!;
  if (STRAY.test(first)) {
    if (!raw.includes('/')) throw bad('image', `missing after the options (${show(first)} is an option)`);
    if (first.startsWith('filters:'))
      throw bad('filters', `cannot read ${show(first)}; expected filters:name(args):name(args)/`);
    if (first.startsWith('trim'))
      throw bad(clip(first, 32), 'expected trim, trim:top-left or trim:top-left:<tolerance>');
    throw bad(clip(first, 32), `out of place or given twice; ${ORDER}`);
  }
  return sourceKey(decode('image', raw), opts);
}

/** The decoded image: a key in the source, or an absolute URL under kinu's HTTP origin. */
function sourceKey(image: string, opts: SourceOptions): string {
  // thumbor's HTTP loader fetches absolute URLs; kinu reads those under its own HTTP origin (and its allow-list).
  if (/^https?:\/\//i.test(image)) return resolveSource(image, opts, 'image');
  try {
    return validateKey(image);
  } catch (e) {
    if (e instanceof KinuError) throw new KinuError('invalid_key', e.detail.replace(/^key:/, 'image:'));
    throw e;
  }
}

function parseTrim(token: string): { corner: 'bottom-right' | undefined; tolerance: number } {
  // thumbor (context.py) reads trim:<x>[:<tolerance>] split on ':'; _bounding_box.c takes any x but top-left as
  // bottom-right, so trim:10 is the bottom-right corner with tolerance 0, as in thumbor.
  const [, corner = 'top-left', tolerance = '0'] = token.split(':');
  const t = Number(tolerance);
  if (t > 255)
    throw bad(token, `tolerance ${t} is above kinu's 255 (kinu compares each channel, not the RGB distance up to 442)`);
  return { corner: corner === 'top-left' ? undefined : 'bottom-right', tolerance: t };
}

function parseCrop(g: Record<string, string | undefined>): [number, number, number, number] | undefined {
  if (g.cropL === undefined) return undefined;
  const [l, t, r, b] = [g.cropL, g.cropT, g.cropR, g.cropB].map(Number) as [number, number, number, number];
  if (l === 0 && t === 0 && r === 0 && b === 0) return undefined;
  const token = `${g.cropL}x${g.cropT}:${g.cropR}x${g.cropB}`;
  // thumbor's manual_crop skips a crop with nothing inside.
  if (r <= l || b <= t) return undefined;
  if (r > 100000 || b > 100000) throw bad(token, 'manual crop corners must be at most 100000');
  return [l, t, r - l, b - t];
}

// extract_focal.py: the host segment is dropped, then the rest is read with libthumbor's Url.regex(); a URL
// without unsafe/ or a signature stops the search, one without a manual crop is searched again (10 levels).
const NESTED_HOST = /^(https?:\/\/)?.*?\//;
const NESTED = new RegExp(
  [
    '^/?(?:(?:(?<unsafe>unsafe)|(?<hash>[^/]{28,}?))/)?',
    '(?:debug/)?(?:meta/)?(?:trim(?::(?:top-left|bottom-right))?(?::\\d+)?/)?',
    '(?:(?<l>\\d+)x(?<t>\\d+):(?<r>\\d+)x(?<b>\\d+)/)?',
    '(?:(?:adaptive-)?(?:full-)?fit-in/)?(?:-?(?:\\d+|orig)?x-?(?:\\d+|orig)?/)?',
    '(?:(?:left|right|center)/)?(?:(?:top|bottom|middle)/)?(?:smart/)?(?:filters:.+?\\)/)?(?<image>.+)',
  ].join(''),
);

/** extract_focal(): the image behind the first nested thumbor URL with a manual crop, and that crop as a point. */
function nestedCrop(url: string): { image: string; point: [number, number, number] } | undefined {
  for (let level = 0; level < 10; level++) {
    const m = NESTED.exec(url.replace(NESTED_HOST, ''))?.groups;
    if (!m || !(m.unsafe || m.hash)) return undefined;
    if (m.l !== undefined) {
      const [l, t, r, b] = [m.l, m.t, m.r, m.b].map(Number) as [number, number, number, number];
      const [w, h] = [r - l, b - t];
      // FocalPoint.from_square; a point of weight 0 makes thumbor's center of mass divide by zero.
      if (w * h === 0) throw bad('filter extract_focal', `the nested crop ${l}x${t}:${r}x${b} has no area`);
      return { image: m.image!, point: [l + Math.floor(w / 2), t + Math.floor(h / 2), w * h] };
    }
    url = m.image!;
  }
  return undefined;
}

/** A box side for the native fields: 0, missing or `orig` follow the original (thumbor's geometry keeps `orig`). */
function side(raw: string | undefined, name: string): number | undefined {
  if (raw === 'orig') return undefined;
  const n = raw === undefined ? 0 : Number(raw);
  if (n > MAX_SIDE) throw bad(name, `expected 0–${MAX_SIDE}, got ${raw}`);
  return n === 0 ? undefined : n;
}

function alignment(halign: string | undefined, valign: string | undefined): Position | undefined {
  const x = halign === 'left' || halign === 'right' ? halign : undefined;
  const y = valign === 'top' || valign === 'bottom' ? valign : undefined;
  if (!x && !y) return undefined;
  return { kind: 'gravity', gravity: (x && y ? `${y}-${x}` : (x ?? y)) as Gravity };
}

interface Filters {
  format?: OutputFormat;
  quality?: number;
  blur?: number;
  sharpen?: number;
  rotate?: 0 | 90 | 180 | 270;
  gray?: boolean;
  fill?: boolean;
  canvas?: 'colour' | 'auto' | 'blur';
  bg?: Rgba;
  upscale?: boolean;
  wm?: Pick<ParamValues, 'wm' | 'wm_pos' | 'wm_opacity' | 'wm_scale'>;
  /** focal() boxes as FocalPoint.from_square: centre x, y and weight (the area). */
  focal?: [number, number, number][];
  adjust?: Adjustment[];
  roundCorner?: RoundCorner;
  proportion?: number;
  stretch?: boolean;
  flattenAlways?: true;
  wmAt?: WatermarkAt;
  pngToJpeg?: true;
  maxBytes?: number;
  /** max_age(): seconds for Cache-Control, per request. */
  maxAge?: number;
  /** cover(): an animation's first frame only. */
  cover?: true;
  /** frame(): the nine-patch's key in the source. */
  frame?: string;
  /** extract_focal(): where among focal()'s points the nested crop's point goes. */
  extractFocal?: number;
}

/** Filters thumbor applies as often as they are given; any other repeated filter is a 400. */
const REPEATABLE = new Set([
  'focal',
  'brightness',
  'contrast',
  'saturation',
  'rgb',
  'convolution',
  'equalize',
  'noise',
  'colorize',
  'curve',
]);
/** kinu's cap on a convolution kernel (thumbor has none): 9×9, as the work grows with pixels × entries. */
const MAX_KERNEL = 81;

/** The names format() knows: thumbor's (webp, jpeg, gif, png, avif, heif), jpg and heic; each looked up in kinu's format table. */
export const THUMBOR_FORMATS: readonly string[] = ['jpeg', 'jpg', 'png', 'webp', 'avif', 'gif', 'heic', 'heif'];
const WRITABLE = THUMBOR_FORMATS.filter((n) => outputNamed(n) !== undefined);
const UINT = /^\d+$/;
/** curve.py's argument regex, with the commas between points that ast.literal_eval needs. */
const CURVE = /^\[(?:\(\d+,\d+\)(?:,\(\d+,\d+\))*,?)?\]$/;
const INT_MAX = 2147483647;
const DECIMAL = /^-?(?:\d+\.?\d*|\d*\.?\d+)$/;
const BOOLEAN: Record<string, boolean> = { true: true, True: true, 1: true, false: false, False: false, 0: false };

/** `name(args):name(args)` as thumbor splits it (on `):`), each filter at most once. */
function parseFilters(text: string | undefined): Filters {
  const f: Filters = {};
  if (text === undefined) return f;
  const parts = text.split('):');
  const seen = new Set<string>();
  parts.forEach((part, i) => {
    const call = i < parts.length - 1 ? `${part})` : part;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\((.*)\)$/s.exec(call);
    if (!m) throw bad('filters', `cannot read ${show(call)}; expected name(args)`);
    const name = m[1]!;
    // thumbor's FiltersFactory skips a name it has no filter for (not in its FILTERS, or misspelt) and renders
    // the rest: its own urls_helpers.py sends redeye() and gifv() and expects a 200. kinu skips them too.
    if (!(THUMBOR_FILTERS as readonly string[]).includes(name)) return;
    if (seen.has(name) && !REPEATABLE.has(name)) throw bad(`filter ${clip(name, 32)}`, 'given more than once');
    seen.add(name);
    applyFilter(f, name, splitArgs(m[2]!));
  });
  if (f.fill && seen.has('background_color'))
    throw bad('filter background_color', 'cannot be combined with fill: both set the background');
  return f;
}

function splitArgs(s: string): string[] {
  if (s.trim() === '') return [];
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const c of s) {
    if (c === "'") quoted = !quoted;
    if (c === ',' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out.map((a) => a.trim().replace(/^'(.+)'$/s, '$1'));
}

function applyFilter(f: Filters, name: string, args: string[]): void {
  const fail: (why: string) => never = (why) => {
    throw bad(`filter ${clip(name, 32)}`, why);
  };
  const arity = (min: number, max: number, usage: string) => {
    if (args.length < min || args.length > max)
      fail(`expected ${name}(${usage}), got ${args.length} argument${args.length === 1 ? '' : 's'}`);
  };
  switch (name) {
    case 'format': {
      arity(1, 1, WRITABLE.filter((n) => formatNamed(n) === n).join('|'));
      const spelled = args[0]!.toLowerCase();
      // thumbor's format filter sets nothing for a name it does not know: the original's format stays.
      if (!THUMBOR_FORMATS.includes(spelled)) return;
      const known = formatNamed(spelled);
      // heic/heif: thumbor's PIL engine without a HEIF encoder writes the original's format (engines/pil.py
      // read()); kinu cannot write HEIC either, so the format is left as without the filter.
      const fmt = known === undefined ? undefined : outputNamed(known);
      if (fmt) f.format = fmt;
      return;
    }
    case 'quality': {
      arity(1, 1, 'quality');
      const n = Number(args[0]);
      if (!UINT.test(args[0]!) || n < 1 || n > 100) fail(`expected an integer 1–100, got ${show(args[0]!)}`);
      f.quality = n;
      return;
    }
    case 'blur': {
      arity(1, 2, 'radius[,sigma]');
      const radius = Number(args[0]);
      if (!UINT.test(args[0]!)) fail(`radius: expected a positive integer, got ${show(args[0]!)}`);
      if (radius === 0) return; // thumbor's blur(0) leaves the image as it is
      const sigma = args[1] === undefined ? 0 : Number(args[1]);
      if (args[1] !== undefined && (!DECIMAL.test(args[1]) || sigma < 0))
        fail(`sigma: expected a number ≥ 0, got ${show(args[1])}`);
      f.blur = blurSigma(radius, sigma);
      return;
    }
    case 'sharpen': {
      arity(3, 3, 'amount,radius,luminance_only');
      const [amount, radius, luma] = args as [string, string, string];
      if (!DECIMAL.test(amount) || Number(amount) < 0) fail(`amount: expected a number ≥ 0, got ${show(amount)}`);
      if (!DECIMAL.test(radius) || Number(radius) < 0 || Number(radius) > 10)
        fail(`radius: expected 0–10, got ${show(radius)}`);
      if (own(BOOLEAN, luma) === undefined) fail(`luminance_only: expected true or false, got ${show(luma)}`);
      // libvips sharpens lightness only, with a Gaussian of this sigma; thumbor's amount has no counterpart.
      if (Number(amount) > 0) f.sharpen = Math.round(Math.min(10, Math.max(0.5, Number(radius))) * 100) / 100;
      return;
    }
    case 'rotate': {
      arity(1, 1, 'angle');
      const n = Number(args[0]);
      if (!/^-?\d+$/.test(args[0]!)) fail(`expected a multiple of 90, got ${show(args[0]!)}`);
      if (n % 90 !== 0) return; // thumbor's engine ignores other angles
      // thumbor turns counter-clockwise, kinu clockwise.
      f.rotate = ((360 - (((n % 360) + 360) % 360)) % 360) as 0 | 90 | 180 | 270;
      return;
    }
    case 'grayscale':
      arity(0, 0, '');
      f.gray = true;
      return;
    case 'no_upscale':
      arity(0, 0, '');
      if (f.upscale === true) fail('contradicts upscale()');
      f.upscale = false;
      return;
    case 'upscale':
      arity(0, 0, '');
      if (f.upscale === false) fail('contradicts no_upscale()');
      f.upscale = true;
      return;
    case 'strip_exif':
    case 'strip_icc':
      arity(0, 0, '');
      return; // kinu always strips metadata and outputs sRGB
    case 'fill': {
      arity(1, 2, 'color[,fill_transparent]');
      if (args[1] !== undefined && own(BOOLEAN, args[1]) === undefined)
        fail(`fill_transparent: expected true or false, got ${show(args[1])}`);
      f.fill = true;
      if (args[0] === 'auto' || args[0] === 'blur') {
        f.canvas = args[0];
        return;
      }
      f.bg = colour(args[0]!, fail);
      f.canvas = 'colour';
      // fill(colour, true) merges the image onto the colour: its transparency is flattened too.
      if (args[1] !== undefined && own(BOOLEAN, args[1])) f.flattenAlways = true;
      return;
    }
    case 'background_color':
      arity(1, 1, 'color');
      f.bg = colour(args[0]!, fail);
      f.flattenAlways = true; // pasted with merge onto a canvas of the colour, whatever the output format
      return;
    case 'watermark': {
      const { at, ...wm } = watermark(args, fail);
      f.wm = wm;
      f.wmAt = at;
      return;
    }
    case 'focal': {
      // thumbor's focal filter adds a point for a box with an area and passes anything else through.
      const m = args.length === 1 ? /^(\d+)x(\d+):(\d+)x(\d+)$/.exec(args[0]!) : null;
      if (!m) return;
      const [l, t, r, b] = m.slice(1).map(Number) as [number, number, number, number];
      const [bw, bh] = [r - l, b - t];
      if (bw === 0 || bh === 0) return;
      (f.focal ??= []).push([l + Math.floor(bw / 2), t + Math.floor(bh / 2), bw * bh]);
      return;
    }
    case 'brightness':
    case 'contrast': {
      arity(1, 1, 'amount');
      if (!/^-?\d+$/.test(args[0]!)) fail(`expected an integer, got ${show(args[0]!)}`);
      (f.adjust ??= []).push({ op: name, value: clampInt(Number(args[0])) });
      return;
    }
    case 'saturation': {
      arity(1, 1, 'factor');
      if (!DECIMAL.test(args[0]!)) fail(`expected a number, got ${show(args[0]!)}`);
      (f.adjust ??= []).push({ op: 'saturation', value: Math.max(-1000, Math.min(1000, Number(args[0]))) });
      return;
    }
    case 'rgb': {
      arity(3, 3, 'r,g,b');
      for (const a of args) if (!/^-?\d+$/.test(a)) fail(`expected three integers, got ${show(a)}`);
      const [r, g, b] = args.map((a) => clampInt(Number(a))) as [number, number, number];
      (f.adjust ??= []).push({ op: 'rgb', r, g, b });
      return;
    }
    case 'round_corner': {
      arity(4, 5, 'a[|b],r,g,b[,transparent]');
      const m = /^(\d+)(?:\|(\d+))?$/.exec(args[0]!);
      if (!m) fail(`radius: expected a or a|b, got ${show(args[0]!)}`);
      const rgb = args.slice(1, 4).map(Number);
      if (!args.slice(1, 4).every((c) => UINT.test(c)) || rgb.some((c) => c > 255))
        fail(`colour: expected three integers 0–255, got ${show(args.slice(1, 4).join(','))}`);
      const transparent = args[4] === undefined ? false : own(BOOLEAN, args[4]);
      if (transparent === undefined) fail(`transparent: expected true or false, got ${show(args[4]!)}`);
      const a = Math.min(Number(m[1]), MAX_SIDE);
      f.roundCorner = {
        a,
        b: m[2] === undefined ? a : Math.min(Number(m[2]), MAX_SIDE),
        colour: [rgb[0]!, rgb[1]!, rgb[2]!],
        transparent,
      };
      return;
    }
    case 'proportion': {
      arity(1, 1, 'factor');
      if (!DECIMAL.test(args[0]!)) fail(`expected a number, got ${show(args[0]!)}`);
      const p = Number(args[0]);
      if (p > 0 && p <= 1) f.proportion = p; // thumbor ignores ≤ 0 and > 1
      return;
    }
    case 'convolution': {
      arity(2, 3, 'matrix,columns[,normalize]');
      const [matrix, columns, normalize = 'true'] = args as [string, string, string?];
      if (!/^-?\d+(?:\.\d*)?(?:;-?\d+(?:\.\d*)?)*$/.test(matrix))
        fail(`matrix: expected numbers separated by ;, got ${show(clip(matrix, 32))}`);
      const kernel = matrix.split(';').map(Number);
      const cols = Number(columns);
      const norm = own(BOOLEAN, normalize);
      if (norm === undefined) fail(`normalize: expected true or false, got ${show(normalize)}`);
      // _convolution.c's own checks: whole rows, an odd count of each.
      if (
        !UINT.test(columns) ||
        cols < 1 ||
        kernel.length % cols !== 0 ||
        cols % 2 === 0 ||
        (kernel.length / cols) % 2 === 0
      )
        fail(
          `columns: expected an odd count that divides the ${kernel.length} entries into an odd count of rows, got ${show(columns)}`,
        );
      if (kernel.length > MAX_KERNEL) fail(`matrix: at most ${MAX_KERNEL} entries (9×9), got ${kernel.length}`);
      const sum = kernel.reduce((s, k) => s + k, 0);
      (f.adjust ??= []).push({
        op: 'convolution',
        kernel: norm && sum !== 0 ? kernel.map((k) => k / sum) : kernel,
        columns: cols,
      });
      return;
    }
    case 'autojpg': {
      arity(0, 1, '[enabled]');
      const on = args[0] === undefined ? true : own(BOOLEAN, args[0]);
      if (on === undefined) fail(`enabled: expected true or false, got ${show(args[0]!)}`);
      // thumbor's AUTO_PNG_TO_JPG is off by default, so autojpg(false) changes nothing.
      if (on) f.pngToJpeg = true;
      return;
    }
    case 'stretch':
      arity(0, 0, '');
      f.stretch = true;
      return;
    case 'equalize':
      arity(0, 0, '');
      (f.adjust ??= []).push({ op: 'equalize' });
      return;
    case 'noise': {
      arity(1, 2, 'amount[,seed]');
      const [amount, seed = '0'] = args as [string, string?];
      // _noise.c reads both as C ints (PositiveNumber); a seed of 0 is replaced by one from the URL (parseThumbor).
      if (!UINT.test(amount) || Number(amount) > INT_MAX)
        fail(`amount: expected an integer 0–${INT_MAX}, got ${show(amount)}`);
      if (!UINT.test(seed) || Number(seed) > INT_MAX) fail(`seed: expected an integer 0–${INT_MAX}, got ${show(seed)}`);
      if (Number(amount) > 0) (f.adjust ??= []).push({ op: 'noise', amount: Number(amount), seed: Number(seed) });
      return;
    }
    case 'colorize': {
      arity(4, 4, 'red_pct,green_pct,blue_pct,fill_color');
      const pct = args.slice(0, 3);
      // _colorize.c reads the percents as C ints (PositiveNumber) and the colour with bytearray.fromhex.
      if (!pct.every((a) => UINT.test(a) && Number(a) <= INT_MAX))
        fail(`percents: expected integers 0–${INT_MAX}, got ${show(pct.join(','))}`);
      if (!/^[0-9a-f]{6}$/i.test(args[3]!)) fail(`fill_color: expected six hex digits (rrggbb), got ${show(args[3]!)}`);
      const hex = args[3]!;
      (f.adjust ??= []).push({
        op: 'colorize',
        pct: pct.map(Number) as [number, number, number],
        fill: [0, 2, 4].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)) as [number, number, number],
      });
      return;
    }
    case 'curve': {
      // The curves hold commas: read the argument text whole, as curve.py's regex and ast.literal_eval do.
      const curves = args.join(',').split(/(?<=\]),/);
      if (curves.length !== 4 || !curves.every((c) => CURVE.test(c)))
        fail('expected curve([(x,y),…],[(x,y),…],[(x,y),…],[(x,y),…]): all channels, then red, green, blue');
      const tables = curves.map((c) => {
        const numbers = c.match(/\d+/g) ?? [];
        if (numbers.length === 0) fail('every curve needs at least one point');
        // _curve.c keeps a point count in an unsigned char and each value as its low byte.
        if (numbers.length > 2 * 255) fail('at most 255 points a curve');
        if (numbers.some((n) => n.length > 18)) fail('point values must have at most 18 digits');
        return numbers.map((n) => Number(BigInt(n) & 255n));
      });
      (f.adjust ??= []).push({ op: 'curve', curves: tables as [number[], number[], number[], number[]] });
      return;
    }
    case 'cover':
      // transformer.py looks for the text "cover()" among the filters: with arguments it is not there.
      if (args.length === 0) f.cover = true;
      return;
    case 'extract_focal':
      arity(0, 0, '');
      f.extractFocal = f.focal?.length ?? 0;
      return;
    case 'max_age': {
      arity(1, 1, 'seconds');
      if (!UINT.test(args[0]!) || Number(args[0]) > INT_MAX)
        fail(`expected seconds 0–${INT_MAX}, got ${show(args[0]!)}`);
      f.maxAge = Number(args[0]);
      return;
    }
    case 'red_eye':
      // redeye.py corrects eyes inside faces from thumbor's face detector only; kinu has no face detector, so, as
      // in thumbor without one (or without OpenCV), the image is left as it is.
      arity(0, 0, '');
      return;
    case 'frame': {
      arity(1, 1, 'url');
      const url = args[0]!;
      if (/^https?:/i.test(url))
        fail("absolute http(s) image URLs are not supported: give the frame's key in the source");
      try {
        f.frame = validateKey(url);
      } catch (e) {
        fail(`url: ${(e as KinuError).detail.replace(/^key: /, '')}`);
      }
      return;
    }
    case 'max_bytes': {
      arity(1, 1, 'bytes');
      if (!UINT.test(args[0]!) || Number(args[0]) > 1e9)
        fail(`expected an integer 0–1000000000, got ${show(args[0]!)}`);
      // thumbor's max_bytes(0) lowers the quality below 10 and then serves the first encode: no budget.
      if (Number(args[0]) > 0) f.maxBytes = Number(args[0]);
      return;
    }
    default:
      return fail(`not supported by kinu; supported: ${THUMBOR_FILTERS.join(', ')}`);
  }
}

/** thumbor reads these as C ints; beyond ±1000 every pixel is already clamped. */
const clampInt = (n: number) => Math.max(-1000, Math.min(1000, n));

function colour(s: string, fail: (why: string) => never): Rgba {
  if (s === 'auto' || s === 'blur') fail(`${s} needs the image's pixels; give a colour name or hex digits`);
  return (
    parseColour(s) ?? fail(`expected a colour name, transparent or hex digits (f00, ff0000, ff000080), got ${show(s)}`)
  );
}

// thumbor's blur is a Gaussian of `sigma` (default: the radius) cut off at `radius` pixels; kinu's is untruncated.
// The kinu sigma is the standard deviation of thumbor's truncated kernel, so the two blur about as much.
function blurSigma(radius: number, sigma: number): number {
  const s = sigma === 0 ? radius : sigma;
  const r = Math.min(radius, 150);
  let sum = 0;
  let second = 0;
  for (let x = -r; x <= r; x++) {
    const g = Math.exp(-(x * x) / (2 * s * s));
    sum += g;
    second += x * x * g;
  }
  return Math.min(100, Math.max(0.3, Math.round(Math.sqrt(second / sum) * 100) / 100));
}

const POSITION = /^(?:-?\d+p?|center|repeat)$/;

/** The native gravity nearest to a thumbor position: the edge it counts from, or the centre. */
const edge = (pos: string, start: string, end: string) =>
  pos === 'center' || pos === 'repeat' ? undefined : pos.startsWith('-') ? end : start;

/** watermark(image,x,y,alpha[,w_ratio[,h_ratio]]) as thumbor/filters/watermark.py reads it. */
function watermark(args: string[], fail: (why: string) => never): NonNullable<Filters['wm']> & { at: WatermarkAt } {
  if (args.length < 4 || args.length > 6)
    fail(`expected watermark(image,x,y,alpha[,w_ratio[,h_ratio]]), got ${args.length} arguments`);
  const [url, x, y, alpha, wRatio = 'none', hRatio = 'none'] = args as [
    string,
    string,
    string,
    string,
    string?,
    string?,
  ];
  if (/^https?:/i.test(url))
    fail("absolute http(s) image URLs are not supported: give the watermark's key in the source");
  let wm: string;
  try {
    wm = validateKey(url);
  } catch (e) {
    fail(`image: ${(e as KinuError).detail.replace(/^key: /, '')}`);
  }
  if (!POSITION.test(x)) fail(`x: expected pixels, -pixels, a percent (Np), center or repeat, got ${show(x)}`);
  if (!POSITION.test(y)) fail(`y: expected pixels, -pixels, a percent (Np), center or repeat, got ${show(y)}`);
  const n = Number(alpha);
  if (!UINT.test(alpha) || n > 100) fail(`alpha: expected transparency 0–100, got ${show(alpha)}`);
  const ratio = (raw: string, name: string) => {
    if (raw === 'none') return undefined;
    const r = Number(raw);
    if (!UINT.test(raw) || r < 1 || r > 100)
      fail(`${name}: expected 1–100 (percent of the image) or none, got ${show(raw)}`);
    return r;
  };
  const w = ratio(wRatio, 'w_ratio');
  const h = ratio(hRatio, 'h_ratio');
  const ex = edge(x, 'left', 'right');
  const ey = edge(y, 'top', 'bottom');
  const gravity = (ex && ey ? `${ey}-${ex}` : (ex ?? ey ?? 'center')) as Gravity;
  return {
    wm,
    wm_pos: gravity,
    wm_opacity: (100 - n) / 100,
    ...(w === undefined || h !== undefined ? {} : { wm_scale: w / 100 }),
    at: { x, y, alpha: n, wRatio: w, hRatio: h },
  };
}

function decode(part: string, raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw bad(part, 'malformed percent-encoding');
  }
}

const show = (s: string) => quoted(s);

/** A table lookup by a string from the URL: own properties only, so `constructor` finds nothing. */
const own = <T>(table: Readonly<Record<string, T>>, name: string): T | undefined =>
  Object.hasOwn(table, name) ? table[name] : undefined;

function bad(part: string, why: string): KinuError {
  return new KinuError('invalid_param', `${part}: ${why}`);
}
