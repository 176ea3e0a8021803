// The ipx dialect (ipx 3.1, Nuxt Image's default provider): /<modifiers>/<id>, unsigned as ipx is. Laid out as
// ipx's own code: url.ts its server's path split, modifiers.ts its handler table and argument rules, apply.ts
// what its handlers do, as a Transform. How each modifier maps, and what is refused: README "Migrating from ipx".
import { KinuError } from '../../errors.ts';
import { validateKey } from '../key.ts';
import type { ParsedRequest } from '../native.ts';
import { resolveSource, type SourceOptions } from '../source-url.ts';
import { ipxTransform } from './apply.ts';
import { splitIpxPath } from './url.ts';

export interface IpxDialectOptions extends SourceOptions {
  /** Path prefix the dialect is mounted under, without a trailing slash ('' for `/`). */
  readonly prefix: string;
}

// ufo's hasProtocol, as ipx tests the id: a proxy that merged `//` leaves `https:/host/…`, still a URL to ipx.
const URL_ID = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/{1,2}/;

export function parseIpx(rawUrl: string, o: IpxDialectOptions): ParsedRequest {
  const q = rawUrl.indexOf('?');
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  if (!rawPath.startsWith(`${o.prefix}/`))
    throw new KinuError('invalid_param', `path: must start with ${o.prefix}/<modifiers>/<id>`);
  const { modifiers, id } = splitIpxPath(rawPath.slice(o.prefix.length + 1));
  const transform = ipxTransform(modifiers);
  return { key: keyOf(id, q < 0 ? '' : rawUrl.slice(q), o), transform };
}

/**
 * A URL id (ipx's httpStorage, its `domains` being kinu's HTTP origin) keeps its query; a key id (ipx's
 * fsStorage, where `/` leads) drops one, as a cache-busting `?v=…` names the same file.
 */
function keyOf(id: string, query: string, o: SourceOptions): string {
  const m = URL_ID.exec(id);
  if (m) return resolveSource(`${m[1]}://${id.slice(m[0].length)}${query}`, o, 'id');
  return validateKey(id.replace(/^\/+/, ''));
}
