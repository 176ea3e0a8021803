// The use case, free of HTTP: identify the variant (ETag before any fetch), answer 304 when the client has
// it, otherwise fetch the original and run the pipeline inside a limiter slot.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { FORMATS, originalContentEncoding, originalContentType, type OutputFormat } from './formats.ts';
import { acceptClass, acceptClassKey } from './pipeline/negotiate.ts';
import type { Limiter } from './pipeline/limiter.ts';
import { runPipeline } from './pipeline/pipeline.ts';
import type { Limits } from './pipeline/plan.ts';
import { checkSize } from './source/limit.ts';
import type { Source } from './source/source.ts';
import { canonicalKey, type Transform } from './transform.ts';

export interface DeliverRequest {
  readonly key: string;
  /** null asks for the original bytes, unchanged. */
  readonly transform: Transform | null;
  readonly accept?: string | undefined;
  readonly ifNoneMatch?: string | undefined;
  readonly ifModifiedSince?: string | undefined;
  readonly signal?: AbortSignal;
}

interface Common {
  readonly status: 200 | 304;
  readonly etag: string;
  readonly lastModified: Date;
  readonly contentType: string;
  readonly varyAccept: boolean;
  /** Milliseconds per stage, for Server-Timing. */
  readonly timings: { fetch?: number; process?: number; encode?: number };
}

export type Delivery =
  | (Common & { readonly kind: 'original'; readonly size: number; readonly contentEncoding: string | undefined; readonly body: Readable | undefined })
  | (Common & { readonly kind: 'image'; readonly body: Buffer | undefined })
  | (Common & { readonly kind: 'json'; readonly body: string | undefined });

export interface DeliverDeps {
  readonly source: Source;
  readonly limiter: Limiter;
  readonly limits: Limits & { readonly maxBytes: number };
  readonly timeoutMs: number;
}

export type Deliver = (req: DeliverRequest) => Promise<Delivery>;

export function createDeliver(deps: DeliverDeps): Deliver {
  const { source, limiter, limits } = deps;

  const fetchBytes = (key: string, signal?: AbortSignal) => source.read(key, { signal, maxBytes: limits.maxBytes });

  return async function deliver(req) {
    const t = req.transform;
    // The watermark's version is part of the ETag too: a new logo must not be served under an old tag.
    const [stat, wmStat] = await Promise.all([
      source.stat(req.key, { signal: req.signal }),
      t?.watermark ? source.stat(t.watermark.key, { signal: req.signal }) : undefined,
    ]);
    const negotiated = t?.format === 'auto';
    const accept = acceptClass(req.accept);
    const variant = t === null ? 'original' : `${canonicalKey(t)}|${negotiated ? acceptClassKey(accept) : ''}|${wmStat?.version ?? ''}`;
    const etag = `"${createHash('sha256').update(`${req.key}\0${stat.version}\0${variant}`).digest('base64url').slice(0, 27)}"`;
    const common = { etag, lastModified: stat.lastModified, varyAccept: negotiated };

    if (notModified(req, etag, stat.lastModified)) {
      // The content type of a 304 is not sent; the original's is cheap to name and harmless.
      return { ...common, kind: 'image', status: 304, body: undefined, contentType: originalContentType(req.key), timings: {} };
    }

    if (t === null) {
      // Streamed, so memory is not at stake, but the limit still names the largest original kinu reads.
      checkSize(stat.size, limits.maxBytes);
      const t0 = performance.now();
      const obj = await source.get(req.key, { signal: req.signal });
      return {
        ...common, kind: 'original', status: 200, size: obj.size, body: obj.body, contentEncoding: originalContentEncoding(req.key),
        contentType: originalContentType(req.key), lastModified: obj.lastModified, timings: { fetch: performance.now() - t0 },
      };
    }

    // The slot is taken before the fetch, so the bytes of originals in memory are bounded too.
    return limiter.run(async () => {
      const t0 = performance.now();
      const [input, watermark] = await Promise.all([
        fetchBytes(req.key, req.signal),
        t.watermark ? fetchBytes(t.watermark.key, req.signal) : undefined,
      ]);
      const fetchMs = performance.now() - t0;
      const out = await runPipeline(input, t, { limits, timeoutMs: deps.timeoutMs, accept, signal: req.signal, watermark });
      const timings = { fetch: fetchMs, ...out.timings };
      if (t.format === 'json') {
        const body = JSON.stringify(describe(out.format, out.width, out.height, out.data.length, out.frames));
        return { ...common, kind: 'json', status: 200, body, contentType: 'application/json; charset=utf-8', timings };
      }
      return { ...common, kind: 'image', status: 200, body: out.data, contentType: FORMATS[out.format].mime, timings };
    }, req.signal);
  };
}

function describe(format: OutputFormat, width: number, height: number, bytes: number, frames: number) {
  return { width, height, format, mime: FORMATS[format].mime, bytes, frames };
}

/** If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2). */
function notModified(req: DeliverRequest, etag: string, lastModified: Date): boolean {
  if (req.ifNoneMatch !== undefined) {
    return req.ifNoneMatch.split(',').some((tag) => {
      const v = tag.trim();
      return v === '*' || v === etag || v === `W/${etag}`;
    });
  }
  if (req.ifModifiedSince !== undefined) {
    const since = Date.parse(req.ifModifiedSince);
    return !Number.isNaN(since) && Math.floor(lastModified.getTime() / 1000) * 1000 <= since;
  }
  return false;
}
