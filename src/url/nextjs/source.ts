// Which key of kinu's source a Next.js `url` names. A relative URL (`/a/b.jpg`) is a file of the site's
// public/ folder in Next: here the key `a/b.jpg`. An absolute one is an http(s) image Next fetches if
// images.remotePatterns allows it: here, if it lies under kinu's HTTP origin (source-url.ts), the same role.
import { isKinuError, KinuError } from '../../errors.ts';
import { decodeKey } from '../key.ts';
import { resolveSource, type SourceOptions } from '../source-url.ts';

const refuse = (message: string) => new KinuError('invalid_param', `url: ${message}`);

/** `prefix` is where this dialect is mounted: a `url` back into it is refused as Next refuses /_next/image. */
export function sourceKey(url: string, o: SourceOptions & { readonly prefix: string }): string {
  if (url.startsWith('/')) {
    // Next's query and fragment go to its static file handler, which ignores them; a key has neither.
    const path = url.replace(/[?#].*$/s, '');
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      throw refuse('"url" parameter is invalid (malformed percent-encoding)');
    }
    if (/\/_next\/image($|\/)/.test(decoded) || (o.prefix !== '' && isUnder(decoded, o.prefix)))
      throw refuse('"url" parameter cannot be recursive');
    return decodeKey(path.slice(1));
  }
  let href: URL;
  try {
    href = new URL(url);
  } catch {
    throw refuse('"url" parameter is invalid');
  }
  if (href.protocol !== 'http:' && href.protocol !== 'https:') throw refuse('"url" parameter is invalid');
  try {
    return resolveSource(href.toString(), o, 'url');
  } catch (e) {
    // Next answers a host outside remotePatterns with a 400, not a 404.
    if (isKinuError(e) && e.code === 'not_found')
      throw refuse(`"url" parameter is not allowed: ${e.detail.replace(/^url: /, '')}`);
    throw e;
  }
}

const isUnder = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`);
