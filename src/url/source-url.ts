// A source URL as a dialect names it (imgproxy's `local:///`, `s3://`, `http(s)://`; thumbor's, Cloudflare's,
// Next.js's and ipx's absolute URLs) → the key it names in kinu's source, or why not. One home for every
// dialect, so an allow-list check cannot differ between them.
import { KinuError, quoted } from '../errors.ts';
import { validateKey } from './key.ts';

const shown = (raw: string) => quoted(raw);

export interface SourceOptions {
  /** When kinu's source is an S3 bucket: `s3://<bucket>/<prefix>/<key>` names `<key>`. Without it no s3:// URL does. */
  readonly s3?: { readonly bucket: string; readonly prefix: string } | undefined;
  /** When kinu's source is an HTTP origin (its base URL, ending in `/`): `<base><key>` names `<key>`. */
  readonly http?: { readonly base: string } | undefined;
}

/** What kinu's source is, for the message naming the source URLs it can read. */
export function readable(o: SourceOptions): string {
  if (o.s3)
    return `s3://${o.s3.bucket}/${o.s3.prefix.replace(/^\/+|\/+$/g, '')}${o.s3.prefix ? '/' : ''}… URLs and keys`;
  if (o.http) return `http(s) URLs under kinu's HTTP origin ${o.http.base} (KINU_SOURCE) and keys`;
  return "keys (and local:///<path> URLs): kinu's source is a folder";
}

/** Whether a dialect's source is an absolute URL (scheme://…) rather than a key. */
export const isSourceUrl = (s: string): boolean => /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(s);

/** A source URL → a key in kinu's source, or why not. `part` names it in messages (imgproxy `source`, thumbor `image`). */
export function resolveSource(url: string, o: SourceOptions, part = 'source'): string {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/]*)(.*)$/s.exec(url);
  if (!m)
    throw new KinuError(
      'invalid_key',
      `${part}: expected local:///<path>, got ${shown(url)} (relative sources under IMGPROXY_BASE_URL are not supported)`,
    );
  const [, rawScheme = '', host = '', rest = ''] = m;
  const scheme = rawScheme.toLowerCase();
  // As imgproxy: leading slashes go, and `?` starts a query (an S3 version id), which kinu has no use for.
  const objectKey = rest.replace(/^\/+/, '').split('?')[0]!;
  switch (scheme) {
    case 'local':
      if (host !== '')
        throw new KinuError('invalid_key', `${part}: expected local:///<path> (three slashes), got ${shown(url)}`);
      return validateKey(objectKey);
    case 's3': {
      const prefix = o.s3 ? o.s3.prefix.replace(/^\/+|\/+$/g, '') : '';
      if (o.s3 && host === o.s3.bucket && (prefix === '' || objectKey.startsWith(`${prefix}/`))) {
        return validateKey(prefix === '' ? objectKey : objectKey.slice(prefix.length + 1));
      }
      throw notInSource(url, o, part);
    }
    case 'http':
    case 'https':
      return httpKey(url, o, part);
    default:
      throw new KinuError('invalid_key', `${part}: ${scheme}:// sources are not supported; use ${readable(o)}`);
  }
}

// As imgproxy answers a source outside IMGPROXY_ALLOWED_SOURCES: 404, naming what is readable.
const notInSource = (url: string, o: SourceOptions, part: string) =>
  new KinuError('not_found', `${part}: ${shown(url)} is not in kinu's source, which reads only ${readable(o)}`);

/**
 * An http(s) source URL → its key under kinu's HTTP origin. The origin's base is compared after WHATWG
 * normalisation (host case, default port, dot segments), so `../` cannot leave it; the HTTP source then
 * re-encodes each key segment and its SSRF guard and KINU_HTTP_ALLOW_NETS apply to the connection.
 */
function httpKey(url: string, o: SourceOptions, part: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new KinuError('invalid_key', `${part}: not a valid URL: ${shown(url)}`);
  }
  const base = o.http ? new URL(o.http.base) : undefined;
  if (!base || u.origin !== base.origin || !u.pathname.startsWith(base.pathname)) throw notInSource(url, o, part);
  if (u.search || u.hash || u.username || u.password)
    throw new KinuError(
      'invalid_key',
      `${part}: ${shown(url)}: kinu's HTTP origin is read by key, without a query, fragment or credentials`,
    );
  const segments = u.pathname.slice(base.pathname.length).split('/');
  const key = segments.map((seg) => {
    let d: string;
    try {
      d = decodeURIComponent(seg);
    } catch {
      throw new KinuError('invalid_key', `${part}: malformed percent-encoding in the URL path`);
    }
    // The HTTP source encodes `/` as a separator: an encoded one would name another URL.
    if (d.includes('/')) throw new KinuError('invalid_key', `${part}: ${shown(url)}: an encoded / (%2F) in the path`);
    return d;
  });
  return validateKey(key.join('/'));
}
