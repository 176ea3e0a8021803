// Backpressure: `concurrency` pipelines at once, `queue` waiting, one more is a 503 at once; and a memory budget
// from which running pipelines reserve their estimated peak (cost.ts), held until the work really ends.
// Rules: ARCHITECTURE.md §4 "Limits".
import { KinuError } from '../errors.ts';

export interface LimiterStats {
  active: number;
  queued: number;
  rejected: number;
  /** Bytes reserved by running pipelines, pipelines waiting for memory, and the budget (Infinity = none). */
  reservedBytes: number;
  memoryWaiting: number;
  memoryBytes: number;
}

/** Given to the work a slot runs: grows its memory reservation, waiting while the budget is spent. */
export interface Lease {
  reserve(bytes: number, signal?: AbortSignal): Promise<void>;
}

export interface Limiter {
  run<T>(fn: (lease: Lease) => Promise<T>, signal?: AbortSignal): Promise<T>;
  stats(): LimiterStats;
  /** The memory budget in bytes (Infinity when none is set). */
  readonly memoryBytes: number;
}

interface MemoryWaiter {
  bytes: number;
  grant: () => void;
}

export function createLimiter(opts: {
  concurrency: number;
  queue: number;
  retryAfterSeconds?: number;
  memoryBytes?: number;
}): Limiter {
  let active = 0;
  let rejected = 0;
  let reserved = 0;
  const budget = opts.memoryBytes ?? Infinity;
  const waiting: { start: () => void; fail: (e: unknown) => void }[] = [];
  const memoryQueue: MemoryWaiter[] = [];
  const retryAfter = String(opts.retryAfterSeconds ?? 1);

  const release = () => {
    active--;
    const next = waiting.shift();
    if (next) next.start();
  };

  // First come, first served: a large reservation at the head is not starved by small ones behind it.
  const grantMemory = () => {
    while (memoryQueue.length > 0 && reserved + memoryQueue[0]!.bytes <= budget) {
      const w = memoryQueue.shift()!;
      reserved += w.bytes;
      w.grant();
    }
  };

  async function acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (active < opts.concurrency) {
      active++;
      return;
    }
    if (waiting.length >= opts.queue) {
      rejected++;
      throw new KinuError(
        'overloaded',
        `all ${opts.concurrency} pipeline slots are busy and ${opts.queue} requests are waiting; retry shortly`,
        { headers: { 'retry-after': retryAfter } },
      );
    }
    await new Promise<void>((resolve, reject) => {
      const entry = {
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          active++;
          resolve();
        },
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

  function lease(held: { bytes: number }): Lease {
    return {
      async reserve(bytes, signal) {
        signal?.throwIfAborted();
        // A single reservation larger than the whole budget would wait forever: it is taken alone.
        const want = Math.min(Math.max(0, bytes), budget);
        if (memoryQueue.length === 0 && reserved + want <= budget) {
          reserved += want;
          held.bytes += want;
          return;
        }
        await new Promise<void>((resolve, reject) => {
          const w: MemoryWaiter = {
            bytes: want,
            grant: () => {
              signal?.removeEventListener('abort', onAbort);
              held.bytes += want;
              resolve();
            },
          };
          const onAbort = () => {
            const i = memoryQueue.indexOf(w);
            if (i >= 0) {
              memoryQueue.splice(i, 1);
              grantMemory();
            }
            reject(signal!.reason);
          };
          signal?.addEventListener('abort', onAbort, { once: true });
          memoryQueue.push(w);
        });
      },
    };
  }

  return {
    memoryBytes: budget,
    async run(fn, signal) {
      await acquire(signal);
      const held = { bytes: 0 };
      try {
        return await fn(lease(held));
      } finally {
        reserved -= held.bytes;
        grantMemory();
        release();
      }
    },
    stats: () => ({
      active,
      queued: waiting.length,
      rejected,
      reservedBytes: reserved,
      memoryWaiting: memoryQueue.length,
      memoryBytes: budget,
    }),
  };
}
