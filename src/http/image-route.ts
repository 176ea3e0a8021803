// GET/HEAD of image URLs: raw URL → dialect → deliver → headers. HTTP only; no sharp here.
import type { FastifyInstance } from 'fastify';
import type { Deliver } from '../deliver.ts';
import { KinuError } from '../errors.ts';
import type { ParsedRequest } from '../url/native.ts';
import { markOriginal } from './access.ts';
import { clientSignal, failedBefore } from './fast-hit.ts';
import { contentDisposition, maxAgeHeaders, setDeliveryHeaders } from './headers.ts';

export interface ImageRouteOptions {
  readonly prefix: string;
  readonly parse: (rawUrl: string) => ParsedRequest;
  readonly deliver: Deliver;
  readonly cacheControl: string;
  /** `signed` is enforced by the dialect's parser (only the native dialect serves originals); here it is `allow`. */
  readonly originals: 'allow' | 'signed' | 'deny';
}

export function registerImageRoute(app: FastifyInstance, opts: ImageRouteOptions): void {
  // A mount owns its prefix's path too: Next.js URLs are the prefix itself with a query (/_next/image?url=…).
  for (const url of opts.prefix === '' ? ['/*'] : [`${opts.prefix}/*`, opts.prefix]) route(app, opts, url);
}

function route(app: FastifyInstance, opts: ImageRouteOptions, url: string): void {
  app.route({
    // HEAD is declared, not derived: Fastify's derived HEAD route would reset an original's Content-Length to 0.
    method: ['GET', 'HEAD'],
    url,
    async handler(request, reply) {
      // The fast path already tried this request and failed: its error is rendered here, not made again.
      const failed = failedBefore(request.raw);
      if (failed) throw failed.error;
      const { key, transform, disposition, maxAge } = opts.parse(request.raw.url ?? '/');
      if (transform === null) markOriginal(reply.raw);
      if (transform === null && opts.originals === 'deny') {
        throw new KinuError('originals_denied', 'this server does not serve originals; add params, e.g. ?w=800');
      }
      const signal = clientSignal(reply.raw);
      const d = await opts.deliver({
        key,
        transform,
        accept: request.headers.accept,
        ifNoneMatch: request.headers['if-none-match'],
        ifModifiedSince: request.headers['if-modified-since'],
        // Made only when a lower layer asks for it (a miss, an original): a cache hit needs none, and
        // an AbortController per request is a measurable share of the hit path.
        get signal() {
          return signal();
        },
      });
      reply.code(d.status);
      setDeliveryHeaders(reply, d, opts.cacheControl);
      // A stale answer keeps its short lifetime whatever the URL asks.
      if (maxAge !== undefined && !d.stale) reply.headers(maxAgeHeaders(maxAge));
      if (d.status === 304) return reply.send();
      if (disposition) reply.header('content-disposition', contentDisposition(disposition, d.contentType));
      if (request.method === 'HEAD' && d.kind === 'original') {
        d.body?.destroy();
        return reply.send();
      }
      return reply.send(d.body);
    },
  });
  app.route({
    method: app.supportedMethods.filter((m) => m !== 'GET' && m !== 'HEAD'),
    url,
    // Refused in onRequest, before Fastify would parse (and reject) a body with some other status.
    onRequest: async () => {
      throw new KinuError('method_not_allowed', 'image URLs answer GET and HEAD only', {
        headers: { allow: 'GET, HEAD' },
      });
    },
    handler: async () => undefined,
  });
}
