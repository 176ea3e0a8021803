// imgproxy's path: the signature segment, the options, and the source (`plain/<url>[@ext]` or base64url
// `[.ext]`), and which key in kinu's source that URL names.
import { KinuError } from '../../errors.ts';
import { validateKey } from '../key.ts';
import { invalid, shown } from './options.ts';

export interface SourceOptions {
  /** When kinu's source is an S3 bucket: `s3://<bucket>/<prefix>/<key>` names `<key>`. Without it no s3:// URL does. */
  readonly s3?: { readonly bucket: string; readonly prefix: string } | undefined;
  /** When kinu's source is an HTTP origin (its base URL, ending in `/`): `<base><key>` names `<key>`. */
  readonly http?: { readonly base: string } | undefined;
}

/** What kinu's source is, for the message naming the source URLs it can read. */
function readable(o: SourceOptions): string {
  if (o.s3)
    return `s3://${o.s3.bucket}/${o.s3.prefix.replace(/^\/+|\/+$/g, '')}${o.s3.prefix ? '/' : ''}… and local:///<path> URLs`;
  if (o.http) return "http(s) URLs under kinu's HTTP origin (KINU_SOURCE) and local:///<path> URLs";
  return "local:///<path> URLs (kinu's source is a folder)";
}

/** Undo what browsers and proxies do to imgproxy paths (`%3A` in options, `scheme:/x` for `scheme://x`), as imgproxy does before checking the signature. */
export function redenormalize(path: string): string {
  let options: string;
  let plain: string | undefined;
  if (path.startsWith('plain/')) [options, plain] = ['', path.slice(6)];
  else {
    const at = path.indexOf('/plain/');
    [options, plain] = at < 0 ? [path, undefined] : [path.slice(0, at), path.slice(at + 7)];
  }
  options = options.replaceAll('%3A', ':');
  if (plain === undefined) return options.replace(/^\//, '');
  const fixed = plain.replace(
    /^(\S+):\/([^/])/,
    (_m, scheme: string, c: string) => `${scheme}://${scheme === 'local' ? '/' : ''}${c}`,
  );
  return `${options}/plain/${fixed}`.replace(/^\//, '');
}

export function decodeSource(parts: readonly string[]): { source: string; extension: string | undefined } {
  if (parts.length === 0 || parts.join('') === '')
    throw invalid('source: missing; end the path with plain/<source URL> or its base64url form');
  if (parts[0] === 'plain' && parts.length > 1) {
    const [url = '', extension, ...more] = parts.slice(1).join('/').split('@');
    if (url === '') throw invalid('source: empty after plain/');
    if (more.length > 0) throw invalid('source: more than one @extension; percent-encode @ in the source as %40');
    let source: string;
    try {
      source = decodeURIComponent(url);
    } catch {
      throw invalid('source: malformed percent-encoding');
    }
    return { source, extension: extension || undefined };
  }
  if (parts[0] === 'enc') throw invalid('source: encrypted source URLs (enc/, imgproxy Pro) are not supported');
  const [encoded = '', extension, ...more] = parts.join('').split('.');
  if (more.length > 0) throw invalid('source: more than one .extension after the base64url source');
  const b64 = encoded.replace(/=+$/, '');
  if (b64 === '' || !/^[A-Za-z0-9_-]+$/.test(b64) || b64.length % 4 === 1)
    throw invalid(`source: not valid base64url: ${shown(encoded)}`);
  let source: string;
  try {
    source = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(b64, 'base64url'));
  } catch {
    throw invalid('source: the base64url source is not UTF-8 text');
  }
  return { source, extension: extension || undefined };
}

/** A source URL → a key in kinu's source, or why not. */
export function resolveSource(url: string, o: SourceOptions): string {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/]*)(.*)$/s.exec(url);
  if (!m)
    throw new KinuError(
      'invalid_key',
      `source: expected local:///<path>, got ${shown(url)} (relative sources under IMGPROXY_BASE_URL are not supported)`,
    );
  const [, rawScheme = '', host = '', rest = ''] = m;
  const scheme = rawScheme.toLowerCase();
  // As imgproxy: leading slashes go, and `?` starts a query (an S3 version id), which kinu has no use for.
  const objectKey = rest.replace(/^\/+/, '').split('?')[0]!;
  switch (scheme) {
    case 'local':
      if (host !== '')
        throw new KinuError('invalid_key', `source: expected local:///<path> (three slashes), got ${shown(url)}`);
      return validateKey(objectKey);
    case 's3': {
      const prefix = o.s3 ? o.s3.prefix.replace(/^\/+|\/+$/g, '') : '';
      if (o.s3 && host === o.s3.bucket && (prefix === '' || objectKey.startsWith(`${prefix}/`))) {
        return validateKey(prefix === '' ? objectKey : objectKey.slice(prefix.length + 1));
      }
      throw notInSource(url, o);
    }
    case 'http':
    case 'https':
      return httpKey(url, o);
    default:
      throw new KinuError('invalid_key', `source: ${scheme}:// sources are not supported; use ${readable(o)}`);
  }
}

// As imgproxy answers a source outside IMGPROXY_ALLOWED_SOURCES: 404, naming what is readable.
const notInSource = (url: string, o: SourceOptions) =>
  new KinuError('not_found', `source: ${shown(url)} is not in kinu's source, which reads only ${readable(o)}`);

/**
 * An http(s) source URL → its key under kinu's HTTP origin. The origin's base is compared after WHATWG
 * normalisation (host case, default port, dot segments), so `../` cannot leave it; the HTTP source then
 * re-encodes each key segment and its SSRF guard and KINU_HTTP_ALLOW_NETS apply to the connection.
 */
function httpKey(url: string, o: SourceOptions): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new KinuError('invalid_key', `source: not a valid URL: ${shown(url)}`);
  }
  const base = o.http ? new URL(o.http.base) : undefined;
  if (!base || u.origin !== base.origin || !u.pathname.startsWith(base.pathname)) throw notInSource(url, o);
  if (u.search || u.hash || u.username || u.password)
    throw new KinuError(
      'invalid_key',
      `source: ${shown(url)}: kinu's HTTP origin is read by key, without a query, fragment or credentials`,
    );
  const segments = u.pathname.slice(base.pathname.length).split('/');
  const key = segments.map((seg) => {
    let d: string;
    try {
      d = decodeURIComponent(seg);
    } catch {
      throw new KinuError('invalid_key', 'source: malformed percent-encoding in the URL path');
    }
    // The HTTP source encodes `/` as a separator: an encoded one would name another URL.
    if (d.includes('/')) throw new KinuError('invalid_key', `source: ${shown(url)}: an encoded / (%2F) in the path`);
    return d;
  });
  return validateKey(key.join('/'));
}
