// The native dialect: GET /<key>?<params>. Raw URL in, { key, transform } out, or a typed error.
import { clip, KinuError, quoted } from '../errors.ts';
import { IDENTITY, type Transform } from '../transform.ts';
import { decodeKey } from './key.ts';
import { isParamName, PARAM_NAMES, PARAMS, type ParamName, type ParamValues } from './params.ts';
import { signedMessage, splitSig, verify } from './sign.ts';

export interface NativeOptions {
  /** Path prefix the dialect is mounted under, without a trailing slash ('' for `/`). */
  readonly prefix: string;
  /** Signing secrets; empty means unsigned mode. */
  readonly secrets: readonly string[];
  /** Preset name → validated params. */
  readonly presets: Readonly<Record<string, ParamValues>>;
  /** KINU_ORIGINALS=signed: with secrets set, a URL without params needs `sig` too (otherwise it is exempt). */
  readonly signOriginals?: boolean;
}

export interface ParsedRequest {
  key: string;
  /** null: no params, the original is asked for. */
  transform: Transform | null;
  /**
   * Content-Disposition asked for (imgproxy `fn`/`att`): the filename without its extension (the response's
   * format gives that). Per request, outside the Transform, so it is no part of the cache key: the route sets it
   * (and fast-hit) set it on a 200.
   */
  disposition?: { readonly type: 'inline' | 'attachment'; readonly stem: string };
  /**
   * Seconds the answer may be cached (thumbor `max_age()`): per request as `disposition` is, no part of the cache
   * key. Fast-hit leaves such a request to the route, which sets Cache-Control from it (0: not to be cached).
   */
  maxAge?: number;
}

export function parseNative(rawUrl: string, opts: NativeOptions): ParsedRequest {
  const q = rawUrl.indexOf('?');
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const rawQuery = q < 0 ? '' : rawUrl.slice(q + 1);
  const { rest, sigs } = splitSig(rawQuery);

  if (opts.secrets.length > 0 && (rest.length > 0 || sigs.length > 0 || opts.signOriginals)) {
    if (sigs.length === 0) throw new KinuError('bad_signature', 'sig: missing; this server only answers signed URLs');
    if (sigs.length > 1) throw new KinuError('bad_signature', 'sig: given more than once');
    if (!verify(opts.secrets, signedMessage(rawPath, rest), sigs[0]!))
      throw new KinuError('bad_signature', 'sig: does not match this URL');
  }

  if (!rawPath.startsWith(`${opts.prefix}/`))
    throw new KinuError('invalid_key', `key: path must start with ${opts.prefix}/`);
  const key = decodeKey(rawPath.slice(opts.prefix.length + 1));
  if (rest.length === 0) return { key, transform: null };

  const given = parseParams(rest);
  let values = given;
  if (given.preset !== undefined) {
    // Own properties only: `constructor` or `__proto__` must not find Object.prototype's.
    const preset = Object.hasOwn(opts.presets, given.preset) ? opts.presets[given.preset] : undefined;
    if (!preset)
      throw invalid(
        'preset',
        given.preset,
        `one of: ${Object.keys(opts.presets).join(', ') || '(no presets configured)'}`,
      );
    values = { ...preset, ...given };
  }
  return { key, transform: toTransform(values) };
}

/** Parse `k=v` segments strictly: unknown, repeated, empty or invalid params are a 400 naming the param. */
export function parseParams(segments: readonly string[]): ParamValues {
  const out = new Map<ParamName, unknown>();
  for (const seg of segments) {
    const eq = seg.indexOf('=');
    const name = eq < 0 ? seg : seg.slice(0, eq);
    let raw: string;
    try {
      raw = decodeURIComponent(eq < 0 ? '' : seg.slice(eq + 1));
    } catch {
      throw new KinuError('invalid_param', `${clip(name, 32)}: malformed percent-encoding`);
    }
    if (name === '') throw new KinuError('invalid_param', 'empty parameter name in query');
    if (!isParamName(name))
      throw new KinuError('invalid_param', `${clip(name, 32)}: unknown parameter; known: ${PARAM_NAMES.join(', ')}`);
    if (out.has(name)) throw new KinuError('invalid_param', `${name}: given more than once`);
    if (raw === '') throw invalid(name, raw, PARAMS[name].values);
    out.set(name, parsedValue(name, raw));
  }
  return Object.fromEntries(out) as ParamValues;
}

