// GET /_kinu/metrics: the Prometheus text exposition of this server's registry.
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics.ts';

export async function metricsRoute(app: FastifyInstance, opts: { readonly metrics: Metrics }): Promise<void> {
  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await opts.metrics.scrape();
    return reply.header('content-type', contentType).header('cache-control', 'no-store').send(body);
  });
}
