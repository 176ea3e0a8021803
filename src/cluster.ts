// kinu serve --workers N: a primary process that forks N workers (node:cluster), each a whole kinu serving
// the same port, and does nothing else. It prints the listening line once every worker listens, passes
// SIGTERM/SIGINT on to them (each drains as a single process does) and exits when they have, 0 if they all
// exited 0. A worker that dies while serving is replaced; one that dies before listening stops the lot.
import cluster, { type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import pino from 'pino';

export interface PrimaryOptions {
  readonly workers: number;
  /** For the listening line: the configured host, and the source's description. */
  readonly host: string;
  readonly source: string;
  /** Each worker's drain deadline; the primary waits this plus a margin before killing stragglers. */
  readonly drainTimeoutMs: number;
  readonly logLevel: string;
  readonly out: (s: string) => void;
}

export const isWorker = (): boolean => cluster.isWorker;

export function runPrimary(opts: PrimaryOptions): Promise<number> {
  const log = pino({ level: opts.logLevel }).child({ role: 'primary' });
  let stopping = false;
  let failed = false;
  let announced = false;
  const listening = new Set<Worker>();

  const fork = () => {
    const worker = cluster.fork();
    worker.once('listening', (address: AddressInfo | { port: number }) => {
      listening.add(worker);
      if (!announced && listening.size === opts.workers) {
        announced = true;
        const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
        opts.out(`kinu listening on http://${host}:${address.port} (source: ${opts.source})`);
        log.info({ workers: opts.workers, pids: [...listening].map((w) => w.process.pid) }, 'workers listening');
      }
    });
    worker.once('exit', (code, signal) => {
      const served = listening.delete(worker);
      if (stopping) {
        if (code !== 0) failed = true;
        if (Object.keys(cluster.workers ?? {}).length === 0) finish();
        return;
      }
      if (served) {
        log.error({ pid: worker.process.pid, code, signal }, 'worker died: starting another');
        fork();
      } else {
        log.error({ pid: worker.process.pid, code, signal }, 'worker exited before listening: stopping');
        failed = true;
        stop('worker-failed');
      }
    });
  };

  let finish: () => void = () => {};
  const done = new Promise<number>((resolve) => { finish = () => resolve(failed ? 1 : 0); });

  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: workers finish their in-flight requests');
    const alive = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    if (alive.length === 0) { finish(); return; }
    for (const w of alive) w.process.kill('SIGTERM');
    const kill = setTimeout(() => {
      log.error('workers did not stop in time: killing them');
      failed = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
    }, opts.drainTimeoutMs + 10_000);
    kill.unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  for (let i = 0; i < opts.workers; i++) fork();
  return done;
}
