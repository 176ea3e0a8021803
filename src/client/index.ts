// kinu/client: builds native kinu URLs for pages, servers and edge functions. No dependencies, no Node
// built-ins imported: it loads as a plain ES module in browsers, Node, Deno and Bun.
//
// URLs are canonical: params in the server's table order, numbers rounded to the precision the server takes,
// so equal params give byte-identical URLs (one CDN cache entry). Signing is `kinu sign`'s scheme:
// sig = base64url(HMAC-SHA256(secret, "<path>?<query>")) over the URL exactly as built.
// Imports name the built files (.js), unlike the server's (.ts): tsc keeps these paths in client/*.d.ts.
import { MAX_SIDE, PARAM_SPEC, type KinuParamName, type KinuParams } from './params.generated.js';
import type { ParamSpec, Range } from './spec.js';

export type { KinuParamName, KinuParams, ParamSpec, Range };
export { MAX_SIDE, PARAM_SPEC };

export interface SignOptions {
  /**
   * The server's `KINU_SECRET` (the first of a comma-separated list, as `kinu sign` takes it). Never put a
   * secret in code that reaches a browser: sign on the server.
   */
  secret?: string;
}

/** Params for `srcset`: the width comes from each candidate, and the height from `ratio`. */
export type SrcsetParams = Omit<KinuParams, 'w' | 'h' | 'dpr'>;

export interface SrcsetOptions extends SignOptions {
  /** Width ÷ height: each candidate gets `h = round(w / ratio)` (with the default `fit=cover`, a crop). */
  ratio?: number;
}

const NAMES = Object.keys(PARAM_SPEC) as KinuParamName[];

function rangeOf(name: 'w' | 'h'): Range {
  const spec = PARAM_SPEC[name];
  if (spec.kind !== 'number') throw new Error(`kinu/client: ${name} is not a number`);
  return spec.range;
}

/** The sizes the server takes: `w` and `h` ranges (CSS pixels) and the largest output side (device pixels). */
export const LIMITS = { width: rangeOf('w'), height: rangeOf('h'), maxSide: MAX_SIDE } as const;

// ---- values ----

const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : String(v));
const describe = (r: Range) =>
  `${r.places === 0 ? 'an integer ' : ''}${r.min}–${r.max}${r.places > 0 ? `, up to ${r.places} decimals` : ''}`;

function number(name: string, r: Range, v: unknown): string {
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new TypeError(`kinu: ${name}: expected a number, got ${show(v)}`);
  const scale = 10 ** r.places;
  const n = Math.round(v * scale) / scale;
  if (n < r.min || n > r.max) throw new RangeError(`kinu: ${name}: expected ${describe(r)}, got ${v}`);
  return String(n);
}

function numbers(name: string, items: readonly Range[], counts: readonly number[], v: unknown): string {
  if (!Array.isArray(v) || !counts.includes(v.length))
    throw new TypeError(
      `kinu: ${name}: expected ${counts.map((c) => (c === 1 ? 'a number' : `${c} numbers`)).join(' or ')}, got ${show(v)}`,
    );
  return v.map((x: unknown, i) => number(`${name}[${i}]`, items[i]!, x)).join(',');
}

