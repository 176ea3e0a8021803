// The cloudflare dialect: Cloudflare Images' "Transform via URL", /cdn-cgi/image/<options>/<source>, unsigned
// as Cloudflare's is. options.ts reads the options, apply.ts maps them; how each one maps and what is refused:
// README "Migrating from Cloudflare Images".
import type { ParsedRequest } from '../native.ts';
import { decodeKey } from '../key.ts';
import { invalid, parseOptions } from './options.ts';
import { toKinu } from './apply.ts';
import { resolveSource, type SourceOptions } from '../source-url.ts';

export interface CloudflareDialectOptions extends SourceOptions {
  /** Path prefix the dialect is mounted under, without a trailing slash ('' for `/`). */
  readonly prefix: string;
}

export function parseCloudflare(rawUrl: string, o: CloudflareDialectOptions): ParsedRequest {
  // The source is a path or URL as written, not encoded: its query (a cache-buster, or an origin's own
  // parameter) has no meaning for a key in kinu's source, so it is dropped.
  const q = rawUrl.indexOf('?');
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  if (!path.startsWith(`${o.prefix}/`)) throw invalid(`path: must start with ${o.prefix}/`);
  const rest = path.slice(o.prefix.length + 1);
  const slash = rest.indexOf('/');
  if (slash < 0 || slash === rest.length - 1)
    throw invalid(`path: expected ${o.prefix}/<options>/<source>, e.g. ${o.prefix}/width=400/uploads/a.jpg`);
  const state = parseOptions(rest.slice(0, slash));
  return { key: sourceKey(rest.slice(slash + 1), o), transform: toKinu(state) };
}

/**
 * A path on the zone (`uploads/a.jpg`, or `/uploads/a.jpg` after the options' slash) is a key; an absolute
 * http(s) URL names a key only under kinu's HTTP origin (else 404). Proxies that merge `//` into `/` and
 * clients that percent-encode the whole URL are undone first.
 */
function sourceKey(raw: string, o: SourceOptions): string {
  let source = raw;
  if (/^https?%3A/i.test(source)) {
    try {
      source = decodeURIComponent(source);
    } catch {
      throw invalid('source: malformed percent-encoding');
    }
  }
  const url = /^(https?):\/+(.*)$/is.exec(source);
  if (url) return resolveSource(`${url[1]}://${url[2]}`, o, 'source');
  return decodeKey(source.replace(/^\/+/, ''));
}
