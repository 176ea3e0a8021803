// The imgix dialect: imgix's rendering API, /<path>?<params>[&s=<md5>], where <path> is the object's key (an
// imgix Web Folder or S3 source) or an encoded absolute URL (a Web Proxy source). query.ts reads the parameters,
// apply.ts maps them, sign.ts checks `s`. Mapping and refusals: README "Migrating from imgix".
import { KinuError } from '../../errors.ts';
import { validateKey } from '../key.ts';
import type { ParsedRequest } from '../native.ts';
import { isSourceUrl, resolveSource, type SourceOptions } from '../source-url.ts';
import { toKinu } from './apply.ts';
import { parseQuery } from './query.ts';
import { verifyImgixSignature } from './sign.ts';

export { imgixSignature } from './sign.ts';

export interface ImgixDialectOptions extends SourceOptions {
  /** Path prefix the dialect is mounted under, without a trailing slash ('' for `/`). */
  readonly prefix: string;
  /** Secure URL tokens (KINU_IMGIX_TOKEN); empty: `s` is not checked. */
  readonly tokens?: readonly string[];
}

export function parseImgix(rawUrl: string, o: ImgixDialectOptions): ParsedRequest {
  const q = rawUrl.indexOf('?');
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const segments = q < 0 ? [] : rawUrl.slice(q + 1).split('&');
  if (!rawPath.startsWith(`${o.prefix}/`)) throw new KinuError('invalid_key', `path: must start with ${o.prefix}/`);
  const path = rawPath.slice(o.prefix.length);

  const tokens = o.tokens ?? [];
  if (tokens.length > 0) {
    const sigs = segments.filter((s) => s.startsWith('s='));
    if (sigs.length !== 1)
      throw new KinuError(
        'bad_signature',
        sigs.length ? 's: given more than once' : 's: missing; this server only answers signed imgix URLs',
      );
    const rest = segments.filter((s) => !s.startsWith('s=')).join('&');
    if (!verifyImgixSignature(tokens, path, rest, sigs[0]!.slice(2)))
      throw new KinuError('bad_signature', 's: does not match this URL for any KINU_IMGIX_TOKEN');
  }

  const key = keyOf(path.slice(1), o);
  const params = parseQuery(segments);
  const markKey = (v: string) => {
    if (isSourceUrl(v)) return resolveSource(v, o, 'mark');
    try {
      return validateKey(v.replace(/^\/+/, ''));
    } catch (e) {
      throw e instanceof KinuError ? new KinuError(e.code, `mark: ${e.detail.replace(/^key: /, '')}`) : e;
    }
  };
  const dl = params.get('dl');
  const disposition: ParsedRequest['disposition'] =
    dl === undefined
      ? undefined
      : { type: 'attachment', stem: stemOf(dl) || stemOf(key.slice(key.lastIndexOf('/') + 1)) || 'image' };
  // imgix renders every request (re-encoded at its default quality), so there is always a transform.
  return { key, transform: toKinu(params, { markKey }), disposition };
}

const stemOf = (name: string) => (name.lastIndexOf('.') > 0 ? name.slice(0, name.lastIndexOf('.')) : name);

/** The path: a key, or (a Web Proxy source) an encoded absolute URL under kinu's source. */
function keyOf(encoded: string, o: SourceOptions): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(encoded);
  } catch {
    throw new KinuError('invalid_key', 'path: malformed percent-encoding');
  }
  if (isSourceUrl(decoded)) return resolveSource(decoded, o, 'path');
  return validateKey(decoded);
}
