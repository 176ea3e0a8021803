import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSingleFlight } from '../../src/cache/single-flight.ts';

test('concurrent callers of one key share one run', async () => {
  const sf = createSingleFlight<number>();
  let runs = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const produce = async () => {
    runs++;
    await gate;
    return 42;
  };
  const all = Array.from({ length: 10 }, () => sf.run('k', produce));
  release();
  const results = await Promise.all(all);
  assert.equal(runs, 1);
  assert.deepEqual(
    results.map((r) => r.value),
    Array(10).fill(42),
  );
  assert.equal(results.filter((r) => !r.shared).length, 1);
  assert.equal(sf.inFlight, 0);
});

test('a failure reaches every waiter and is not remembered', async () => {
  const sf = createSingleFlight<number>();
  let runs = 0;
  const fail = async () => {
    runs++;
    await new Promise((r) => setTimeout(r, 5));
    throw new Error('boom');
  };
  const results = await Promise.allSettled([sf.run('k', fail), sf.run('k', fail), sf.run('k', fail)]);
  assert.equal(runs, 1);
  assert.ok(results.every((r) => r.status === 'rejected' && (r.reason as Error).message === 'boom'));
  assert.equal((await sf.run('k', async () => 7)).value, 7);
});

test('one waiter leaving does not abort the run; the last one leaving does', async () => {
  const sf = createSingleFlight<string>();
  let seen: AbortSignal | undefined;
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const produce = async (signal: AbortSignal) => {
    seen = signal;
    await gate;
    signal.throwIfAborted();
    return 'done';
  };
  const a = new AbortController();
  const b = new AbortController();
  const pa = sf.run('k', produce, a.signal);
  const pb = sf.run('k', produce, b.signal);
  a.abort(new Error('a left'));
  await assert.rejects(pa, /a left/);
  assert.equal(seen!.aborted, false);
  release();
  assert.equal((await pb).value, 'done');

  let release2!: () => void;
  const gate2 = new Promise<void>((r) => {
    release2 = r;
  });
  const c = new AbortController();
  const pc = sf.run(
    'k2',
    async (signal) => {
      seen = signal;
      await gate2;
      return 'x';
    },
    c.signal,
  );
  c.abort(new Error('c left'));
  await assert.rejects(pc, /c left/);
  assert.equal(seen!.aborted, true);
  assert.equal(sf.inFlight, 0, 'an abandoned run is not joined by later callers');
  release2();
});
