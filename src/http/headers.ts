// Response headers for a delivery, computed in one place (the Fastify route and the hit fast path share it).
import type { FastifyReply } from 'fastify';
import type { Delivery } from '../deliver.ts';
import { LRUCache } from 'lru-cache';
import { FORMAT_TABLE } from '../formats.ts';

const STAGES = ['cache', 'fetch', 'process', 'encode'] as const;
const STALE_CACHE_CONTROL = 'public, max-age=60';

export function deliveryHeaders(d: Delivery, cacheControl: string): Record<string, string | number> {
  // A 304 carries what a cache updates its stored response with (RFC 9110 §15.4.5: ETag, Cache-Control, Vary), and
  // no other metadata: not Last-Modified (the ETag validates), nor the purge tag (RFC 9111 §4.3.4 keeps the stored
  // one), nor X-Kinu-Cache (no tier answered). Three headers fewer were ~3 % of a 304's CPU (wrk, side by side).
  const h: Record<string, string | number> =
    d.status === 304
      ? { etag: d.etag, 'cache-control': cacheControl }
      : {
          etag: d.etag,
          'last-modified': d.lastModified.toUTCString(),
          'cache-control': cacheControl,
          'x-kinu-cache': d.cache,
          'x-kinu-key': purgeTag(d.sourceKey),
        };
  if (d.varyAccept) h.vary = 'Accept';
  if (d.stale) {
    // Served from cache while the source fails: it may be out of date, so caches in front keep it briefly.
    h['x-kinu-stale'] = d.stale;
    h['cache-control'] = STALE_CACHE_CONTROL;
  }
  const timing = serverTiming(d.timings);
  if (timing) h['server-timing'] = timing;
  if (d.status === 304) return h;
  h['content-type'] = d.contentType;
  h['x-content-type-options'] = 'nosniff';
  if (d.kind === 'original') {
    // An SVG original may carry scripts: opened directly, the browser must not run them.
    if (d.contentType === FORMAT_TABLE.svg.mime)
      h['content-security-policy'] = "default-src 'none'; style-src 'unsafe-inline'; sandbox";
    if (d.size >= 0) h['content-length'] = d.size; // else chunked: the origin did not say
    if (d.contentEncoding) h['content-encoding'] = d.contentEncoding;
  } else if (d.body) {
    h['content-length'] = d.body.length;
    if (d.quality !== undefined) h['x-kinu-quality'] = d.quality;
  }
  return h;
}

// A hit times the cache stage alone, almost always under 10 ms: its value comes from this table, as toFixed costs
// ~2 µs a request, a fiftieth of a memory hit. Indexed by tenths of a millisecond, as toFixed(1) rounds them.
const CACHE_ONLY = Array.from({ length: 100 }, (_, i) => `cache;dur=${(i / 10).toFixed(1)}`);

function serverTiming(t: Delivery['timings']): string {
  if (t.cache !== undefined && t.fetch === undefined && t.process === undefined && t.encode === undefined) {
    const tenths = Math.round(t.cache * 10);
    // The nearest tenth (toFixed(1) may round a binary near-half the other way: 0.1 ms, no matter).
    if (tenths >= 0 && tenths < 100) return CACHE_ONLY[tenths]!;
  }
  let timing = '';
  for (const k of STAGES) if (t[k] !== undefined) timing += `${timing ? ', ' : ''}${k};dur=${t[k]!.toFixed(1)}`;
  return timing;
}

/**
 * A variant's headers as node:http's flat [name, value, …] list, built by deliveryHeaders once per variant
 * version and status and reused while every input it was built from is the same: a hit then fills in only
 * Server-Timing and X-Request-Id (the last pair), sparing the Date formatting and object building (~1.5 µs).
 * A memory hit's block hangs off its body (a WeakMap: it lives as long as the cached bytes, and the lookup costs no
 * string hashing, unlike an LRU by ETag, ~1 µs of a memory hit); a 304, which has no body, and a 200 whose body
 * was just read (disk, store, a miss) are found by ETag.
 * The list is shared: pass it straight to res.writeHead, which copies it into the response at once.
 */
