// Cache hits and 304s answered straight from node:http, before Fastify: a hit needs no routing, hooks or
// serialisation, and this is the path a cache-less CDN setup hammers. Memory hits are answered at once, disk
// hits after their read. Anything else (misses, errors, /_kinu/, other methods, shutdown) goes to Fastify
// unchanged, through `full`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Deliver, DeliverRequest, Delivery } from '../deliver.ts';
import type { ParsedRequest } from '../url/native.ts';
import type { AccessLine } from './access.ts';
import { contentDisposition, createHeaderBlocks } from './headers.ts';

export interface FastHitOptions {
  /** Mounted dialects whose parse is pure, longest prefix first. */
  readonly mounts: readonly { readonly prefix: string; readonly parse: (rawUrl: string) => ParsedRequest }[];
  readonly deliver: Deliver;
  readonly cacheControl: string;
  readonly draining: () => boolean;
  /** Called once per answered request, for the access log and metrics. */
  readonly log: (req: IncomingMessage, line: AccessLine) => void;
  /** A tier below memory is on this machine (disk): worth a read before a request takes the whole path. */
  readonly localTiers: boolean;
}

type Variant = Extract<Delivery, { kind: 'variant' }>;

export type FastHit = (
  req: IncomingMessage,
  res: ServerResponse,
  reqId: string,
  started: number,
  full: () => void,
) => void;

/** `reqId` is echoed as X-Request-Id; `started` is performance.now() when the request arrived; `full` hands the
 *  request to Fastify (called at most once, synchronously or after a disk lookup that found nothing). */
export function createFastHit(opts: FastHitOptions): FastHit {
  const headers = createHeaderBlocks(opts.cacheControl);
  // As the route: a mount owns its prefix's own path too, with a query (Next.js's /_next/image?url=…); the
  // strings are built once, not per request and mount.
  const mounts = opts.mounts.map((m) => ({
    under: `${m.prefix}/`,
    bare: m.prefix === '' ? undefined : m.prefix,
    query: `${m.prefix}?`,
    parse: m.parse,
  }));
  const owns = (m: (typeof mounts)[number], url: string) =>
    url.startsWith(m.under) || (m.bare !== undefined && (url === m.bare || url.startsWith(m.query)));
  const answer = (
    req: IncomingMessage,
    res: ServerResponse,
    d: Variant,
    reqId: string,
    started: number,
    disposition: ParsedRequest['disposition'],
  ) => {
    const list = headers(d, reqId);
    // As the route: a 200 names its file when the URL asks (imgproxy fn/att, Next.js); the shared list is copied.
    res.writeHead(
      d.status,
      disposition && d.status === 200
        ? [...list, 'content-disposition', contentDisposition(disposition, d.contentType)]
        : list,
    );
    const body = d.status === 200 && req.method === 'GET' ? d.body : undefined;
    res.end(body);
    opts.log(req, { reqId, status: d.status, bytes: body?.length ?? 0, cache: d.cache, started });
  };
  return (req, res, reqId, started, full) => {
    const url = req.url;
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !url || url.startsWith('/_kinu/') || opts.draining())
      return full();
    const mount = mounts.find((m) => owns(m, url));
    if (!mount) return full();
    let r: DeliverRequest;
    let d;
    let disposition: ParsedRequest['disposition'];
    try {
      const parsed = mount.parse(url);
      // thumbor max_age(): its Cache-Control is set by the route.
      if (parsed.maxAge !== undefined) return full();
      const { key, transform } = parsed;
      disposition = parsed.disposition;
      r = {
        key,
        transform,
        accept: req.headers.accept,
        ifNoneMatch: req.headers['if-none-match'],
        ifModifiedSince: req.headers['if-modified-since'],
      };
      d = opts.deliver.peek(r);
    } catch {
      return full(); // errors are Fastify's to render
    }
    if (d?.kind === 'variant') return answer(req, res, d, reqId, started, disposition);
    if (!opts.localTiers) return full();
    opts.deliver.hit(r).then(
      (h) => (h?.kind === 'variant' ? answer(req, res, h, reqId, started, disposition) : full()),
      () => full(),
    );
  };
}
