// Backpressure: `concurrency` pipelines at once, `queue` waiting, one more is a 503 at once; and a memory budget
// from which running pipelines reserve their estimated peak (cost.ts), held until the work really ends.
// `admit` lets `ahead` more jobs in to fetch their input while the slots compute: a slot held across a fetch
// would leave its core idle for the fetch's length (a local read under load: ms; S3: tens of ms).
// Rules: ARCHITECTURE.md §4 "Limits".
import { KinuError } from '../errors.ts';

export interface LimiterStats {
  /** Pipelines in a slot now. */
  active: number;
  /** Jobs admitted ahead of a slot: fetching their input, or holding it until a slot frees (at most `ahead`). */
  ahead: number;
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

/** An admitted job: its `run` waits for a slot (in arrival order) and holds it until the work ends. */
export interface Admission {
  run<T>(fn: (lease: Lease) => Promise<T>): Promise<T>;
}

export interface Limiter {
  /** Admission and a slot at once: for work with nothing to wait for first. */
  run<T>(fn: (lease: Lease) => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Admission only: `fn` fetches what its work needs, then calls `admission.run` for a slot. */
  admit<T>(fn: (admission: Admission) => Promise<T>, signal?: AbortSignal): Promise<T>;
  stats(): LimiterStats;
  /** The memory budget in bytes (Infinity when none is set). */
  readonly memoryBytes: number;
}

interface Waiter {
  start: () => void;
}

interface MemoryWaiter {
  bytes: number;
  grant: () => void;
}

export function createLimiter(opts: {
  concurrency: number;
  queue: number;
  /** Jobs admitted beyond the slots, to fetch ahead (default 0). */
  ahead?: number;
  retryAfterSeconds?: number;
  memoryBytes?: number;
}): Limiter {
  let admitted = 0;
  let active = 0;
  let rejected = 0;
  let reserved = 0;
  const maxAdmitted = opts.concurrency + (opts.ahead ?? 0);
  const budget = opts.memoryBytes ?? Infinity;
  const waiting: Waiter[] = [];
  const slotQueue: Waiter[] = [];
  const memoryQueue: MemoryWaiter[] = [];
  const retryAfter = String(opts.retryAfterSeconds ?? 1);

  const leave = () => {
    admitted--;
    waiting.shift()?.start();
  };
  const release = () => {
    active--;
    slotQueue.shift()?.start();
  };

  // First come, first served: a large reservation at the head is not starved by small ones behind it.
  const grantMemory = () => {
    while (memoryQueue.length > 0 && reserved + memoryQueue[0]!.bytes <= budget) {
      const w = memoryQueue.shift()!;
      reserved += w.bytes;
      w.grant();
    }
  };

  /** Waits in `queue` until `start` is called (by whoever frees a place); an abort leaves the queue. */
  function wait(queue: Waiter[], take: () => void, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const entry = {
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          take();
          resolve();
        },
      };
      const onAbort = () => {
        const i = queue.indexOf(entry);
        if (i >= 0) queue.splice(i, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      queue.push(entry);
    });
  }

  async function enter(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (admitted < maxAdmitted) {
      admitted++;
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
    await wait(
      waiting,
      () => {
        admitted++;
      },
      signal,
    );
  }

  async function inSlot<T>(fn: (lease: Lease) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (active < opts.concurrency && slotQueue.length === 0) active++;
    else
      await wait(
        slotQueue,
        () => {
          active++;
        },
        signal,
      );
    const held = { bytes: 0 };
    try {
      return await fn(lease(held));
    } finally {
      reserved -= held.bytes;
      grantMemory();
      release();
    }
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

  async function admit<T>(fn: (admission: Admission) => Promise<T>, signal?: AbortSignal): Promise<T> {
    await enter(signal);
    try {
      return await fn({ run: (work) => inSlot(work, signal) });
    } finally {
      leave();
    }
  }

  return {
    memoryBytes: budget,
    admit,
    run: (fn, signal) => admit((admission) => admission.run(fn), signal),
    stats: () => ({
      active,
      ahead: admitted - active,
      queued: waiting.length,
      rejected,
      reservedBytes: reserved,
      memoryWaiting: memoryQueue.length,
      memoryBytes: budget,
    }),
  };
}
