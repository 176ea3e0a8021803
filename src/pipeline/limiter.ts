// Backpressure: at most `concurrency` pipelines at once, at most `queue` waiting; one more is refused at
// once with 503 + Retry-After instead of piling up memory. A caller that aborts while waiting leaves the queue.
import { KinuError } from '../errors.ts';

export interface LimiterStats { active: number; queued: number; rejected: number }

export interface Limiter {
  run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  stats(): LimiterStats;
}

export function createLimiter(opts: { concurrency: number; queue: number; retryAfterSeconds?: number }): Limiter {
  let active = 0;
  let rejected = 0;
  const waiting: { start: () => void; fail: (e: unknown) => void }[] = [];
  const retryAfter = String(opts.retryAfterSeconds ?? 1);

  const release = () => {
    active--;
    const next = waiting.shift();
    if (next) next.start();
  };

  async function acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (active < opts.concurrency) { active++; return; }
    if (waiting.length >= opts.queue) {
      rejected++;
      throw new KinuError('overloaded', `all ${opts.concurrency} pipeline slots are busy and ${opts.queue} requests are waiting; retry shortly`, { headers: { 'retry-after': retryAfter } });
    }
    await new Promise<void>((resolve, reject) => {
      const entry = {
        start: () => { signal?.removeEventListener('abort', onAbort); active++; resolve(); },
        fail: reject,
      };
      const onAbort = () => {
        const i = waiting.indexOf(entry);
        if (i >= 0) waiting.splice(i, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      waiting.push(entry);
    });
  }

  return {
    async run(fn, signal) {
      await acquire(signal);
      try {
        return await fn();
      } finally {
        release();
      }
    },
    stats: () => ({ active, queued: waiting.length, rejected }),
  };
}
