// Response headers for a delivery, computed in one place (the Fastify route and the hit fast path share it).
import type { FastifyReply } from 'fastify';
import type { Delivery } from '../deliver.ts';

const STAGES = ['cache', 'fetch', 'process', 'encode'] as const;
const STALE_CACHE_CONTROL = 'public, max-age=60';

export function deliveryHeaders(d: Delivery, cacheControl: string): Record<string, string | number> {
  const h: Record<string, string | number> = {
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
  const t = d.timings;
  let timing = '';
  for (const k of STAGES) if (t[k] !== undefined) timing += `${timing ? ', ' : ''}${k};dur=${t[k]!.toFixed(1)}`;
  if (timing) h['server-timing'] = timing;
  if (d.status === 304) return h;
  h['content-type'] = d.contentType;
  h['x-content-type-options'] = 'nosniff';
  if (d.kind === 'original') {
    // An SVG original may carry scripts: opened directly, the browser must not run them.
    if (d.contentType === 'image/svg+xml') h['content-security-policy'] = "default-src 'none'; style-src 'unsafe-inline'; sandbox";
    h['content-length'] = d.size;
    if (d.contentEncoding) h['content-encoding'] = d.contentEncoding;
  } else if (d.body) {
    h['content-length'] = d.body.length;
  }
  return h;
}

export function setDeliveryHeaders(reply: FastifyReply, d: Delivery, cacheControl: string): void {
  reply.headers(deliveryHeaders(d, cacheControl));
}

/** The original's key as sent in X-Kinu-Key and in purge requests: percent-encoded, so any key is one header-safe token. */
export function purgeTag(key: string): string {
  return encodeURIComponent(key);
}