// Values repeat across URLs that differ elsewhere (w=400, fmt=webp, q=80), and a zod parse of one costs
// 10–20 µs on a 2-core VM: what parsed to a number, boolean or string is remembered per param (objects are not,
// so no request can change another's). Bounded: a map that fills up starts again.
const PARSED = new Map<ParamName, Map<string, unknown>>();
const PARSED_MAX = 1024;
function parsedValue(name: ParamName, raw: string): unknown {
  let seen = PARSED.get(name);
  const known = seen?.get(raw);
  if (known !== undefined) return known;
  const r = PARAMS[name].schema.safeParse(raw);
  if (!r.success) throw invalid(name, raw, PARAMS[name].values);
  const v = r.data;
  if (v !== null && typeof v !== 'object' && v !== undefined) {
    if (!seen) PARSED.set(name, (seen = new Map()));
    else if (seen.size >= PARSED_MAX) seen.clear();
    seen.set(raw, v);
  }
  return v;
}

function invalid(name: ParamName, raw: string, expected: string): KinuError {
  return new KinuError('invalid_param', `${name}: expected ${expected}, got ${quoted(raw)}`);
}

/** Validated native params → the canonical Transform; every dialect funnels through here. */
export function toTransform(p: ParamValues): Transform {
  for (const dep of ['wm_pos', 'wm_opacity', 'wm_scale'] as const) {
    if (p[dep] !== undefined && p.wm === undefined) throw new KinuError('invalid_param', `${dep}: needs wm`);
  }
  const dpr = p.dpr ?? 1;
  const scale = (v: number | undefined) => (v === undefined ? undefined : Math.max(1, Math.round(v * dpr)));
  const width = scale(p.w);
  const height = scale(p.h);
  // Settings that cannot change the result are dropped, so equal outputs share one cache key: fit needs both
  // sides of the box; pos needs cover, or contain with a gravity (contain centres focal/attention/entropy).
  const boxed = width !== undefined && height !== undefined;
  const fit = boxed ? (p.fit ?? IDENTITY.fit) : IDENTITY.fit;
  const pos = p.pos ?? IDENTITY.position;
  const position =
    boxed && (fit === 'cover' || (fit === 'contain' && pos.kind === 'gravity')) ? pos : IDENTITY.position;
  const crop = p.crop ? { x: p.crop[0]!, y: p.crop[1]!, width: p.crop[2]!, height: p.crop[3]! } : undefined;
  return {
    ...IDENTITY,
    width,
    height,
    fit,
    position,
    enlarge: width !== undefined || height !== undefined ? (p.enlarge ?? false) : false,
    crop,
    format: p.fmt,
    quality: p.q,
    // Kept even when white: the default padding of formats with alpha is transparent, not white.
    background: p.bg,
    blur: p.blur,
    sharpen: p.sharpen,
    rotate: p.rot ?? 0,
    flipH: p.flip === 'h' || p.flip === 'hv',
    flipV: p.flip === 'v' || p.flip === 'hv',
    animated: p.anim ?? true,
    trim: p.trim,
    pad: p.pad?.some((v) => v > 0) ? p.pad : undefined,
    watermark: p.wm
      ? { key: p.wm, gravity: p.wm_pos ?? 'bottom-right', opacity: p.wm_opacity ?? 1, scale: p.wm_scale }
      : undefined,
    gray: p.gray ?? false,
    pixelate: p.pixelate,
  };
}