function value(name: string, spec: ParamSpec, v: unknown): string {
  switch (spec.kind) {
    case 'number':
      if (typeof v === 'string' && spec.words) {
        if (!spec.words.includes(v))
          throw new RangeError(`kinu: ${name}: expected a number or ${spec.words.join(' · ')}, got ${show(v)}`);
        return v;
      }
      return number(name, spec.range, v);
    case 'enum':
      if (!spec.values.includes(v as string | number))
        throw new RangeError(`kinu: ${name}: expected ${spec.values.join(' · ')}, got ${show(v)}`);
      return String(v);
    case 'flag':
      if (typeof v !== 'boolean') throw new TypeError(`kinu: ${name}: expected true or false, got ${show(v)}`);
      return v ? '1' : '0';
    case 'position':
      if (typeof v === 'string') {
        if (!spec.words.includes(v))
          throw new RangeError(`kinu: ${name}: expected ${spec.words.join(' · ')} or [x, y], got ${show(v)}`);
        return v;
      }
      return numbers(name, spec.items, [spec.items.length], v);
    case 'list':
      if (typeof v === 'number' && spec.counts.includes(1)) return number(name, spec.items[0]!, v);
      return numbers(name, spec.items, spec.counts, v);
    case 'colour': {
      const s = typeof v === 'string' ? v.replace(/^#/, '').toLowerCase() : v;
      if (typeof s !== 'string' || !new RegExp(spec.pattern).test(s))
        throw new RangeError(`kinu: ${name}: expected a hex colour RRGGBB or RRGGBBAA, got ${show(v)}`);
      return s;
    }
    case 'string':
      if (typeof v !== 'string' || !new RegExp(spec.pattern).test(v))
        throw new RangeError(`kinu: ${name}: expected ${spec.pattern}, got ${show(v)}`);
      return encode(v);
    case 'key':
      return encodeKey(name, v);
  }
}

/** Percent-encodes all but RFC 3986's unreserved characters, so no browser or proxy re-encodes what was signed. */
function encode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** A key in the source as a URL path: each segment encoded, `/` kept; one leading `/` is dropped. */
function encodeKey(name: string, key: unknown): string {
  if (typeof key !== 'string') throw new TypeError(`kinu: ${name}: expected a string, got ${show(key)}`);
  const segments = key.replace(/^\//, '').split('/');
  for (const s of segments) {
    // A browser would resolve `.` and `..` away before asking, and the server refuses empty segments.
    if (s === '' || s === '.' || s === '..')
      throw new RangeError(`kinu: ${name}: ${show(key)} has an empty, "." or ".." segment`);
  }
  return segments.map(encode).join('/');
}

// ---- URLs ----

/** The canonical query for these params (no `?`, no `sig`). Unknown params and bad values throw. */
export function kinuQuery(params: KinuParams = {}): string {
  for (const name of Object.keys(params)) {
    if (!Object.hasOwn(PARAM_SPEC, name))
      throw new TypeError(`kinu: ${name}: unknown parameter; known: ${NAMES.join(', ')}`);
  }
  const parts: string[] = [];
  for (const name of NAMES) {
    const v = params[name];
    if (v !== undefined) parts.push(`${name}=${value(name, PARAM_SPEC[name], v)}`);
  }
  return parts.join('&');
}

interface Built {
  origin: string;
  path: string;
  query: string;
}

const BASE = /^((?:[a-z][a-z0-9+.-]*:)?\/\/[^/?#]*)?([^?#]*)$/i;

function build(base: string, key: string, params: KinuParams | undefined): Built {
  const m = BASE.exec(base);
  const basePath = m?.[2] ?? '';
  if (!m || (basePath !== '' && !basePath.startsWith('/'))) {
    throw new TypeError(
      `kinu: base: expected "https://host[/prefix]", "//host" or "/prefix" without query, got ${show(base)}`,
    );
  }
  return {
    origin: m[1] ?? '',
    path: `${basePath.replace(/\/+$/, '')}/${encodeKey('key', key)}`,
    query: kinuQuery(params),
  };
}

const message = (b: Built) => (b.query ? `${b.path}?${b.query}` : b.path);
const joined = (b: Built, sig?: string) => {
  const query = sig === undefined ? b.query : [b.query, `sig=${sig}`].filter(Boolean).join('&');
  return `${b.origin}${b.path}${query ? `?${query}` : ''}`;
};

/** The secret `kinu sign` would use: the first of a comma-separated list, trimmed; 16+ characters. */
function firstSecret(secret: string): string {
  const s = String(secret)
    .split(',')
    .map((x) => x.trim())
    .find(Boolean);
  if (s === undefined || s.length < 16)
    throw new RangeError('kinu: secret: expected 16 or more characters (the server refuses shorter secrets)');
  return s;
}

/**
 * A native kinu URL: `<base>/<key>?<params>`, signed when `secret` is given (with Node's crypto; elsewhere
 * use `kinuUrlAsync`). `base` is the server's origin, with a path prefix if kinu is mounted under one, or ''
 * for a root-relative URL. `key` is the original's key in the source, unencoded (`recipes/my curry.jpg`).
 */
export function kinuUrl(base: string, key: string, params?: KinuParams, options: SignOptions = {}): string {
  const b = build(base, key, params);
  return options.secret === undefined ? joined(b) : joined(b, hmacSync(firstSecret(options.secret), message(b)));
}

/** `kinuUrl`, signed with Web Crypto: browsers (but keep secrets out of them), Deno, Bun, workers, Node. */
export async function kinuUrlAsync(
  base: string,
  key: string,
  params?: KinuParams,
  options: SignOptions = {},
): Promise<string> {
  const b = build(base, key, params);
  return options.secret === undefined ? joined(b) : joined(b, await hmacAsync(firstSecret(options.secret), message(b)));
}

// ---- responsive images ----

/**
 * The candidate widths: rounded, clamped to what the server takes (`w` 1–8192 and the largest output side;
 * with `ratio`, so that the height fits too), then sorted and made unique.
 */
export function srcsetWidths(widths: readonly number[], ratio?: number): number[] {
  if (ratio !== undefined && !(Number.isFinite(ratio) && ratio > 0))
    throw new RangeError(`kinu: ratio: expected a positive number, got ${show(ratio)}`);
  let lo = LIMITS.width.min;
  let hi = Math.min(LIMITS.width.max, LIMITS.maxSide);
  if (ratio !== undefined) {
    // Kept inside, so that h = round(w / ratio) is within the height range too.
    lo = Math.max(lo, Math.ceil(LIMITS.height.min * ratio));
    hi = Math.min(hi, Math.floor(Math.min(LIMITS.height.max, LIMITS.maxSide) * ratio));
    if (lo > hi) throw new RangeError(`kinu: ratio: ${ratio} leaves no width whose height the server takes`);
  }
  const out = new Set<number>();
  for (const w of widths) {
    if (typeof w !== 'number' || !Number.isFinite(w))
      throw new TypeError(`kinu: widths: expected numbers, got ${show(w)}`);
    out.add(Math.min(hi, Math.max(lo, Math.round(w))));
  }
  if (out.size === 0) throw new RangeError('kinu: widths: give at least one width');
  return [...out].sort((a, b) => a - b);
}

function candidates(
  widths: readonly number[],
  params: SrcsetParams,
  ratio: number | undefined,
): { w: number; params: KinuParams }[] {
  for (const name of ['w', 'h', 'dpr']) {
    if (Object.hasOwn(params, name))
      throw new TypeError(
        `kinu: srcset: ${name} comes from the widths${name === 'h' ? ' (and ratio)' : ''}, not from params`,
      );
  }
  return srcsetWidths(widths, ratio).map((w) => ({
    w,
    params: { ...params, w, h: ratio === undefined ? undefined : Math.round(w / ratio) },
  }));
}

/** A `srcset` with one `<url> <w>w` candidate per width; pair it with `sizes`. */
export function srcset(
  base: string,
  key: string,
  widths: readonly number[],
  params: SrcsetParams = {},
  options: SrcsetOptions = {},
): string {
  return candidates(widths, params, options.ratio)
    .map((c) => `${kinuUrl(base, key, c.params, options)} ${c.w}w`)
    .join(', ');
}

/** `srcset`, signed with Web Crypto. */
export async function srcsetAsync(
  base: string,
  key: string,
  widths: readonly number[],
  params: SrcsetParams = {},
  options: SrcsetOptions = {},
): Promise<string> {
  const urls = await Promise.all(
    candidates(widths, params, options.ratio).map(
      async (c) => `${await kinuUrlAsync(base, key, c.params, options)} ${c.w}w`,
    ),
  );
  return urls.join(', ');
}

/**
 * A `sizes` attribute: `{ '(min-width: 1024px)': '33vw', '(min-width: 640px)': 480 }` and a fallback
 * (default `100vw`); numbers are CSS pixels. The first matching media condition wins, as in HTML.
 */
export function sizes(
  rules: Readonly<Record<string, string | number>> = {},
  fallback: string | number = '100vw',
): string {
  const size = (s: string | number) => (typeof s === 'number' ? `${s}px` : s);
  return [...Object.entries(rules).map(([media, s]) => `${media} ${size(s)}`), size(fallback)].join(', ');
}

// ---- signing ----

interface NodeCrypto {
  createHmac(algorithm: 'sha256', key: string): { update(data: string): { digest(encoding: 'base64url'): string } };
}

interface Subtle {
  importKey(
    format: 'raw',
    key: Uint8Array,
    algorithm: { name: 'HMAC'; hash: 'SHA-256' },
    extractable: false,
    usages: ['sign'],
  ): Promise<unknown>;
  sign(algorithm: 'HMAC', key: unknown, data: Uint8Array): Promise<ArrayBuffer>;
}

interface Globals {
  process?: { getBuiltinModule?: (id: string) => unknown };
  crypto?: { subtle?: Subtle };
  TextEncoder: new () => { encode(s: string): Uint8Array };
}

const globals = globalThis as unknown as Globals;

/** Node's crypto without importing it, so this module still loads in a browser (Node 20.16+, 22.3+, Bun). */
function hmacSync(secret: string, data: string): string {
  const crypto = globals.process?.getBuiltinModule?.('node:crypto') as NodeCrypto | undefined;
  if (!crypto)
    throw new Error(
      'kinu: signing with kinuUrl needs node:crypto (Node 20.16 or later, Bun); elsewhere use kinuUrlAsync, which signs with Web Crypto',
    );
  return crypto.createHmac('sha256', secret).update(data).digest('base64url');
}

const keys = new Map<string, Promise<unknown>>();

async function hmacAsync(secret: string, data: string): Promise<string> {
  const subtle = globals.crypto?.subtle;
  if (!subtle)
    throw new Error(
      'kinu: kinuUrlAsync needs Web Crypto (crypto.subtle), which browsers only give secure (https) pages',
    );
  const utf8 = new globals.TextEncoder();
  let key = keys.get(secret);
  if (!key)
    keys.set(
      secret,
      (key = subtle.importKey('raw', utf8.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])),
    );
  return base64url(new Uint8Array(await subtle.sign('HMAC', await key, utf8.encode(data))));
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function base64url(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let j = 0; j < chars; j++) out += ALPHABET[(n >> (18 - 6 * j)) & 63];
  }
  return out;
}
