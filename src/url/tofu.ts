// The tofu dialect, the 2011 path tokens: /<key path…>/<size>/<32 hex signature>.<ext>, e.g.
// /recipes/1203423/750x500cq60/<sig>.jpg. The size grammar, the `original` template and the signature
// scheme: README "tofu URLs (2011)".
import { createHmac } from 'node:crypto';
import { matchesAny } from './sign.ts';
import { KinuError, quoted } from '../errors.ts';
import { formatOfExtension, outputNamed } from '../formats.ts';
import { decodeKey, validateKey } from './key.ts';
import { toTransform, type ParsedRequest } from './native.ts';
import { MAX_PARAM_SIDE, type ParamValues } from './params.ts';

export interface TofuOptions {
  /** Path prefix the dialect is mounted under, without a trailing slash. */
  readonly prefix: string;
  /** Signing secrets; empty: the signature token is checked for its shape only. */
  readonly secrets: readonly string[];
  /** How the original's key is made from the path before the size token: `{path}` is replaced by it. */
  readonly original: string;
  /** Preset name → validated native params (KINU_PRESETS), usable as the size token. */
  readonly presets: Readonly<Record<string, ParamValues>>;
}

export const TOFU_ORIGINAL_DEFAULT = '{path}.jpg';
/** The extensions the 2011 URLs used, in lower case only, each looked up in kinu's format table. */
export const TOFU_EXTENSIONS: readonly string[] = ['jpg', 'jpeg', 'png', 'webp', 'avif', 'gif'];
const SIZE = /^(?<w>\d{1,5})(?:x(?<h>\d{1,5})(?<mode>[cs]))?(?:q(?<q>\d{1,3}))?$/;
// kinu's own legacy grammar, no peer to follow: the size is native `w`/`h`, with their limit.
const MAX_SIDE = MAX_PARAM_SIDE;

/** The first 32 hex digits of HMAC-SHA256(secret, path), `path` being the URL path with the signature left out. */
export function tofuSignature(secret: string, path: string): string {
  return createHmac('sha256', secret).update(path, 'utf8').digest('hex').slice(0, 32);
}

/** Fill the empty signature slot of `/<key path…>/<size>/.<ext>` (mount prefix not included). */
export function signTofu(secret: string, path: string): string {
  const cut = path.lastIndexOf('/') + 1;
  return `${path.slice(0, cut)}${tofuSignature(secret, path)}${path.slice(cut)}`;
}

/** Checks a KINU_TOFU_ORIGINAL template; returns an error message or undefined. */
export function checkOriginalTemplate(template: string): string | undefined {
  if (template.split('{path}').length !== 2) return 'expected {path} exactly once, e.g. {path}.jpg';
  if (/[{}]/.test(template.replace('{path}', ''))) return 'the only placeholder is {path}';
  try {
    validateKey(template.replace('{path}', 'x'));
  } catch (e) {
    return (e as KinuError).detail;
  }
  return undefined;
}

export function parseTofu(rawUrl: string, opts: TofuOptions): ParsedRequest {
  // The 2011 URLs carried tracking and cache-busting queries; they are ignored, as they were then.
  const q = rawUrl.indexOf('?');
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  if (!rawPath.startsWith(`${opts.prefix}/`))
    throw new KinuError('invalid_key', `path: tofu URLs start with ${opts.prefix}/`);
  const below = rawPath.slice(opts.prefix.length);
  const cut = below.lastIndexOf('/');
  const last = below.slice(cut + 1);
  const dot = last.indexOf('.');
  const sig = dot < 0 ? last : last.slice(0, dot);
  const ext = dot < 0 ? '' : last.slice(dot + 1);

  const signed = opts.secrets.length > 0;
  if (!/^[0-9a-f]{32}$/.test(sig)) {
    const detail = `signature: expected 32 lowercase hex digits and an extension as the last segment, e.g. /recipes/1/750x500cq60/<32 hex>.jpg; got ${show(last)}`;
    throw new KinuError(signed ? 'bad_signature' : 'invalid_param', detail);
  }
  if (signed && !verify(opts.secrets, `${below.slice(0, cut + 1)}${dot < 0 ? '' : last.slice(dot)}`, sig)) {
    throw new KinuError('bad_signature', 'signature: does not match this URL');
  }
  const fmt = TOFU_EXTENSIONS.includes(ext) ? outputNamed(formatOfExtension(ext) ?? '') : undefined;
  if (!fmt)
    throw bad(
      'extension',
      `expected ${TOFU_EXTENSIONS.slice(0, -1)
        .map((e) => `.${e}`)
        .join(', ')} or .${TOFU_EXTENSIONS.at(-1)}, got ${show(ext === '' ? '(none)' : `.${ext}`)}`,
    );

  const dirs = below.slice(1, Math.max(1, cut)).split('/');
  if (dirs.length < 2 || dirs[0] === '')
    throw bad('path', 'expected /<key path…>/<size>/<signature>.<ext>, with at least one key segment');
  const size = dirs.pop()!;
  const path = decodeKey(dirs.join('/'));
  let key: string;
  try {
    key = validateKey(opts.original.replace('{path}', path));
  } catch (e) {
    throw new KinuError(
      'invalid_key',
      `key: ${path} makes ${show(opts.original.replace('{path}', path))}: ${(e as KinuError).detail}`,
    );
  }
  return { key, transform: toTransform({ ...sizeParams(size, opts.presets), fmt }) };
}

function sizeParams(size: string, presets: TofuOptions['presets']): ParamValues {
  const m = SIZE.exec(size)?.groups;
  if (m) {
    const w = Number(m.w);
    const h = m.h === undefined ? undefined : Number(m.h);
    if (w < 1 || w > MAX_SIDE || (h !== undefined && (h < 1 || h > MAX_SIDE)))
      throw bad('size', `sides must be 1–${MAX_SIDE}, got ${show(size)}`);
    const v: ParamValues = { w };
    if (h !== undefined) Object.assign(v, { h, fit: m.mode === 'c' ? 'cover' : 'inside' });
    if (m.q !== undefined) {
      const quality = Number(m.q);
      if (quality < 1 || quality > 100) throw bad('size', `quality must be q1–q100, got ${show(size)}`);
      v.q = quality;
    }
    return v;
  }
  if (/^\d+x\d+(q\d+)?$/.test(size))
    throw bad('size', `${show(size)} needs c (crop to fill) or s (scale to fit) after WxH, e.g. 750x500c`);
  if (/^[A-Za-z0-9_-]{1,64}$/.test(size) && Object.hasOwn(presets, size)) return { ...presets[size] };
  const known = Object.keys(presets);
  throw bad(
    'size',
    `expected W, WxHc or WxHs with an optional qNN (e.g. 750x500cq60), or a preset name (${known.length ? known.join(', ') : 'none configured'}); got ${show(size)}`,
  );
}

function verify(secrets: readonly string[], message: string, sig: string): boolean {
  return matchesAny(
    Buffer.from(sig, 'utf8'),
    secrets.map((secret) => () => Buffer.from(tofuSignature(secret, message), 'utf8')),
  );
}

const show = (s: string) => quoted(s);

function bad(part: string, why: string): KinuError {
  return new KinuError('invalid_param', `${part}: ${why}`);
}
