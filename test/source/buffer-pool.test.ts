// The recycled buffers originals are read into (source/buffer-pool.ts): what is handed out, what comes back,
// and the bounds on what it keeps.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { capacityFor, createBufferPool } from '../../src/source/buffer-pool.ts';

const KB = 1024;
const MB = 1024 * KB;

describe('buffer pool', () => {
  test('a buffer given back is taken again for a size it fits (at most 1.5 times smaller), with exactly the length asked', () => {
    const pool = createBufferPool({ maxFreeBytes: 64 * MB });
    const a = pool.take(1_600_000);
    assert.equal(a.length, 1_600_000);
    a.fill(7);
    pool.give(a);
    assert.deepEqual(pool.stats(), { free: 1, freeBytes: capacityFor(1_600_000), reused: 0, allocated: 1 });
    const b = pool.take(1_300_000); // ≥ 1/1.5 of its capacity
    assert.equal(b.length, 1_300_000);
    assert.ok(b.buffer === a.buffer, 'the same memory');
    assert.equal(b.byteOffset, 0);
    assert.deepEqual(pool.stats(), { free: 0, freeBytes: 0, reused: 1, allocated: 1 });
  });

  test('a buffer taken is not handed out again until it is given back', () => {
    const pool = createBufferPool({ maxFreeBytes: 64 * MB });
    const held = [pool.take(300 * KB), pool.take(300 * KB), pool.take(300 * KB)];
    assert.equal(new Set(held.map((b) => b.buffer)).size, 3);
    pool.give(held[1]!);
    const again = pool.take(300 * KB);
    assert.ok(again.buffer === held[1]!.buffer);
    assert.ok(pool.take(300 * KB).buffer !== held[1]!.buffer, 'the free one was taken already');
  });

  test('a free buffer far larger than the size asked is left for its own class', () => {
    const pool = createBufferPool({ maxFreeBytes: 64 * MB });
    const big = pool.take(8 * MB);
    pool.give(big);
    const small = pool.take(1 * MB);
    assert.ok(small.buffer !== big.buffer);
    assert.equal(pool.stats().free, 1);
    // A short read returns a view of what was taken: giving the view back recycles the whole buffer.
    pool.give(small.subarray(0, 1000));
    assert.ok(pool.take(1 * MB).buffer === small.buffer);
  });

  test('buffers it did not make, sizes outside its range, and a second give are ignored', () => {
    const pool = createBufferPool({ maxFreeBytes: 16 * MB, minSize: 64 * KB });
    pool.give(Buffer.alloc(1 * MB));
    pool.give(Buffer.from('tiny'));
    const small = pool.take(10 * KB);
    pool.give(small);
    const huge = pool.take(9 * MB); // above half of maxFreeBytes
    pool.give(huge);
    assert.deepEqual(pool.stats(), { free: 0, freeBytes: 0, reused: 0, allocated: 0 });
    const a = pool.take(1 * MB);
    pool.give(a);
    pool.give(a);
    assert.equal(pool.stats().free, 1);
    const b = pool.take(1 * MB);
    assert.ok(pool.take(1 * MB).buffer !== b.buffer, 'given twice, handed out once');
  });

  test('what it keeps stays within maxFreeBytes, the oldest dropped first', () => {
    const pool = createBufferPool({ maxFreeBytes: 4 * MB, maxSize: 4 * MB });
    const bufs = [1, 2, 3, 4].map(() => pool.take(1 * MB));
    for (const b of bufs) pool.give(b);
    assert.equal(pool.stats().freeBytes, 4 * MB);
    const more = pool.take(3 * MB - 100 * KB);
    pool.give(more);
    const s = pool.stats();
    assert.ok(s.freeBytes <= 4 * MB, `${s.freeBytes}`);
    assert.equal(s.free, 2, 'three 1 MB buffers made room for the 3 MB one');
    assert.ok(pool.take(1 * MB).buffer === bufs[3]!.buffer, 'the newest 1 MB one stayed');
  });

  test('capacities are at most 25 % above the size and fit it', () => {
    for (let size = 64 * KB; size < 64 * MB; size = Math.ceil(size * 1.07) + 13) {
      const c = capacityFor(size);
      assert.ok(c >= size && c <= size * 1.25, `${size} → ${c}`);
      assert.equal(capacityFor(c), c, `${c} is its own class`);
    }
  });
});
