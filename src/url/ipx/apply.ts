// ipx's modifiers → kinu's Transform, following what ipx.ts does with them: handlers with `order: -1` (quality,
// fit, position, background) fill a context in the URL's order, the others call sharp sorted by name. Sharp's
// resize() replaces the previous one, so of w/width, h/height and s/resize the last in name order wins
// (`w_200&h_100` is 200 wide, proportional); `s` alone takes fit, position, background and kernel.
import { KinuError } from '../../errors.ts';
import { MAX_SIDE, type OutputFormat } from '../../formats.ts';
import {
  type Gravity,
  IDENTITY,
  KERNELS,
  type Kernel,
  type Position,
  type Rgba,
  type SharpOps,
  type Transform,
} from '../../transform.ts';
import { parseColour } from '../colours.ts';
import { toTransform } from '../native.ts';
import type { ParamValues } from '../params.ts';
import { CONTEXT_FIRST, colour, invalid, IPX_MODIFIERS, position, REFUSED, requireNumber } from './modifiers.ts';

type Handler = (typeof IPX_MODIFIERS)[keyof typeof IPX_MODIFIERS];

// sharp's default background for resize, extend, rotate and flatten, and what libvips flattens JPEG onto.
const BLACK: Rgba = { r: 0, g: 0, b: 0, alpha: 1 };
const FITS = ['cover', 'contain', 'fill', 'inside', 'outside'] as const;
const SIDE = { min: 1, max: MAX_SIDE, integer: true };
// ipx 3.1's SUPPORTED_FORMATS that kinu writes; its others (tiff, heif, heic) are refused, unknown ones ignored.
const FORMATS: Readonly<Record<string, OutputFormat | null>> = {
  jpeg: 'jpeg',
  jpg: 'jpeg',
  png: 'png',
  webp: 'webp',
  avif: 'avif',
  gif: 'gif',
  tiff: null,
  heif: null,
  heic: null,
};

type Resize = { by: 'width'; width: number } | { by: 'height'; height: number } | { by: 'box'; w: number; h: number };

