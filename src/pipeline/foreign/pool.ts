// Threads for the WebAssembly codecs (worker.ts): a decode there cannot block the event loop, and it can be
// stopped midway, which libvips' own timeout cannot do for them: at the request's deadline (KINU_TIMEOUT) or
// when it is aborted, the worker is terminated and a fresh one is spawned for the next job. Workers start on
// the first job, run one job at a time, leave after a minute idle or once their heap has grown large (a
// WebAssembly heap never shrinks), and a worker that crashes fails only the job it was running.
import { Worker } from 'node:worker_threads';
import { KinuError, type ErrorCode } from '../../errors.ts';
import type { Decoded, Encoded, EncodeShape, WorkerJob, WorkerReply } from './worker.ts';
import type { ForeignHeader } from './types.ts';

/** From dist/ the compiled worker. Run from the sources (tests, `node --import tsx`: never from dist/), the
 *  worker registers tsx itself through its worker-capable API, `<preload>/esm/api`: on Node 20 a worker gets
 *  neither the parent's `--import` hooks nor tsx as `--loader` (tsx refuses it). */
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(FROM_SOURCE ? './worker.ts' : './worker.js', import.meta.url);
const newWorker = (): Worker => {
  if (!FROM_SOURCE) return new Worker(WORKER_URL);
  const apis = process.execArgv
    .flatMap((a, i, all) => (a === '--import' ? [all[i + 1]!] : a.startsWith('--import=') ? [a.slice(9)] : []))
    .flatMap((m) => {
      try {
        return [import.meta.resolve(`${m}/esm/api`)];
      } catch {
        return []; // another preload (not tsx): nothing the worker needs to read TypeScript
      }
    });
  const boot = `(async () => { for (const m of ${JSON.stringify(apis)}) (await import(m)).register(); await import(${JSON.stringify(WORKER_URL.href)}); })();`;
  return new Worker(boot, { eval: true });
};
/** An idle worker is let go after this, with its codecs' heaps. */
const IDLE_MS = 60_000;
/** A worker whose WebAssembly heaps grew past this (a large image once) is replaced after its job. */
const RETIRE_HEAP_BYTES = 256 * 1024 * 1024;

export interface PoolRun {
  /** Threads at most (KINU_CODEC_WORKERS). */
  readonly workers: number;
  /** Epoch ms: the job, waiting or running, ends with a 504 then, and its worker is terminated. */
  readonly deadline: number;
  readonly signal?: AbortSignal | undefined;
}

interface Job {
  readonly msg: WorkerJob;
  readonly resolve: (v: ForeignHeader | Decoded | Encoded) => void;
  readonly reject: (e: unknown) => void;
  readonly opts: PoolRun;
  timer?: NodeJS.Timeout;
  onAbort?: () => void;
}

interface Slot {
  worker: Worker | undefined;
  job: Job | undefined;
  idle: NodeJS.Timeout | undefined;
}

const slots: Slot[] = [];
const queue: Job[] = [];
let nextId = 1;
const counts = { spawned: 0, terminated: 0, crashed: 0 };

/** For tests and metrics: workers alive, jobs running and waiting, and workers started, stopped, crashed. */
export function poolStats() {
  return {
    alive: slots.filter((s) => s.worker).length,
    running: slots.filter((s) => s.job).length,
    queued: queue.length,
    ...counts,
  };
}

export function runInPool(
  op: 'header',
  format: string,
  bytes: Uint8Array,
  maxPixels: number,
  opts: PoolRun,
): Promise<ForeignHeader>;
export function runInPool(
  op: 'decode',
  format: string,
  bytes: Uint8Array,
  maxPixels: number,
  opts: PoolRun,
): Promise<Decoded>;
export function runInPool(
  op: 'encode',
  format: string,
  bytes: Uint8Array,
  maxPixels: number,
  opts: PoolRun,
  encode: EncodeShape,
): Promise<Encoded>;
export function runInPool(
  op: 'header' | 'decode' | 'encode',
  format: string,
  bytes: Uint8Array,
  maxPixels: number,
  opts: PoolRun,
  encode?: EncodeShape,
): Promise<ForeignHeader | Decoded | Encoded> {
  return new Promise((resolve, reject) => {
    const msg: WorkerJob = { id: nextId++, format, op, bytes, maxPixels, ...(encode ? { encode } : {}) };
    const job: Job = { msg, resolve, reject, opts };
    if (opts.signal?.aborted) return reject(opts.signal.reason);
    const left = opts.deadline - Date.now();
    if (left <= 0) return reject(timeout());
    // One timer and one abort listener cover the job while it waits and while it runs.
    job.timer = setTimeout(() => stop(job, timeout()), left);
    job.onAbort = () => stop(job, opts.signal!.reason);
    opts.signal?.addEventListener('abort', job.onAbort, { once: true });
    queue.push(job);
    pump(opts.workers);
  });
}

