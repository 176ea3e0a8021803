// Response headers for a delivery, computed in one place.
import type { FastifyReply } from 'fastify';
import type { Delivery } from '../deliver.ts';

export function setDeliveryHeaders(reply: FastifyReply, d: Delivery, cacheControl: string): void {
  reply.header('etag', d.etag);
  reply.header('last-modified', d.lastModified.toUTCString());
  reply.header('cache-control', cacheControl);
  if (d.varyAccept) reply.header('vary', 'Accept');
  const t = d.timings;
  reply.header('x-kinu-cache', d.cache);
  const timing = (['cache', 'fetch', 'process', 'encode'] as const)
    .filter((k) => t[k] !== undefined)
    .map((k) => `${k};dur=${t[k]!.toFixed(1)}`);
  if (timing.length > 0) reply.header('server-timing', timing.join(', '));
  if (d.status === 304) return;
  reply.header('content-type', d.contentType);
  reply.header('x-content-type-options', 'nosniff');
  // An SVG original may carry scripts: opened directly, the browser must not run them.
  if (d.kind === 'original' && d.contentType === 'image/svg+xml') {
    reply.header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox");
  }
  if (d.kind === 'original') {
    reply.header('content-length', d.size);
    if (d.contentEncoding) reply.header('content-encoding', d.contentEncoding);
  }
}