/** `null` when nothing ipx would act on is given: the original, which ipx would only re-encode. */
export function ipxTransform(modifiers: ReadonlyMap<string, string>): Transform | null {
  const given = [...modifiers].filter(([name]) => Object.hasOwn(IPX_MODIFIERS, name));
  if (given.length === 0) return null;
  for (const [name] of given) {
    const why = REFUSED.get(IPX_MODIFIERS[name as keyof typeof IPX_MODIFIERS]);
    if (why) throw new KinuError('invalid_param', `${name}: ${why}`);
  }
  const value = (n: string) => modifiers.get(n);

  // The context handlers, in the URL's order: a later alias overrides an earlier one.
  const ctx: {
    fit?: [string, string];
    position?: [string, string];
    background?: [string, string];
    q?: [string, string];
  } = {};
  for (const [name, v] of given) {
    const h = IPX_MODIFIERS[name as keyof typeof IPX_MODIFIERS] as Handler;
    if (!CONTEXT_FIRST.has(h)) continue;
    ctx[h === 'quality' ? 'q' : (h as 'fit' | 'position' | 'background')] = [name, v];
  }
  // The sharp calls, by name: crop < enlarge < extend < extract < flip < flop < h < height < kernel < resize
  // < rotate < s < w < width. Every call is checked (sharp throws even for one a later call replaces).
  const sorted = given
    .filter(([name]) => !CONTEXT_FIRST.has(IPX_MODIFIERS[name as keyof typeof IPX_MODIFIERS]))
    .sort(([a], [b]) => a.localeCompare(b));
  const enlarge = modifiers.has('enlarge');
  let resize: Resize | undefined;
  let boxCalled = false;
  let rotateSeen = false;
  let rotateBefore = false;
  let crop: [number, number, number, number] | undefined;
  const p: ParamValues = {};
  const t: Partial<Transform> = {};
  const ops: SharpOps = {};
  let rotation = 0;
  for (const [name, v] of sorted) {
    switch (IPX_MODIFIERS[name as keyof typeof IPX_MODIFIERS] as Handler) {
      case 'width':
        resize = { by: 'width', width: requireNumber(name, v, 0, SIDE) };
        if (rotateSeen) rotateBefore = true;
        break;
      case 'height':
        resize = { by: 'height', height: requireNumber(name, v, 0, SIDE) }; // always before rotate
        break;
      case 'resize': {
        // String(destr(v)).split('x').map(Number): no width is no call; no height is a square.
        const [w, h] = (v.split('_')[0] ?? '').split('x').map(Number);
        if (!w) break;
        const box = `${w}x${h || w}`;
        if (!Number.isInteger(w) || w < 1 || w > MAX_SIDE || (h && (!Number.isInteger(h) || h < 1 || h > MAX_SIDE)))
          throw invalid(name, `WIDTHxHEIGHT, integers 1–${MAX_SIDE}`, box);
        resize = { by: 'box', w, h: h || w };
        boxCalled = true;
        if (rotateSeen) rotateBefore = true;
        break;
      }
      case 'kernel':
        break; // checked below: only s/resize hands it to sharp
      case 'extract': {
        if (crop) throw new KinuError('invalid_param', `${name}: give one of crop and extract, not both`);
        const [left, top, width, height] = [0, 1, 2, 3].map((i) =>
          requireNumber(name, v, i, { min: i < 2 ? 0 : 1, max: 100000, integer: true }),
        ) as [number, number, number, number];
        crop = [left, top, width, height];
        break;
      }
      case 'extend': {
        // ipx passes {top, right, bottom, left}: a side not given is not extended.
        const sides = [0, 1, 2, 3].map((i) =>
          v.split('_')[i] === undefined ? 0 : requireNumber(name, v, i, { min: 0, max: 4096, integer: true }),
        );
        p.pad = sides as [number, number, number, number];
        t.background = background(ctx.background);
        break;
      }
      case 'rotate': {
        const angle = requireNumber(name, v, 0, { min: -1e6, max: 1e6 });
        if (angle % 90 !== 0)
          throw new KinuError('invalid_param', `${name}: kinu rotates by multiples of 90 only, got ${angle}`);
        rotation = ((angle % 360) + 360) % 360;
        rotateSeen = rotation !== 0;
        break;
      }
      case 'flip':
        p.flip = p.flip === 'h' ? 'hv' : 'v';
        break;
      case 'flop':
        p.flip = p.flip === 'v' ? 'hv' : 'h';
        break;
      case 'blur':
        p.blur = requireNumber(name, v, 0, { min: 0.3, max: 100 });
        break;
      case 'sharpen': {
        p.sharpen = requireNumber(name, v, 0, { min: 0.5, max: 10 });
        // sharpen(sigma, flat, jagged): kinu sharpens with sharp's default flat 1 and jagged 2.
        const [flat, jagged] = [v.split('_')[1], v.split('_')[2]];
        if ((flat !== undefined && Number(flat) !== 1) || (jagged !== undefined && Number(jagged) !== 2))
          throw new KinuError('invalid_param', `${name}: kinu sharpens with flat 1 and jagged 2 only, got ${v}`);
        break;
      }
      case 'trim':
        // ipx documents trim=threshold (sharp's default 10); ipx 3.1 on sharp 0.34 fails on it (see README).
        p.trim = v === '' ? 10 : requireNumber(name, v, 0, { min: 0, max: 255, integer: true });
        break;
      case 'flatten':
        t.flattenAlways = true;
        t.background = background(ctx.background);
        break;
      case 'grayscale':
        p.gray = true;
        break;
      // sharp's own checks on what ipx passes it (only the arguments its handler reads): a missing argument
      // arrives as '', which sharp rejects.
      case 'gamma': {
        const g = requireNumber(name, v, 0, { min: 1, max: 3 });
        ops.gamma = [g, v.split('_')[1] === undefined ? g : requireNumber(name, v, 1, { min: 1, max: 3 })];
        break;
      }
      case 'median':
        ops.median = requireNumber(name, v, 0, { min: 1, max: 1000, integer: true });
        break;
      case 'threshold':
        ops.threshold = requireNumber(name, v, 0, { min: 0, max: 255, integer: true });
        break;
      case 'normalize':
        ops.normalise = true;
        break;
      case 'negate':
        ops.negate = true;
        break;
      case 'tint':
        ops.tint = tint(name, v);
        break;
      case 'enlarge':
      case 'format':
      case 'animated':
        break; // read below
    }
  }
  if (rotateBefore && crop)
    throw new KinuError(
      'invalid_param',
      'crop: with rotate and w or s, sharp cuts the rotated image; kinu cuts the original: rotate after a crop with h only, or crop in the original',
    );
  if (crop) p.crop = crop;
  if (ops.gamma && (rotation || p.flip))
    throw new KinuError(
      'invalid_param',
      "gamma: with rotate, flip or flop kinu turns the resized image before gamma's darkening, which sharp applies before the resize",
    );
  if (Object.keys(ops).length > 0) t.sharpOps = ops;

  if (resize?.by === 'width') p.w = resize.width;
  if (resize?.by === 'height') p.h = resize.height;
  if (boxCalled) {
    // s/resize hands sharp the context (validated even when a later w replaces its size).
    const fit = ctx.fit ? fitOf(ctx.fit) : 'cover';
    const pos = ctx.position ? position(ctx.position[0], ctx.position[1]) : undefined;
    t.background = background(ctx.background);
    const kernel = kernelOf(modifiers.get('kernel'));
    if (kernel !== 'lanczos3') t.kernel = kernel;
    if (resize?.by === 'box') {
      p.w = resize.w;
      p.h = resize.h;
      p.fit = fit;
      if (pos) p.pos = fromFinalFrame(pos, rotation, p.flip);
    }
  }
  p.enlarge = enlarge || resize?.by === 'box';
  if (rotation) p.rot = rotation as 90 | 180 | 270;
  // ipx mirrors before it rotates, kinu after: a quarter turn swaps which mirror that is.
  if ((rotation === 90 || rotation === 270) && (p.flip === 'h' || p.flip === 'v')) p.flip = p.flip === 'h' ? 'v' : 'h';

  const q = ctx.q && requireNumber(ctx.q[0], ctx.q[1], 0, { min: 1, max: 100, integer: true });
  if (q) p.q = q;

  const animated = modifiers.has('a') || modifiers.has('animated');
  const format = outputFormat(value('f') || value('format'));
  if (format === 'auto') p.fmt = 'auto';
  else if (format) p.fmt = format;
  // ipx loads every frame only with `animated`, or when it writes GIF (the source's format included).
  p.anim = animated || format === 'gif' || format === undefined;

  const out: Transform = {
    ...toTransform(p),
    ...t,
    background: t.background ?? BLACK,
  };
  if (resize?.by === 'box' && !enlarge) out.boxInSource = true;
  if (format === 'auto') {
    // ipx's server negotiates AVIF, then WebP (WebP, then GIF with `animated`) from Accept.
    out.autoFormats = animated ? ['webp'] : ['avif', 'webp'];
    out.autoFallback = 'source';
  }
  return out.width === undefined && out.height === undefined && equalsIdentity(out) ? null : out;
}

