// Wraps any adapter so a misbehaving store costs bounded time: one budget per operation, retried reads, and a
// circuit breaker that only transient failures open (a 404 is an answer; a 403 is about one key, not the
// store). Details: ARCHITECTURE.md §4 "Sources".
import { Transform, pipeline } from 'node:stream';
import { createBreaker, type BreakerState } from '../breaker.ts';
import { KinuError, isKinuError } from '../errors.ts';
import { isTransient } from './failure.ts';
import type { Source, SourceObject } from './source.ts';

export type { BreakerState } from '../breaker.ts';

export interface SourceHealth {
  readonly state: BreakerState;
  /** Failed attempts by error code since start, retried ones included (a 404 or a size refusal is an answer, not a failure). */
  readonly errors: Readonly<Record<string, number>>;
  readonly retries: number;
  readonly bytesRead: number;
}

export interface ResilienceOptions {
  /** Budget of one operation, attempts and waits included, ms. */
  readonly timeoutMs: number;
  /** Further attempts after a transient failure. */
  readonly retries: number;
  /** Failures in a row that open the breaker, and how long it stays open before a probe. */
  readonly breakerFailures: number;
  readonly breakerCooldownMs: number;
  /** First backoff step and its cap, ms (defaults 50 and 1000). */
  readonly backoffMs?: number;
  readonly backoffCapMs?: number;
}

export interface ResilientSource extends Source {
  health(): SourceHealth;
}

