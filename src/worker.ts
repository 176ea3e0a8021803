// A worker under the supervisor (src/supervisor.ts): it builds its server, says it is ready, and waits (as a
// spare, possibly for a long time) until the supervisor hands it the listening socket to accept from.
import type { FastifyListenOptions } from 'fastify';
import { Counter } from 'prom-client';
import type { KinuServer } from './server.ts';
import { WORKER_ENV, type ToSupervisor, type ToWorker } from './supervisor.ts';

export const isSupervisedWorker = (env: Readonly<Record<string, string | undefined>>): boolean =>
  env[WORKER_ENV] !== undefined && typeof process.send === 'function';

const tell = (m: ToSupervisor) => process.send!(m);

/** Resolves once `app` accepts on the supervisor's socket; rejects if it cannot listen on it. */
export async function listenSupervised(app: KinuServer, host: string): Promise<void> {
  // The supervisor counts restarts (a worker cannot count its own death); each worker reports the count.
  let restarts = 0;
  new Counter({
    name: 'kinu_worker_restarts_total',
    help: 'Worker processes the supervisor replaced since it started (crashes, OOM kills).',
    registers: [app.kinu.metrics.registry],
    collect() {
      this.reset();
      this.inc(restarts);
    },
  });
  const socket = new Promise<unknown>((resolve) => {
    process.on('message', (m: ToWorker, handle: unknown) => {
      if (m?.kinu === 'serve' || m?.kinu === 'restarts') restarts = m.restarts;
      if (m?.kinu === 'serve') resolve(handle);
    });
  });
  await app.ready();
  tell({ kinu: 'ready' });
  const handle = await socket;
  // Node's listen() takes a handle; Fastify passes its options through. `host` only names the address in
  // Fastify's log line ('localhost' would make Fastify bind its other addresses too).
  await app.listen({ handle, host: host === 'localhost' ? '127.0.0.1' : host } as FastifyListenOptions);
  tell({ kinu: 'listening' });
}
