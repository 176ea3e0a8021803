// A CSS colour as Cloudflare's `background` and `trim.border.color` take it: `#RRGGBB` (sent as `%23RRGGBB`),
// names, and the rgb()/rgba() functions in the legacy comma form and CSS Color 4's space form with `/ alpha`.
import type { Rgba } from '../../transform.ts';
import { parseColour } from '../colours.ts';

const NUMBER = String.raw`[+-]?(?:\d+(?:\.\d*)?|\.\d+)`;
const FUNCTION = new RegExp(
  String.raw`^rgba?\(\s*(${NUMBER}%?)(?:\s*,\s*|\s+)(${NUMBER}%?)(?:\s*,\s*|\s+)(${NUMBER}%?)(?:(?:\s*[,/]\s*|\s+)(${NUMBER}%?))?\s*\)$`,
  'i',
);

/** A CSS colour → Rgba (alpha rounded to 3 places, as every dialect's), or undefined if it is none. */
export function cssColour(s: string): Rgba | undefined {
  if (s.startsWith('#')) return /^#[0-9a-fA-F]+$/.test(s) ? parseColour(s.slice(1)) : undefined;
  const m = FUNCTION.exec(s);
  if (!m) return /^[a-zA-Z]+$/.test(s) ? parseColour(s) : undefined;
  const channel = (v: string) => clamp(v.endsWith('%') ? (parseFloat(v) * 255) / 100 : parseFloat(v), 255);
  const a = m[4];
  // CSS clamps out-of-range components; alpha is 0–1 or a percentage.
  const alpha = a === undefined ? 1 : clamp(a.endsWith('%') ? parseFloat(a) / 100 : parseFloat(a), 1);
  return {
    r: Math.round(channel(m[1]!)),
    g: Math.round(channel(m[2]!)),
    b: Math.round(channel(m[3]!)),
    alpha: Math.round(alpha * 1000) / 1000,
  };
}

const clamp = (v: number, max: number) => Math.min(max, Math.max(0, v));
