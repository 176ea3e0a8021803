// Reserved paths under /_kinu/: health (process alive) and ready (source reachable, not draining).
import type { FastifyInstance } from 'fastify';
import { KinuError } from '../errors.ts';

export interface KinuRoutesOptions {
  readonly ready: () => Promise<boolean>;
  readonly draining: () => boolean;
  /** The source's kind and its breaker state, reported by /ready either way. */
  readonly source: () => { readonly name: string; readonly state: string };
}

export async function kinuRoutes(app: FastifyInstance, opts: KinuRoutesOptions): Promise<void> {
  app.addHook('onSend', async (_req, reply) => { reply.header('cache-control', 'no-store'); });
  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/ready', async () => {
    if (opts.draining()) throw new KinuError('not_ready', 'the server is shutting down');
    const source = opts.source();
    if (!(await opts.ready())) throw new KinuError('not_ready', `the ${source.name} source is not reachable (breaker ${opts.source().state})`);
    return { status: 'ready', source: opts.source() };
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
