// The native params, as one table: it drives the parser, the 400 messages and the README's URL reference.
import { z } from 'zod';
import { AUTO_QUALITIES, FITS, GRAVITIES, type Gravity, type Position, type Rgba } from '../transform.ts';
import { FORMAT_TABLE, FORMATS, OUTPUT_FORMATS } from '../formats.ts';
import { validateKey } from './key.ts';

export interface ParamRow<T> {
  readonly values: string;
  readonly doc: string;
  readonly example: string;
  readonly schema: z.ZodType<T, string>;
}

const row = <T>(schema: z.ZodType<T, string>, values: string, doc: string, example: string): ParamRow<T> => ({
  schema,
  values,
  doc,
  example,
});

const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,6}$/)
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
const dec = (min: number, max: number, places = 2) =>
  z
    .string()
    .regex(new RegExp(`^\\d{1,4}(\\.\\d{1,${places}})?$`))
    .transform(Number)
    .pipe(z.number().min(min).max(max));
const flag = z.enum(['0', '1']).transform((v) => v === '1');
const list = (n: readonly number[], item: z.ZodType<number, string>) =>
  z.string().transform((s, ctx) => {
    const parts = s.split(',');
    if (!n.includes(parts.length)) {
      ctx.addIssue({ code: 'custom', message: 'count' });
      return z.NEVER;
    }
    const out: number[] = [];
    for (const p of parts) {
      const r = item.safeParse(p);
      if (!r.success) {
        ctx.addIssue({ code: 'custom', message: 'item' });
        return z.NEVER;
      }
      out.push(r.data);
    }
    return out;
  });

const gravity = z.enum(GRAVITIES);
const unit = dec(0, 1, 4);
const position = z.string().transform((s, ctx): Position => {
  if (s === 'attention' || s === 'entropy') return { kind: s };
  const g = gravity.safeParse(s);
  if (g.success) return { kind: 'gravity', gravity: g.data };
  const xy = list([2], unit).safeParse(s);
  if (xy.success) return { kind: 'focal', x: xy.data[0]!, y: xy.data[1]! };
  ctx.addIssue({ code: 'custom', message: 'pos' });
  return z.NEVER;
});
const colour = z
  .string()
  .regex(/^([0-9a-fA-F]{6}|[0-9a-fA-F]{8})$/)
  .transform(
    (s): Rgba => ({
      r: parseInt(s.slice(0, 2), 16),
      g: parseInt(s.slice(2, 4), 16),
      b: parseInt(s.slice(4, 6), 16),
      alpha: s.length === 8 ? Math.round((parseInt(s.slice(6, 8), 16) / 255) * 1000) / 1000 : 1,
    }),
  );
const objectKey = z.string().transform((s, ctx) => {
  try {
    return validateKey(s);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'key' });
    return z.NEVER;
  }
});

const gravityList = GRAVITIES.join(' · ');

const qualities = OUTPUT_FORMATS.filter((f) => FORMATS[f].quality !== undefined).map(
  (f) => `${FORMAT_TABLE[f].label} ${FORMATS[f].quality}`,
);
const ignoresQ = OUTPUT_FORMATS.filter((f) => FORMATS[f].quality === undefined).map((f) => FORMAT_TABLE[f].label);

/** Largest `w` and `h`, in CSS pixels; the output, after `dpr`, is held to MAX_SIDE (formats.ts) as well. */
export const MAX_PARAM_SIDE = 8192;

