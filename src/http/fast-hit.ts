// Image variants answered straight from node:http, before Fastify: a hit needs no routing, hooks or
// serialisation, and this is the path a cache-less CDN setup hammers. Memory hits are answered at once, disk
// hits after their read, misses once made (Fastify's routing and reply were ~0.3 ms of main-thread CPU a miss).
// Anything else (originals, /_kinu/, other methods, shutdown, long URLs) goes to Fastify unchanged, and so does
// a failure: the route throws the error the fast path met (`failedBefore`), so one error handler renders all.
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
  /** Longer URLs go to Fastify, whose router refuses paths over its maxParamLength. */
  readonly maxUrlLength: number;
  /** From now on the response's access line and metrics are written when it closes (access.ts `follow`). */
  readonly follow: (req: IncomingMessage, res: ServerResponse, reqId: string, started: number) => void;
  /** Fastify's handler: routing, hooks, the route, the error handler. */
  readonly route: (req: IncomingMessage, res: ServerResponse) => void;
}

type Variant = Extract<Delivery, { kind: 'variant' }>;

export type FastHit = (req: IncomingMessage, res: ServerResponse, reqId: string, started: number) => void;

const failures = new WeakMap<IncomingMessage, unknown>();

/** The error the fast path met making this request's variant, for the route to throw (once). */
export function failedBefore(req: IncomingMessage): { readonly error: unknown } | undefined {
  if (!failures.has(req)) return undefined;
  const error = failures.get(req);
  failures.delete(req);
  return { error };
}

/** An AbortSignal made on first use, aborted when the client goes away before its answer is written. */
export function clientSignal(res: ServerResponse): () => AbortSignal {
  let abort: AbortController | undefined;
  return () => {
    if (!abort) {
      const controller = new AbortController();
      abort = controller;
      // A client that goes away frees its queue place and stops the pipeline at the next step.
      if (res.destroyed) controller.abort(new Error('client closed the connection'));
      else
        res.once('close', () => {
          if (!res.writableFinished) controller.abort(new Error('client closed the connection'));
        });
    }
    return abort.signal;
  };
}

/** `reqId` is echoed as X-Request-Id; `started` is performance.now() when the request arrived. */
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
  const full = (req: IncomingMessage, res: ServerResponse, reqId: string, started: number) => {
    opts.follow(req, res, reqId, started);
    opts.route(req, res);
  };
  const send = (
    req: IncomingMessage,
    res: ServerResponse,
    d: Variant,
    reqId: string,
    disposition: ParsedRequest['disposition'],
  ): number => {
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
    return body?.length ?? 0;
  };
  const answer = (
    req: IncomingMessage,
    res: ServerResponse,
    d: Variant,
    reqId: string,
    started: number,
    disposition: ParsedRequest['disposition'],
  ) => {
    const bytes = send(req, res, d, reqId, disposition);
    // The line's cache is the response's X-Kinu-Cache, which a 304 has not (headers.ts).
    opts.log(req, { reqId, status: d.status, bytes, cache: d.status === 304 ? undefined : d.cache, started });
  };
  // Followed from the start (in flight until it closes, its line written then, aborted or not).
  const make = (
    req: IncomingMessage,
    res: ServerResponse,
    r: DeliverRequest,
    reqId: string,
    started: number,
    disposition: ParsedRequest['disposition'],
  ) => {
    opts.follow(req, res, reqId, started);
    const signal = clientSignal(res);
    opts
      .deliver({
        ...r,
        get signal() {
          return signal();
        },
      })
      .then((d) => {
        if (d.kind !== 'variant') throw new Error(`a transform was answered with ${d.kind}`);
        return d;
      })
      .then(
        (d) => send(req, res, d, reqId, disposition),
        (err: unknown) => {
          failures.set(req, err);
          opts.route(req, res);
        },
      );
  };
  return (req, res, reqId, started) => {
    const url = req.url;
    if (
      (req.method !== 'GET' && req.method !== 'HEAD') ||
      !url ||
      url.length > opts.maxUrlLength ||
      url.startsWith('/_kinu/') ||
      opts.draining()
    )
      return full(req, res, reqId, started);
    const mount = mounts.find((m) => owns(m, url));
    if (!mount) return full(req, res, reqId, started);
    let r: DeliverRequest;
    let d;
    let disposition: ParsedRequest['disposition'];
    try {
      const parsed = mount.parse(url);
      // thumbor max_age(): its Cache-Control is set by the route. Originals are streamed by the route.
      if (parsed.maxAge !== undefined || parsed.transform === null) return full(req, res, reqId, started);
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
      return full(req, res, reqId, started); // errors are Fastify's to render
    }
    if (d?.kind === 'variant') return answer(req, res, d, reqId, started, disposition);
    if (!opts.localTiers) return make(req, res, r, reqId, started, disposition);
    opts.deliver.hit(r).then(
      (h) =>
        h?.kind === 'variant'
          ? answer(req, res, h, reqId, started, disposition)
          : make(req, res, r, reqId, started, disposition),
      () => make(req, res, r, reqId, started, disposition),
    );
  };
}