export function withResilience(source: Source, opts: ResilienceOptions): ResilientSource {
  const base = opts.backoffMs ?? 50;
  const cap = opts.backoffCapMs ?? 1000;
  const breaker = createBreaker({ failures: opts.breakerFailures, cooldownMs: opts.breakerCooldownMs });
  const errors: Record<string, number> = {};
  let retries = 0;
  let bytesRead = 0;

  /** Whether this call may go to the store now; while half-open, one caller probes and the rest fail fast. */
  function admit(what: string): void {
    if (breaker.admit()) return;
    const wait = Math.max(1, Math.ceil(breaker.retryInMs() / 1000));
    throw new KinuError(
      'source_failed',
      `${what}: the source is failing (circuit open after ${breaker.failuresInARow()} failures in a row); not tried`,
      {
        headers: { 'retry-after': String(wait) },
      },
    );
  }

  async function run<T>(
    what: string,
    caller: AbortSignal | undefined,
    idempotent: boolean,
    fn: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    // One controller for the budget and the caller, its timer cleared at the end: AbortSignal.timeout + .any cost
    // ~60 µs a call on Node 20 (weak references, a finalization registry), a controller and a timer ~25.
    const scope = new AbortController();
    const signal = scope.signal;
    const budget = { aborted: false };
    const timer = setTimeout(() => {
      budget.aborted = true;
      scope.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    }, opts.timeoutMs);
    const onCaller = () => scope.abort(caller!.reason);
    if (caller?.aborted) onCaller();
    else caller?.addEventListener('abort', onCaller, { once: true });
    try {
      return await attempts(what, caller, idempotent, fn, signal, budget);
    } finally {
      clearTimeout(timer);
      caller?.removeEventListener('abort', onCaller);
    }
  }

  async function attempts<T>(
    what: string,
    caller: AbortSignal | undefined,
    idempotent: boolean,
    fn: (signal: AbortSignal) => Promise<T>,
    signal: AbortSignal,
    budget: { readonly aborted: boolean },
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      admit(what);
      try {
        // Raced, not trusted: an adapter stuck somewhere that ignores its signal still costs one budget only.
        signal.throwIfAborted();
        const value = await raceAbort(fn(signal), signal);
        breaker.succeeded();
        return value;
      } catch (raw) {
        if (caller?.aborted) {
          // The client left: not the store's fault, and the probe slot must not stay taken.
          breaker.neutral();
          throw raw;
        }
        const err = budget.aborted
          ? new KinuError('source_timeout', `${what}: the source did not answer within ${opts.timeoutMs} ms`, {
              cause: raw,
            })
          : raw;
        if (isKinuError(err) && (err.code === 'not_found' || err.code === 'source_too_large')) {
          // An answer: the store itself is working.
          breaker.succeeded();
          throw err;
        }
        if (!isKinuError(err) || (err.code !== 'source_failed' && err.code !== 'source_timeout')) {
          // A key refused before any I/O, or a bug below us: says nothing about the store.
          breaker.neutral();
          throw err;
        }
        // Counted per operation, not per attempt: the breaker opens after N requests failed, not after N tries.
        errors[err.code] = (errors[err.code] ?? 0) + 1;
        if (!isTransient(err)) {
          breaker.neutral();
          throw err;
        }
        if (!idempotent || attempt >= opts.retries || breaker.state() !== 'closed' || budget.aborted) {
          breaker.failed();
          throw err;
        }
        const delay = Math.random() * Math.min(cap, base * 2 ** attempt);
        retries++;
        try {
          await sleep(delay, signal);
        } catch {
          if (caller?.aborted) throw caller.reason;
          const timeout = new KinuError(
            'source_timeout',
            `${what}: the source did not answer within ${opts.timeoutMs} ms`,
            { cause: err },
          );
          breaker.failed();
          throw timeout;
        }
      }
    }
  }

  return {
    name: source.name,
    health: () => ({ state: breaker.state(), errors: { ...errors }, retries, bytesRead }),
    stat: (key, o) => run(`stat ${JSON.stringify(key)}`, o.signal, true, (signal) => source.stat(key, { signal })),
    read: (key, o) =>
      run(`read ${JSON.stringify(key)}`, o.signal, true, async (signal) => {
        const buf = await source.read(key, { signal, maxBytes: o.maxBytes, alloc: o.alloc });
        bytesRead += buf.length;
        return buf;
      }),
    // Retried only until the stream starts; its bytes then flow at the client's pace, outside the budget.
    get: (key, o) =>
      run(`get ${JSON.stringify(key)}`, o.signal, true, async (signal): Promise<SourceObject> => {
        const attempt = new AbortController();
        const onAbort = () => attempt.abort(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        try {
          const obj = await source.get(key, { signal: attempt.signal });
          // Counted as it passes, without putting the stream into flowing mode before its reader is attached.
          const counter = new Transform({
            transform(chunk: Buffer, _enc, done) {
              bytesRead += chunk.length;
              done(null, chunk);
            },
          });
          pipeline(obj.body, counter, () => {});
          return { ...obj, body: counter };
        } finally {
          signal.removeEventListener('abort', onAbort);
          o.signal?.addEventListener('abort', () => attempt.abort(o.signal!.reason), { once: true });
        }
      }),
    ...(source.list
      ? {
          list: (o: { limit: number; signal?: AbortSignal }) =>
            run('list', o.signal, true, (signal) => source.list!({ limit: o.limit, signal })),
        }
      : {}),
    // Writes are not retried: a timed-out PUT may have landed, and the caller must see that it failed.
    ...(source.put
      ? {
          put: (key: string, body: Buffer, o: { contentType: string; signal?: AbortSignal }) =>
            run(`put ${JSON.stringify(key)}`, o.signal, false, (signal) =>
              source.put!(key, body, { contentType: o.contentType, signal }),
            ),
        }
      : {}),
    ...(source.delete
      ? {
          delete: (key: string, o: { signal?: AbortSignal }) =>
            run(`delete ${JSON.stringify(key)}`, o.signal, true, (signal) => source.delete!(key, { signal })),
        }
      : {}),
    async ready() {
      return breaker.state() !== 'open' && source.ready();
    },
  };
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  // The call's own outcome may come after the race is lost: it must never be an unhandled rejection.
  p.catch(() => {});
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal.throwIfAborted();
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
