import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KinuError } from '../../src/errors.ts';
import { createLimiter, type Limiter } from '../../src/pipeline/limiter.ts';
import { IDLE_LIMITER_STATS } from '../helpers.ts';

/** A job that runs until released; `started` resolves when the limiter lets it in. */
function gate() {
  let release!: (v?: unknown) => void;
  let started!: () => void;
  const done = new Promise((r) => {
    release = r;
  });
  const start = new Promise<void>((r) => {
    started = r;
  });
  return {
    release,
    start,
    fn: async () => {
      started();
      return done;
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

async function overloaded(p: Promise<unknown>): Promise<KinuError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof KinuError);
    assert.equal(e.code, 'overloaded');
    return e;
  }
  assert.fail('expected overloaded');
}

function fill(limiter: Limiter, n: number) {
  const gates = Array.from({ length: n }, gate);
  const runs = gates.map((g) => limiter.run(g.fn));
  return { gates, runs };
}

describe('limiter', () => {
  test('runs up to concurrency, queues up to queue, refuses one more at once with Retry-After', async () => {
    const limiter = createLimiter({ concurrency: 2, queue: 1, retryAfterSeconds: 3 });
    const { gates, runs } = fill(limiter, 3);
    await Promise.all([gates[0]!.start, gates[1]!.start]);
    assert.deepEqual(limiter.stats(), {
      active: 2,
      ahead: 0,
      queued: 1,
      rejected: 0,
      reservedBytes: 0,
      memoryWaiting: 0,
      memoryBytes: Infinity,
    });
    const e = await overloaded(limiter.run(async () => 'never'));
    assert.equal(e.status, 503);
    assert.deepEqual(e.headers, { 'retry-after': '3' });
    assert.equal(limiter.stats().rejected, 1);
    gates[0]!.release('a');
    await gates[2]!.start;
    assert.deepEqual(limiter.stats(), {
      active: 2,
      ahead: 0,
      queued: 0,
      rejected: 1,
      reservedBytes: 0,
      memoryWaiting: 0,
      memoryBytes: Infinity,
    });
    gates[1]!.release('b');
    gates[2]!.release('c');
    assert.deepEqual(await Promise.all(runs), ['a', 'b', 'c']);
    assert.deepEqual(limiter.stats(), {
      active: 0,
      ahead: 0,
      queued: 0,
      rejected: 1,
      reservedBytes: 0,
      memoryWaiting: 0,
      memoryBytes: Infinity,
    });
  });

  test('queue 0: the second job is refused while the first runs', async () => {
    const limiter = createLimiter({ concurrency: 1, queue: 0 });
    const { gates, runs } = fill(limiter, 1);
    await gates[0]!.start;
    const e = await overloaded(limiter.run(async () => 1));
    assert.equal(e.headers['retry-after'], '1');
    gates[0]!.release(1);
    await runs[0];
    assert.equal(await limiter.run(async () => 2), 2);
  });

  test('waiting jobs start in arrival order', async () => {
    const limiter = createLimiter({ concurrency: 1, queue: 10 });
    const order: number[] = [];
    const first = gate();
    const head = limiter.run(first.fn);
    const rest = [1, 2, 3, 4].map((i) =>
      limiter.run(async () => {
        order.push(i);
      }),
    );
    await first.start;
    first.release();
    await Promise.all([head, ...rest]);
    assert.deepEqual(order, [1, 2, 3, 4]);
  });

  test('a failing job releases its slot', async () => {
    const limiter = createLimiter({ concurrency: 1, queue: 0 });
    await assert.rejects(
      limiter.run(async () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.deepEqual(limiter.stats(), IDLE_LIMITER_STATS);
    assert.equal(await limiter.run(async () => 'ok'), 'ok');
  });

  test('a caller that aborts while queued leaves the queue and frees its place', async () => {
    const limiter = createLimiter({ concurrency: 1, queue: 1 });
    const { gates, runs } = fill(limiter, 1);
    await gates[0]!.start;
    const abort = new AbortController();
    let ran = false;
    const queued = limiter.run(async () => {
      ran = true;
    }, abort.signal);
    assert.equal(limiter.stats().queued, 1);
    abort.abort(new Error('client went away'));
    await assert.rejects(queued, /client went away/);
    assert.equal(limiter.stats().queued, 0);
    // Its place is free: another caller may queue instead of getting 503.
    const next = gate();
    const nextRun = limiter.run(next.fn);
    assert.equal(limiter.stats().queued, 1);
    gates[0]!.release();
    await runs[0];
    await next.start;
    next.release();
    await nextRun;
    assert.equal(ran, false);
    assert.deepEqual(limiter.stats(), IDLE_LIMITER_STATS);
  });

  test('an already aborted signal takes no slot', async () => {
    const limiter = createLimiter({ concurrency: 1, queue: 0 });
    await assert.rejects(
      limiter.run(async () => 1, AbortSignal.abort(new Error('gone'))),
      /gone/,
    );
    assert.deepEqual(limiter.stats(), IDLE_LIMITER_STATS);
  });

  test('an abort after the job started does not release the slot twice', async () => {
    const limiter = createLimiter({ concurrency: 1, queue: 1 });
    const first = gate();
    const run1 = limiter.run(first.fn);
    const abort = new AbortController();
    const second = gate();
    const run2 = limiter.run(second.fn, abort.signal);
    await first.start;
    first.release();
    await second.start;
    abort.abort();
    await tick();
    assert.deepEqual(limiter.stats(), { ...IDLE_LIMITER_STATS, active: 1 });
    second.release('x');
    await run1;
    assert.equal(await run2, 'x');
    assert.deepEqual(limiter.stats(), IDLE_LIMITER_STATS);
  });

  test('admit: `ahead` more jobs fetch while the slots compute, and take slots in arrival order', async () => {
    const limiter = createLimiter({ concurrency: 1, queue: 1, ahead: 1 });
    const order: string[] = [];
    const fetched = { a: gate(), b: gate() };
    const computing = gate();
    const job = (name: 'a' | 'b', compute: () => Promise<unknown>) =>
      limiter.admit(async (admission) => {
        await fetched[name].fn();
        return admission.run(async () => {
          order.push(name);
          return compute();
        });
      });
    const a = job('a', computing.fn);
    const b = job('b', async () => 'b');
    // Both fetch at once though there is one slot; a third job waits for admission, a fourth is refused.
    await Promise.all([fetched.a.start, fetched.b.start]);
    assert.equal(limiter.stats().active, 0);
    assert.equal(limiter.stats().ahead, 2);
    let thirdRan = false;
    const third = limiter.run(async () => {
      thirdRan = true;
      order.push('c');
      return 'c';
    });
    assert.equal(limiter.stats().queued, 1);
    await overloaded(limiter.run(async () => 'never'));
    // b's input arrives first: b takes the free slot. Done, it lets the third job in, which needs no fetch and
    // computes while a still fetches.
    fetched.b.release();
    assert.equal(await b, 'b');
    assert.equal(await third, 'c');
    assert.ok(thirdRan);
    // a's input arrives while a fourth job holds the slot: a waits for it, admitted but not computing.
    const holder = gate();
    const fourth = limiter.run(holder.fn);
    await holder.start;
    fetched.a.release();
    await tick();
    assert.deepEqual(limiter.stats(), {
      active: 1,
      ahead: 1,
      queued: 0,
      rejected: 1,
      reservedBytes: 0,
      memoryWaiting: 0,
      memoryBytes: Infinity,
    });
    assert.deepEqual(order, ['b', 'c']);
    holder.release();
    await fourth;
    await computing.start;
    computing.release('a');
    assert.equal(await a, 'a');
    assert.deepEqual(order, ['b', 'c', 'a']);
    assert.deepEqual(limiter.stats(), {
      active: 0,
      ahead: 0,
      queued: 0,
      rejected: 1,
      reservedBytes: 0,
      memoryWaiting: 0,
      memoryBytes: Infinity,
    });
  });

  test('admit: a job aborted while waiting for a slot leaves, and its admission is freed', async () => {
    const limiter = createLimiter({ concurrency: 1, queue: 0, ahead: 1 });
    const first = gate();
    const running = limiter.run(first.fn);
    await first.start;
    const abort = new AbortController();
    let ran = false;
    const waiting = limiter.admit(
      (admission) =>
        admission.run(async () => {
          ran = true;
        }),
      abort.signal,
    );
    await tick();
    assert.equal(limiter.stats().ahead, 1);
    abort.abort(new Error('client went away'));
    await assert.rejects(waiting, /client went away/);
    assert.equal(limiter.stats().ahead, 0);
    // Its admission is free again: another job gets in instead of a 503.
    const next = limiter.run(async () => 'next');
    first.release();
    await running;
    assert.equal(await next, 'next');
    assert.equal(ran, false);
    assert.equal(limiter.stats().rejected, 0);
  });
});