// sharp cuts and places (cover, contain) after it mirrors and rotates, so ipx's position names a side of the
// output; kinu resizes first, so it names the side of the original that ends up there.
const GRAVITY_XY: Readonly<Record<Gravity, readonly [number, number]>> = {
  center: [0, 0],
  top: [0, -1],
  bottom: [0, 1],
  left: [-1, 0],
  right: [1, 0],
  'top-left': [-1, -1],
  'top-right': [1, -1],
  'bottom-left': [-1, 1],
  'bottom-right': [1, 1],
};
function fromFinalFrame(pos: Position, rotation: number, flip: ParamValues['flip']): Position {
  if (pos.kind !== 'gravity') return pos;
  let [x, y] = GRAVITY_XY[pos.gravity];
  for (let r = 0; r < rotation; r += 90) [x, y] = [y, -x]; // undo a clockwise quarter turn
  if (flip === 'v' || flip === 'hv') y = -y;
  if (flip === 'h' || flip === 'hv') x = -x;
  const gravity = (Object.keys(GRAVITY_XY) as Gravity[]).find(
    (g) => GRAVITY_XY[g][0] === x + 0 && GRAVITY_XY[g][1] === y + 0,
  )!;
  return { kind: 'gravity', gravity };
}

function background(given: [string, string] | undefined): Rgba {
  return given ? colour(given[0], given[1]) : BLACK;
}

function fitOf([name, v]: [string, string]): (typeof FITS)[number] {
  const fit = v.split('_')[0]!;
  if (!(FITS as readonly string[]).includes(fit)) throw invalid(name, FITS.join(', '), fit);
  return fit as (typeof FITS)[number];
}

// The kernel stays with sharp's resize options once `s` set it, even when a later `w` or `width` replaces the size.
function kernelOf(v: string | undefined): Kernel | undefined {
  if (v === undefined) return undefined;
  const k = v.split('_')[0]!;
  if (!(KERNELS as readonly string[]).includes(k)) throw invalid('kernel', KERNELS.join(', '), k);
  return k as Kernel;
}

// sharp's tint() reads the value with the color package: CSS names (lower case), `transparent`, `#` and 3, 4, 6 or
// 8 hex digits (the `#` written %23 in a path). Hex without `#` fails in sharp; alpha is ignored by the tint.
function tint(modifier: string, v: string): readonly [number, number, number] {
  const first = v.split('_')[0]!;
  const hex = /^#([\da-f]{3,4}|[\da-f]{6}|[\da-f]{8})$/i.test(first);
  const word = /^[a-z]+$/.test(first) && !/^[\da-f]+$/.test(first); // a word that is not hex digits
  const c = hex || word ? parseColour(hex ? first.slice(1) : first) : undefined;
  if (!c) throw invalid(modifier, "a CSS colour name or '#' and hex RGB (%23 in a path)", first);
  return [c.r, c.g, c.b];
}

function outputFormat(f: string | undefined): OutputFormat | 'auto' | undefined {
  if (!f) return undefined;
  if (f === 'auto') return 'auto';
  if (!Object.hasOwn(FORMATS, f)) return undefined; // ipx writes the source's format
  const out = FORMATS[f];
  if (out === null) throw new KinuError('invalid_param', `f: kinu does not write ${f.toUpperCase()}`);
  return out;
}

// Only the black background ipx always carries, nothing else: the original is what ipx would re-encode.
function equalsIdentity(t: Transform): boolean {
  return (Object.keys(IDENTITY) as (keyof Transform)[]).every(
    (k) => k === 'background' || k === 'enlarge' || t[k] === IDENTITY[k],
  );
}
