// Item 1 of the hardening issue: the answer is sent by KINU_TIMEOUT + 1 s after the request arrived, time in
// the queue included, whatever the pipeline is doing; the abandoned work keeps its slot until it really ends.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createLimiter } from '../../src/pipeline/limiter.ts';
import { testServer } from '../helpers.ts';
import { heldSource, problem, until } from './fakes.ts';

const timed = async <T>(p: Promise<T>) => {
  const t0 = Date.now();
  const v = await p;
  return { v, ms: Date.now() - t0 };
};

describe('deadline', () => {
  test('a request waiting for a slot held by stuck work gets its 504 by KINU_TIMEOUT + 1 s', async () => {
    const held = heldSource();
    const { app } = testServer(
      { KINU_TIMEOUT: '1', KINU_SOURCE_TIMEOUT: '60' },
      { source: held.source, limiter: createLimiter({ concurrency: 1, queue: 5 }) },
    );
    const first = timed(app.inject({ url: '/photos/hato-pigeons.jpg?w=16' }));
    await until(() => held.state.entered === 1, 'first request holds the slot');
    const second = timed(app.inject({ url: '/photos/hato-pigeons.jpg?w=17' }));
    await until(() => app.kinu.limiter.stats().queued === 1, 'second request queued');
    for (const r of [await first, await second]) {
      problem(r.v, 504, 'processing_timeout');
      assert.ok(r.ms < 2000, `answered after ${r.ms} ms`);
    }
    // Nobody waits any more: the queued one left the queue, and the stuck source read was let go (it holds
    // no pixels), freeing the slot.
    assert.equal(app.kinu.limiter.stats().queued, 0);
    await until(() => app.kinu.limiter.stats().active === 0, 'abandoned work freed its slot');
    held.release();
    assert.equal((await app.inject({ url: '/photos/hato-pigeons.jpg?w=18' })).statusCode, 200);
    await app.close();
  });

  test('libvips busy far beyond the deadline: 504 by KINU_TIMEOUT + 1 s, and the server serves afterwards', async () => {
    const { app } = testServer({ KINU_TIMEOUT: '1' });
    // A sigma-100 blur of a 16 MP upscale takes many seconds on any machine.
    const r = await timed(
      app.inject({ url: '/photos/hato-pigeons.jpg?w=4000&h=4000&fit=cover&enlarge=1&blur=100&fmt=png' }),
    );
    problem(r.v, 504, 'processing_timeout');
    assert.ok(r.ms < 2000, `answered after ${r.ms} ms`);
    await until(() => app.kinu.limiter.stats().active === 0, 'abandoned pipeline stopped');
    assert.equal(app.kinu.limiter.stats().reservedBytes, 0);
    assert.equal((await app.inject({ url: '/photos/hato-pigeons.jpg?w=20' })).statusCode, 200);
    await app.close();
  });
});