export const PARAMS = {
  w: row(int(1, MAX_PARAM_SIDE), `integer 1–${MAX_PARAM_SIDE}`, 'target width in CSS pixels', 'w=400'),
  h: row(int(1, MAX_PARAM_SIDE), `integer 1–${MAX_PARAM_SIDE}`, 'target height in CSS pixels', 'h=300'),
  dpr: row(dec(1, 4), '1–4, up to 2 decimals', 'device pixel ratio: multiplies `w` and `h`', 'w=400&dpr=2'),
  fit: row(
    z.enum(FITS),
    FITS.join(' · '),
    'how the image fills the `w`×`h` box, as CSS `object-fit` (default `cover`)',
    'w=400&h=400&fit=contain',
  ),
  pos: row(
    position,
    `${gravityList} · attention · entropy · X,Y (0–1 each)`,
    'what `cover` keeps, or where `contain` places the image (default `center`); `X,Y` is a focal point',
    'w=400&h=400&pos=0.3,0.6',
  ),
  enlarge: row(flag, '0 · 1', 'allow output larger than the source (default 0)', 'w=4000&enlarge=1'),
  crop: row(
    list([4], int(0, 100000)).refine((v) => v[2]! > 0 && v[3]! > 0),
    'X,Y,W,H integers (W,H ≥ 1)',
    'cut this region first, in source pixels after auto-orient',
    'crop=100,50,800,600',
  ),
  fmt: row(
    z.enum([...OUTPUT_FORMATS, 'auto', 'best', 'json']),
    `auto · best · ${OUTPUT_FORMATS.join(' · ')} · json`,
    "output format (default: the source's; JPEG or PNG for formats browsers cannot show); `auto` picks from `Accept`; `best` encodes each format `Accept` allows and keeps the smallest meeting `q=auto`'s target",
    'fmt=auto',
  ),
  q: row(
    z.union([z.enum(AUTO_QUALITIES), int(1, 100)]),
    `integer 1–100 · ${AUTO_QUALITIES.join(' · ')}`,
    `quality (defaults: ${qualities.join(', ')}; ignored by ${ignoresQ.join(' and ')}); \`auto\` picks per image the lowest meeting a SSIMULACRA 2 target (\`X-Kinu-Quality\` tells which)`,
    'q=70',
  ),
  bg: row(
    colour,
    'RRGGBB · RRGGBBAA',
    'padding colour for `contain`/`pad`, and what alpha is flattened onto for JPEG (default white)',
    'bg=ff8800',
  ),
  blur: row(dec(0.3, 100), '0.3–100', 'Gaussian blur sigma', 'blur=5'),
  sharpen: row(dec(0.5, 10), '0.5–10', 'sharpen sigma', 'sharpen=1'),
  rot: row(
    z.enum(['0', '90', '180', '270']).transform((v) => Number(v) as 0 | 90 | 180 | 270),
    '0 · 90 · 180 · 270',
    'rotate clockwise, after auto-orient; `w`/`h` apply to the rotated image',
    'rot=90',
  ),
  flip: row(z.enum(['h', 'v', 'hv']), 'h · v · hv', 'mirror horizontally, vertically or both', 'flip=h'),
  anim: row(
    flag,
    '0 · 1',
    'keep animation where the output format can animate (default 1); `0` keeps the first frame only',
    'anim=0',
  ),
  trim: row(
    int(0, 255),
    'integer 0–255',
    'cut a uniform border first (colour distance); disables shrink-on-load',
    'trim=10',
  ),
  pad: row(
    list([1, 4], int(0, 4096)).transform(
      (v) => (v.length === 1 ? [v[0]!, v[0]!, v[0]!, v[0]!] : v) as [number, number, number, number],
    ),
    'T or T,R,B,L integers 0–4096',
    'padding after resize in output pixels (CSS order), filled with `bg`',
    'pad=10,20,10,20',
  ),
  wm: row(objectKey, 'a key in the source', 'watermark image, composited after resize', 'wm=logo.png'),
  wm_pos: row(gravity, gravityList, 'where the watermark goes (default `bottom-right`)', 'wm=logo.png&wm_pos=top-left'),
  wm_opacity: row(unit, '0–1', 'watermark opacity (default 1)', 'wm=logo.png&wm_opacity=0.5'),
  wm_scale: row(
    unit.refine((v) => v > 0),
    '0–1 (above 0)',
    'watermark width as a fraction of the output width (default: its own size)',
    'wm=logo.png&wm_scale=0.2',
  ),
  gray: row(flag, '0 · 1', 'greyscale', 'gray=1'),
  pixelate: row(int(2, 100), 'integer 2–100', 'pixelate with blocks of this many output pixels', 'pixelate=12'),
  preset: row(
    z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/),
    'a name from config',
    'a named param set (`KINU_PRESETS`); params given beside it override its values',
    'preset=thumb',
  ),
  sig: row(
    z.string().regex(/^[A-Za-z0-9_-]{43}$/),
    'base64url, no padding',
    'HMAC-SHA256 signature, required when signing is on',
    'sig=…',
  ),
} as const;

export type ParamName = keyof typeof PARAMS;
export type ParamValues = { -readonly [K in ParamName]?: z.output<(typeof PARAMS)[K]['schema']> };

export const PARAM_NAMES = Object.keys(PARAMS) as ParamName[];

export function isParamName(s: string): s is ParamName {
  return Object.hasOwn(PARAMS, s);
}

export type { Gravity };
