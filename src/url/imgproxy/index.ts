// The imgproxy dialect (3.x/4.x): /<signature>/<name:arg…>/…/plain/<source>[@ext] or …/<base64url>[.ext].
// Laid out as imgproxy's own parser: url.ts the path and source, options.ts the options, presets.ts presets,
// apply.ts State → Transform, sign.ts signatures. How each option maps, and what is refused: README
// "Migrating from imgproxy".
import { KinuError } from '../../errors.ts';
import { formatOfExtension } from '../../formats.ts';
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
  type State,
} from './options.ts';
import { applyPreset } from './presets.ts';
import { verifyImgproxySignature, type ImgproxyKeys } from './sign.ts';
import { resolveSource, type SourceOptions } from '../source-url.ts';
import { decodeSource, redenormalize } from './url.ts';

export { IMGPROXY_FORMATS, type ImgproxyOption, type ImgproxyPresets } from './options.ts';
export { parseImgproxyPresets } from './presets.ts';
export { imgproxySignature, signImgproxyPath, verifyImgproxySignature, type ImgproxyKeys } from './sign.ts';

export interface ImgproxyDialectOptions extends ImgproxyKeys, SourceOptions, ApplyOptions {
  /** Path prefix the dialect is mounted under, without a trailing slash ('' for `/`). */
  readonly prefix: string;
  /** imgproxy-syntax presets (KINU_IMGPROXY_PRESETS); `default` applies to every URL, as in imgproxy. */
  readonly presets: ImgproxyPresets;
  /** KINU_ORIGINALS, for `raw` and `skp` (default allow). */
  readonly originals?: 'allow' | 'signed' | 'deny';
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
  const disposition = dispositionOf(s, key);
  if (s.raw || isSkipped(s, key)) {
    // imgproxy streams such a source untouched; kinu's KINU_ORIGINALS still decides whether originals are served
    // (`deny` is refused by the route; `signed` needs this URL to be signed with an imgproxy key).
    if (o.originals === 'signed' && o.keys.length === 0)
      throw new KinuError(
        'originals_denied',
        `${s.raw ? 'raw' : 'skp'}: originals are served only to signed URLs (KINU_ORIGINALS=signed) and no KINU_IMGPROXY_KEY is set`,
      );
    return { key, transform: null, disposition };
  }
  return { key, transform: toKinu(s, o), disposition };
}

/** skp by the key's file extension: kinu decides before reading the source, imgproxy after sniffing it. */
function isSkipped(s: State, key: string): boolean {
  const dot = key.lastIndexOf('.');
  const f = dot < 0 || s.skip.length === 0 ? undefined : formatOfExtension(key.slice(dot + 1));
  return f !== undefined && s.skip.includes(f);
}

/** As imgproxy's ContentDispositionValue: `fn`, else the source's file name without its extension, else `image`. */
function dispositionOf(s: State, key: string): ParsedRequest['disposition'] {
  if (s.filename === undefined && !s.attachment) return undefined;
  const base = key.slice(key.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  const stem = s.filename || (dot < 0 ? base : base.slice(0, dot)) || 'image';
  return { type: s.attachment ? 'attachment' : 'inline', stem };
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
