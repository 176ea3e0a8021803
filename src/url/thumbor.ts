// The thumbor dialect: /<signature|unsafe>/[trim…/][AxB:CxD/][adaptive-][full-]fit-in/][-]Wx[-]H/[halign/]
// [valign/][smart/][filters:…/]<image>. Parsed with thumbor's own grammar, then mapped onto native params, so
// a thumbor URL and its native equivalent give one canonical Transform (same bytes, cache key and ETag).
// What does not map onto kinu is a 400 that names the part, never a silent approximation of something else.
import { createHmac } from 'node:crypto';
import { matchesAny } from './sign.ts';
import { clip, KinuError, quoted } from '../errors.ts';
import { FORMAT_TABLE, formatNamed, outputNamed, type OutputFormat } from '../formats.ts';
import type { Gravity, Position, Rgba } from '../transform.ts';
import { parseColour } from './colours.ts';
import { validateKey } from './key.ts';
import { toTransform, type ParsedRequest } from './native.ts';
import { MAX_PARAM_SIDE, type ParamValues } from './params.ts';

export interface ThumborOptions {
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
  'max_bytes',
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

  const key = imageKey(g.image!);
  const f = parseFilters(g.filters === undefined ? undefined : decode('filters', g.filters));
  const trim = g.trim === undefined ? undefined : parseTrim(g.trim);
  const crop = parseCrop(g);
  if (crop && trim !== undefined)
    throw bad(
      g.trim!,
      'cannot be combined with a manual crop: thumbor measures the crop on the untrimmed image, kinu on the trimmed one',
    );

  let w = side(g.w, g.h, 'width');
  let h = side(g.h, g.w, 'height');
  const fitIn = g.fitIn !== undefined;
  const full = g.full !== undefined;
  if (g.adaptive && w !== undefined && h !== undefined && w !== h) {
    throw bad(
      `${g.adaptive}${g.full ?? ''}fit-in`,
      'swaps the box by the orientation of the original, which kinu does not know when it reads the URL; use fit-in or full-fit-in with the box you want',
    );
  }
  if (f.focal !== undefined && !fitIn && w !== undefined && h !== undefined) {
    throw bad(
      `filter focal(${f.focal})`,
      "a focal region in source pixels cannot be expressed before the original's size is known; use smart or halign/valign (or the native pos=X,Y with 0–1 fractions)",
    );
  }

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
  if (trim !== undefined) v.trim = trim;
  if (f.format) v.fmt = f.format;
  if (f.quality !== undefined) v.q = f.quality;
  if (f.bg) v.bg = f.bg;
  if (f.blur !== undefined) v.blur = f.blur;
  if (f.sharpen !== undefined) v.sharpen = f.sharpen;
  if (rot !== 0) v.rot = rot;
  if (flipH || flipV) v.flip = flipH && flipV ? 'hv' : flipH ? 'h' : 'v';
  if (f.gray) v.gray = true;
  if (f.wm) Object.assign(v, f.wm);
  return { key, transform: toTransform(v) };
}

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

function imageKey(raw: string): string {
  const first = raw.split('/', 1)[0]!;
  if (STRAY.test(first)) {
    if (!raw.includes('/')) throw bad('image', `missing after the options (${show(first)} is an option)`);
    if (first.startsWith('filters:'))
      throw bad('filters', `cannot read ${show(first)}; expected filters:name(args):name(args)/`);
    if (first.startsWith('trim'))
      throw bad(clip(first, 32), 'expected trim, trim:top-left or trim:top-left:<tolerance>');
    throw bad(clip(first, 32), `out of place or given twice; ${ORDER}`);
  }
  const image = decode('image', raw);
  if (/^https?:/i.test(image)) {
    throw new KinuError(
      'invalid_key',
      "image: absolute http(s) image URLs are not supported: kinu reads originals from its source (KINU_SOURCE) and has no HTTP origin yet; give the image's key in the source",
    );
  }
  try {
    return validateKey(image);
  } catch (e) {
    if (e instanceof KinuError) throw new KinuError('invalid_key', e.detail.replace(/^key:/, 'image:'));
    throw e;
  }
}

function parseTrim(token: string): number {
  // thumbor reads trim:<x>[:<tolerance>]: x is the reference corner, anything but top-left meaning bottom-right.
  const [, corner = 'top-left', tolerance = '0'] = token.split(':');
  if (corner !== 'top-left') {
    throw bad(
      token,
      `kinu trims against the top-left pixel only${corner === 'bottom-right' ? '' : ` (thumbor reads ${show(corner)} as the corner, i.e. bottom-right with tolerance 0)`}; write trim:top-left:<tolerance>`,
    );
  }
  const t = Number(tolerance);
  if (t > 255)
    throw bad(token, `tolerance ${t} is above kinu's 255 (kinu compares each channel, not the RGB distance up to 442)`);
  return t;
}