export function createHeaderBlocks(
  cacheControl: string,
  max = 4096,
): (d: Delivery & { kind: 'variant' }, reqId: string) => string[] {
  const byBody = new WeakMap<Buffer, Block>();
  // A disk hit reads a new Buffer each time: its 200's block is found by ETag, as a 304's.
  const fresh = new LRUCache<string, Block>({ max });
  const notModified = new LRUCache<string, Block>({ max });
  return (d, reqId) => {
    const timing = serverTiming(d.timings);
    const body = d.status === 200 ? d.body : undefined;
    // A miss's block is built and not kept: its next answer is a hit, whose X-Kinu-Cache differs, and keeping
    // one per miss only filled the LRU with long-lived objects that full GCs mark.
    const made = d.cache === 'miss';
    let b = body
      ? (byBody.get(body) ?? (d.cache === 'memory' || made ? undefined : fresh.get(d.etag)))
      : notModified.get(d.etag);
    if (
      !b ||
      b.etag !== d.etag ||
      b.status !== d.status ||
      b.lastModified !== d.lastModified.getTime() ||
      b.length !== d.body?.length ||
      b.contentType !== d.contentType ||
      b.sourceKey !== d.sourceKey ||
      b.cache !== d.cache ||
      b.varyAccept !== d.varyAccept ||
      b.stale !== d.stale ||
      b.quality !== d.quality ||
      b.timingAt < 0 !== !timing
    ) {
      const list = Object.entries(deliveryHeaders(d, cacheControl)).flatMap(([k, v]) => [k, String(v)]);
      list.push('x-request-id', reqId);
      b = {
        list,
        timingAt: list.indexOf('server-timing') + 1 || -1,
        etag: d.etag,
        status: d.status,
        lastModified: d.lastModified.getTime(),
        length: d.body?.length,
        contentType: d.contentType,
        sourceKey: d.sourceKey,
        cache: d.cache,
        varyAccept: d.varyAccept,
        stale: d.stale,
        quality: d.quality,
      };
      if (!body) notModified.set(d.etag, b);
      else if (d.cache === 'memory') byBody.set(body, b);
      else if (!made) fresh.set(d.etag, b);
    }
    if (b.timingAt > 0) b.list[b.timingAt] = timing;
    b.list[b.list.length - 1] = reqId;
    return b.list;
  };
}

interface Block {
  readonly list: string[];
  /** Index of Server-Timing's value in `list`, -1 when it has none. */
  readonly timingAt: number;
  readonly etag: string;
  readonly status: number;
  readonly lastModified: number;
  readonly length: number | undefined;
  readonly contentType: string;
  readonly sourceKey: string;
  readonly cache: string;
  readonly varyAccept: boolean;
  readonly stale: string | undefined;
  readonly quality: number | undefined;
}

/**
 * thumbor's max_age(): `max-age=N,public` and an Expires N seconds ahead, as its handler writes them. For 0 thumbor
 * sends no Cache-Control; kinu also sends Last-Modified, from which caches would guess a lifetime, so it says
 * `no-cache` instead.
 */
export function maxAgeHeaders(seconds: number): Record<string, string> {
  if (seconds === 0) return { 'cache-control': 'no-cache' };
  return {
    'cache-control': `max-age=${seconds},public`,
    expires: new Date(Date.now() + seconds * 1000).toUTCString(),
  };
}

export function setDeliveryHeaders(reply: FastifyReply, d: Delivery, cacheControl: string): void {
  reply.headers(deliveryHeaders(d, cacheControl));
}

/**
 * Content-Disposition as imgproxy writes it (`<type>; filename="<stem><.ext>"`, `"` as %22), the extension that of
 * the content type sent. A name outside printable ASCII also gets RFC 6266's `filename*` (RFC 5987 UTF-8
 * percent-encoding), with `_` for those characters in the plain `filename`, which HTTP/1.1 cannot carry.
 */
export function contentDisposition(d: { type: string; stem: string }, contentType: string): string {
  const row = Object.values(FORMAT_TABLE).find((r) => r.mime === contentType || r.sequenceMime === contentType);
  const name = `${d.stem}${row ? `.${row.extensions[0]}` : ''}`;
  const plain = name.replace(/[^\x20-\x7e]/g, '_').replaceAll('"', '%22');
  if (plain === name.replaceAll('"', '%22')) return `${d.type}; filename="${plain}"`;
  const star = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${d.type}; filename="${plain}"; filename*=UTF-8''${star}`;
}

/** The original's key as sent in X-Kinu-Key and in purge requests: percent-encoded, so any key is one header-safe token. */
export function purgeTag(key: string): string {
  return encodeURIComponent(key);
}
