// The imgproxy dialect (3.x/4.x): /<signature>/<name:arg…>/…/plain/<source>[@ext] or …/<base64url>[.ext].
// Laid out as imgproxy's own parser: url.ts the path and source, options.ts the options, presets.ts presets,
// apply.ts State → Transform, sign.ts signatures. How each option maps, and what is refused: README
// "Migrating from imgproxy".
import { KinuError } from '../../errors.ts';
import type { ParsedRequest } from '../native.ts';
import { toKinu, type ApplyOptions } from './apply.ts';
import {
  applyOption,
  ArgError,
  format,
  initialState,
  invalid,
  RESIZING_TYPES,
  type Ctx,
  type ImgproxyPresets,
} from './options.ts';
import { applyPreset } from './presets.ts';
import { verifyImgproxySignature, type ImgproxyKeys } from './sign.ts';
import { decodeSource, redenormalize, resolveSource, type SourceOptions } from './url.ts';

export { IMGPROXY_FORMATS, type ImgproxyOption, type ImgproxyPresets } from './options.ts';
export { parseImgproxyPresets } from './presets.ts';
export { imgproxySignature, signImgproxyPath, verifyImgproxySignature, type ImgproxyKeys } from './sign.ts';

export interface ImgproxyDialectOptions extends ImgproxyKeys, SourceOptions, ApplyOptions {
  /** Path prefix the dialect is mounted under, without a trailing slash ('' for `/`). */
  readonly prefix: string;
  /** imgproxy-syntax presets (KINU_IMGPROXY_PRESETS); `default` applies to every URL, as in imgproxy. */
  readonly presets: ImgproxyPresets;
  /** Clock for `expires`, in ms since the epoch (default Date.now). */
  readonly now?: () => number;
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
  const ctx: Ctx = { presets: o.presets, now: o.now ?? Date.now, applyPreset };
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