function parseCrop(g: Record<string, string | undefined>): [number, number, number, number] | undefined {
  if (g.cropL === undefined) return undefined;
  const [l, t, r, b] = [g.cropL, g.cropT, g.cropR, g.cropB].map(Number) as [number, number, number, number];
  if (l === 0 && t === 0 && r === 0 && b === 0) return undefined;
  const token = `${g.cropL}x${g.cropT}:${g.cropR}x${g.cropB}`;
  if (r <= l || b <= t)
    throw bad(token, 'manual crop needs left<right and top<bottom (AxB:CxD are the top-left and bottom-right corners)');
  if (r > 100000 || b > 100000) throw bad(token, 'manual crop corners must be at most 100000');
  return [l, t, r - l, b - t];
}

/** A box side: 0, missing or `orig` (with the other side also 0/missing/`orig`) mean "follow the original". */
function side(raw: string | undefined, other: string | undefined, name: string): number | undefined {
  if (raw === 'orig') {
    if (other !== undefined && other !== 'orig' && Number(other) !== 0)
      throw bad(
        `${name} orig`,
        "with a fixed other side needs the original's size, which kinu does not know when it reads the URL",
      );
    return undefined;
  }
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
  bg?: Rgba;
  upscale?: boolean;
  wm?: Pick<ParamValues, 'wm' | 'wm_pos' | 'wm_opacity' | 'wm_scale'>;
  focal?: string;
}

/** The names format() knows: thumbor's (webp, jpeg, gif, png, avif, heif), jpg and heic; each looked up in kinu's format table. */
export const THUMBOR_FORMATS: readonly string[] = ['jpeg', 'jpg', 'png', 'webp', 'avif', 'gif', 'heic', 'heif'];
const WRITABLE = THUMBOR_FORMATS.filter((n) => outputNamed(n) !== undefined);
const UINT = /^\d+$/;
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
    if (seen.has(name)) throw bad(`filter ${clip(name, 32)}`, 'given more than once');
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
      const known = THUMBOR_FORMATS.includes(spelled) ? formatNamed(spelled) : undefined;
      const fmt = known === undefined ? undefined : outputNamed(known);
      if (!fmt)
        fail(
          `expected ${WRITABLE.slice(0, -1).join(', ')} or ${WRITABLE.at(-1)}, got ${show(args[0]!)}${known ? ` (kinu cannot write ${FORMAT_TABLE[known].label})` : ''}`,
        );
      f.format = fmt;
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
      if (!UINT.test(args[0]!) || radius < 1) fail(`radius: expected a positive integer, got ${show(args[0]!)}`);
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
      if (!/^-?\d+$/.test(args[0]!) || n % 90 !== 0) fail(`expected a multiple of 90, got ${show(args[0]!)}`);
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
      f.bg = colour(args[0]!, fail);
      f.fill = true;
      return;
    }
    case 'background_color':
      arity(1, 1, 'color');
      f.bg = colour(args[0]!, fail);
      return;
    case 'watermark':
      f.wm = watermark(args, fail);
      return;
    case 'focal': {
      arity(1, 1, 'AxB:CxD');
      if (!/^\d+x\d+:\d+x\d+$/.test(args[0]!)) fail(`expected AxB:CxD, got ${show(args[0]!)}`);
      f.focal = args[0]!;
      return;
    }
    case 'max_bytes':
      return fail('kinu does not re-encode to a byte budget; set quality() instead');
    default:
      return fail(`not supported by kinu; supported: ${THUMBOR_FILTERS.filter((x) => x !== 'max_bytes').join(', ')}`);
  }
}

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

const EDGE_X: Record<string, 'left' | 'right' | undefined> = {
  0: 'left',
  '0p': 'left',
  '-0': 'right',
  '-0p': 'right',
  center: undefined,
};
const EDGE_Y: Record<string, 'top' | 'bottom' | undefined> = {
  0: 'top',
  '0p': 'top',
  '-0': 'bottom',
  '-0p': 'bottom',
  center: undefined,
};

/** watermark(key,x,y,alpha[,w_ratio[,h_ratio]]), where x and y put the mark flush at an edge or centred. */
function watermark(args: string[], fail: (why: string) => never): NonNullable<Filters['wm']> {
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
  if (!Object.hasOwn(EDGE_X, x))
    fail(`x: kinu places a watermark flush at an edge or centred: 0, -0 or center, got ${show(x)}`);
  if (!Object.hasOwn(EDGE_Y, y))
    fail(`y: kinu places a watermark flush at an edge or centred: 0, -0 or center, got ${show(y)}`);
  const n = Number(alpha);
  if (!UINT.test(alpha) || n > 100) fail(`alpha: expected transparency 0–100, got ${show(alpha)}`);
  if (hRatio !== 'none')
    fail(`h_ratio: kinu scales a watermark by the output's width only; use none, got ${show(hRatio)}`);
  const scale = wRatio === 'none' ? undefined : Number(wRatio);
  if (scale !== undefined && (!UINT.test(wRatio) || scale < 1 || scale > 100))
    fail(`w_ratio: expected 1–100 (percent of the width) or none, got ${show(wRatio)}`);
  const ex = EDGE_X[x];
  const ey = EDGE_Y[y];
  const gravity = (ex && ey ? `${ey}-${ex}` : (ex ?? ey ?? 'center')) as Gravity;
  return {
    wm,
    wm_pos: gravity,
    wm_opacity: (100 - n) / 100,
    ...(scale === undefined ? {} : { wm_scale: scale / 100 }),
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
