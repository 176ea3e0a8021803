// ipx 3.1's modifiers (its handlers.ts table and the format/animated names ipx.ts reads) and its argument rules:
// each value is split on `_` and every part read as destr reads it (numbers become numbers), then checked as
// sharp 0.34 checks the call ipx makes. What sharp would refuse (ipx answers 500) is a 400 naming the modifier.
import { KinuError, quoted } from '../../errors.ts';
import type { Gravity, Position, Rgba } from '../../transform.ts';
import { parseColour } from '../colours.ts';

/** Every name ipx acts on, alias → the handler it shares. Other names are ignored, as ipx ignores them. */
export const IPX_MODIFIERS = {
  w: 'width',
  width: 'width',
  h: 'height',
  height: 'height',
  s: 'resize',
  resize: 'resize',
  enlarge: 'enlarge',
  kernel: 'kernel',
  fit: 'fit',
  pos: 'position',
  position: 'position',
  b: 'background',
  background: 'background',
  trim: 'trim',
  extend: 'extend',
  extract: 'extract',
  crop: 'extract',
  rotate: 'rotate',
  flip: 'flip',
  flop: 'flop',
  sharpen: 'sharpen',
  median: 'median',
  blur: 'blur',
  flatten: 'flatten',
  gamma: 'gamma',
  negate: 'negate',
  normalize: 'normalize',
  threshold: 'threshold',
  modulate: 'modulate',
  tint: 'tint',
  grayscale: 'grayscale',
  q: 'quality',
  quality: 'quality',
  f: 'format',
  format: 'format',
  a: 'animated',
  animated: 'animated',
} as const;

/** Refused with why: ipx 3.1 hands sharp modulate({brightness, saturation: undefined, hue: undefined}), which
 *  sharp 0.34 rejects, so every modulate URL is a 500 from ipx itself. */
export const REFUSED: ReadonlyMap<string, string> = new Map([
  ['modulate', 'ipx 3.1 answers 500 to every modulate (it passes sharp no saturation, which sharp rejects)'],
]);

/** Handlers ipx runs first, in the URL's order (their `order: -1`); the rest run sorted by name. */
export const CONTEXT_FIRST = new Set(['quality', 'fit', 'position', 'background']);

export const invalid = (name: string, expected: string, raw: string) =>
  new KinuError('invalid_param', `${name}: expected ${expected}, got ${quoted(raw)}`);

// destr turns these into numbers; anything else stays a string that sharp then refuses.
const NUMBER = /^-?\d{1,16}(\.\d{1,17})?([Ee][+-]?\d+)?$/;

/** The i-th `_`-separated argument as destr reads it: a number, or undefined when absent or not numeric. */
export function arg(value: string, i: number): number | undefined {
  const part = value.split('_')[i];
  return part !== undefined && NUMBER.test(part.trim()) ? Number(part) : undefined;
}

/** A numeric argument sharp requires, within kinu's range (`min`–`max`) and, if asked, an integer. */
export function requireNumber(
  name: string,
  value: string,
  i: number,
  { min, max, integer = false }: { min: number; max: number; integer?: boolean },
): number {
  const n = arg(value, i);
  const expected = `${integer ? 'an integer' : 'a number'} ${min}–${max}`;
  if (n === undefined || (integer && !Number.isInteger(n)) || n < min || n > max)
    throw invalid(name, expected, value.split('_')[i] ?? '');
  return n;
}

// sharp's position, gravity and strategy names and numbers (lib/constructor.js, lib/resize.js).
const POSITIONS: Readonly<Record<string, Gravity | 'entropy' | 'attention'>> = {
  center: 'center',
  centre: 'center',
  top: 'top',
  north: 'top',
  right: 'right',
  east: 'right',
  bottom: 'bottom',
  south: 'bottom',
  left: 'left',
  west: 'left',
  'right top': 'top-right',
  northeast: 'top-right',
  'right bottom': 'bottom-right',
  southeast: 'bottom-right',
  'left bottom': 'bottom-left',
  southwest: 'bottom-left',
  'left top': 'top-left',
  northwest: 'top-left',
  entropy: 'entropy',
  attention: 'attention',
};
const BY_NUMBER = ['center', 'top', 'right', 'bottom', 'left', 'right top', 'right bottom', 'left bottom', 'left top'];

export function position(name: string, value: string): Position {
  const first = value.split('_')[0]!;
  const n = arg(value, 0);
  const key = n === undefined ? first : n === 16 ? 'entropy' : n === 17 ? 'attention' : BY_NUMBER[n];
  const p = key !== undefined && Object.hasOwn(POSITIONS, key) ? POSITIONS[key]! : undefined;
  if (p === undefined)
    throw invalid(name, `one of sharp's positions (${Object.keys(POSITIONS).join(', ')}, 0–8, 16, 17)`, first);
  return p === 'entropy' || p === 'attention' ? { kind: p } : { kind: 'gravity', gravity: p };
}

/** sharp's colour strings as ipx hands them over: CSS names, `transparent`, hex with or without `#`. */
export function colour(name: string, value: string): Rgba {
  const first = value.split('_')[0]!;
  const c = parseColour(first.startsWith('#') ? first.slice(1) : first);
  if (!c) throw invalid(name, 'a colour name or hex RGB, RRGGBB (optionally with alpha)', first);
  return c;
}