const timeout = () => new KinuError('processing_timeout', 'decoding the original took longer than the time limit');

/** Ends a job early: out of the queue, or its worker terminated midway (a new one is spawned when needed). */
function stop(job: Job, reason: unknown): void {
  const waiting = queue.indexOf(job);
  if (waiting >= 0) queue.splice(waiting, 1);
  const slot = slots.find((s) => s.job === job);
  if (slot) {
    slot.job = undefined;
    kill(slot);
    counts.terminated++;
  }
  settle(job);
  job.reject(reason);
  pump(job.opts.workers);
}

function settle(job: Job): void {
  clearTimeout(job.timer);
  if (job.onAbort) job.opts.signal?.removeEventListener('abort', job.onAbort);
}

function kill(slot: Slot): void {
  clearTimeout(slot.idle);
  const w = slot.worker;
  slot.worker = undefined;
  w?.removeAllListeners();
  w?.on('error', () => {}); // an error racing the termination has nobody left to tell
  void w?.terminate();
}

function pump(size: number): void {
  while (queue.length > 0) {
    let slot = slots.find((s) => !s.job);
    if (!slot && slots.length < Math.max(1, size)) {
      slot = { worker: undefined, job: undefined, idle: undefined };
      slots.push(slot);
    }
    if (!slot) return;
    start(slot, queue.shift()!);
  }
}

function start(slot: Slot, job: Job): void {
  clearTimeout(slot.idle);
  slot.worker ??= spawn(slot);
  slot.job = job;
  slot.worker.ref();
  slot.worker.postMessage(job.msg);
}

function spawn(slot: Slot): Worker {
  counts.spawned++;
  const w = newWorker();
  w.on('message', (reply: WorkerReply) => {
    const job = slot.job;
    if (!job || job.msg.id !== reply.id) return;
    slot.job = undefined;
    settle(job);
    if (reply.ok) job.resolve(reply.value);
    else job.reject(fromWorker(reply.error));
    if (!reply.ok && reply.error.fatal) {
      kill(slot);
      counts.crashed++;
    } else if (reply.heapBytes > RETIRE_HEAP_BYTES) kill(slot);
    else idle(slot);
    pump(job.opts.workers);
  });
  // The thread died (out of memory, an exception outside a job): only the job it ran fails.
  const died = (err: unknown) => {
    if (slot.worker !== w) return;
    slot.worker = undefined;
    counts.crashed++;
    const job = slot.job;
    slot.job = undefined;
    if (job) {
      settle(job);
      job.reject(new Error('the codec worker stopped while decoding', { cause: err }));
      pump(job.opts.workers);
    }
  };
  w.on('error', died);
  w.on('exit', (code) => died(new Error(`exit code ${code}`)));
  return w;
}

function idle(slot: Slot): void {
  slot.worker?.unref();
  clearTimeout(slot.idle);
  slot.idle = setTimeout(() => {
    if (!slot.job) kill(slot);
  }, IDLE_MS);
  slot.idle.unref();
}

/** A worker's refusal as the typed error it was; a codec that trapped failed on these bytes: corrupt (422). */
function fromWorker(e: { code?: string; detail?: string; message: string; fatal: boolean }): Error {
  if (e.code !== undefined) return new KinuError(e.code as ErrorCode, e.detail ?? e.message);
  return new KinuError('corrupt_image', 'the original could not be decoded', { cause: new Error(e.message) });
}
