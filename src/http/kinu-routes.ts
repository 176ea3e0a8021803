// Reserved paths under /_kinu/: health (process alive) and ready (source reachable, not draining). A cache tier
// that fails does not make ready fail (kinu serves without it); ready names it under `degraded`.
import type { FastifyInstance } from 'fastify';
import { KinuError } from '../errors.ts';

/** A cache tier's health as /ready shows it (cache/cache.ts `TierHealth`; http/ does not import cache/). */
export interface ReadyTier {
  readonly tier: string;
  readonly ok: boolean;
  readonly breaker?: string;
  readonly lastError?: string;
  readonly errors: Readonly<Record<string, number>>;
}

export interface KinuRoutesOptions {
  readonly ready: () => Promise<boolean>;
  readonly draining: () => boolean;
  /** The source's kind and its breaker state, reported by /ready either way. */
  readonly source: () => { readonly name: string; readonly state: string };
  /** Each cache tier's health, in lookup order. */
  readonly caches?: () => readonly ReadyTier[];
}

export async function kinuRoutes(app: FastifyInstance, opts: KinuRoutesOptions): Promise<void> {
  app.addHook('onSend', async (_req, reply) => {
    reply.header('cache-control', 'no-store');
  });
  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/ready', async () => {
    if (opts.draining()) throw new KinuError('not_ready', 'the server is shutting down');
    const source = opts.source();
    if (!(await opts.ready()))
      throw new KinuError('not_ready', `the ${source.name} source is not reachable (breaker ${opts.source().state})`);
    const caches = opts.caches?.() ?? [];
    return { status: 'ready', source: opts.source(), caches, degraded: caches.filter((c) => !c.ok).map((c) => c.tier) };
  });
  app.route({
    method: app.supportedMethods,
    url: '/*',
    // In onRequest, so a body with an odd content type cannot turn the 404 into a 415.
    onRequest: async (request) => {
      throw new KinuError('route_not_found', `no route ${request.method} ${request.url.split('?')[0]}`);
    },
    handler: async () => undefined,
  });
}
