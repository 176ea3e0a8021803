// Memory hits and 304s answered straight from node:http, before Fastify: a hit needs no routing, hooks or
// serialisation, and this is the path a cache-less CDN setup hammers. Anything else (misses, errors,
// /_kinu/, other methods, shutdown) falls through to Fastify unchanged.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Deliver } from '../deliver.ts';
import type { ParsedRequest } from '../url/native.ts';
import type { AccessLine } from './access.ts';
import { createHeaderBlocks } from './headers.ts';

export interface FastHitOptions {
  /** Mounted dialects whose parse is pure, longest prefix first. */
  readonly mounts: readonly { readonly prefix: string; readonly parse: (rawUrl: string) => ParsedRequest }[];
  readonly deliver: Deliver;
  readonly cacheControl: string;
  readonly draining: () => boolean;
  /** Called once per answered request, for the access log and metrics. */
  readonly log: (req: IncomingMessage, line: AccessLine) => void;
}

/** `reqId` is echoed as X-Request-Id; `started` is performance.now() when the request arrived. */
export function createFastHit(
  opts: FastHitOptions,
): (req: IncomingMessage, res: ServerResponse, reqId: string, started: number) => boolean {
  const headers = createHeaderBlocks(opts.cacheControl);
  const mounts = opts.mounts.map((m) => ({ under: `${m.prefix}/`, parse: m.parse }));
  return (req, res, reqId, started) => {
    const url = req.url;
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !url || url.startsWith('/_kinu/') || opts.draining())
      return false;
    const mount = mounts.find((m) => url.startsWith(m.under));
    if (!mount) return false;
    let d;
    try {
      const { key, transform } = mount.parse(url);
      d = opts.deliver.peek({
        key,
        transform,
        accept: req.headers.accept,
        ifNoneMatch: req.headers['if-none-match'],
        ifModifiedSince: req.headers['if-modified-since'],
      });
    } catch {
      return false; // errors are Fastify's to render
    }
    if (d?.kind !== 'variant') return false;
    res.writeHead(d.status, headers(d, reqId));
    const body = d.status === 200 && req.method === 'GET' ? d.body : undefined;
    res.end(body);
    opts.log(req, { reqId, status: d.status, bytes: body?.length ?? 0, cache: d.cache, started });
    return true;
  };
}
