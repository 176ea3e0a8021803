import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Cache, CacheEntry } from '../../src/cache/cache.ts';
import { createMemoryCache } from '../../src/cache/memory.ts';
import { createTieredCache } from '../../src/cache/tiered.ts';

const entry = (sourceKey = 's.jpg'): CacheEntry => ({
  body: Buffer.from('pixels'),
  contentType: 'image/webp',
  etag: '"e"',
  lastModified: 0,
  varyAccept: true,
  sourceKey,
});

/** A memory tier renamed, to stand for a lower tier, counting its calls. */
function tier(name: 'disk' | 'store') {
  const inner = createMemoryCache({ maxBytes: 1 << 20 });
  const calls = { get: 0, set: 0 };
  const c: Cache = {
    ...inner,
    tier: name,
    get: (k) => {
      calls.get++;
      return inner.get(k);
    },
    set: (k, e) => {
      calls.set++;
      return inner.set(k, e);
    },
  };
  return { c, calls };
}

test('lookups go memory → disk → store; a lower hit fills the tiers above', async () => {
  const memory = createMemoryCache({ maxBytes: 1 << 20 });
  const disk = tier('disk');
  const store = tier('store');
  const cache = createTieredCache([memory, disk.c, store.c]);
  assert.equal(await cache.get('k'), undefined);
  await store.c.set('k', entry());
  const hit = await cache.get('k');
  assert.equal(hit?.tier, 'store');
  await cache.flush();
  assert.ok(await disk.c.get('k'), 'disk filled');
  assert.equal((await cache.get('k'))?.tier, 'memory');
});

test('set writes every tier; purge reaches every tier', async () => {
  const memory = createMemoryCache({ maxBytes: 1 << 20 });
  const disk = tier('disk');
  const cache = createTieredCache([memory, disk.c]);
  cache.set('k1', entry('a.jpg'));
  cache.set('k2', entry('b.jpg'));
  await cache.flush();
  assert.equal(disk.calls.set, 2);
  assert.equal(await cache.purge('a.jpg'), 2);
  assert.equal(await memory.get('k1'), undefined);
  assert.equal(await disk.c.get('k1'), undefined);
  assert.ok(await disk.c.get('k2'));
});

test('a failing tier is a miss, never an error', async () => {
  const broken: Cache = {
    tier: 'disk',
    get: async () => {
      throw new Error('EIO');
    },
    set: async () => {
      throw new Error('ENOSPC');
    },
    purge: async () => {
      throw new Error('EIO');
    },
    close: async () => {},
  };
  const cache = createTieredCache([broken]);
  assert.equal(await cache.get('k'), undefined);
  cache.set('k', entry());
  await cache.flush();
  assert.equal(await cache.purge('s.jpg'), 0);
});

test('getLocal asks the tiers on this machine only: the result store is never asked, and a disk hit fills memory', async () => {
  const memory = createMemoryCache({ maxBytes: 1 << 20 });
  const disk = tier('disk');
  const store = tier('store');
  const cache = createTieredCache([memory, disk.c, store.c]);
  await store.c.set('s', entry());
  assert.equal(await cache.getLocal('s'), undefined, 'only the store has it');
  assert.equal(store.calls.get, 0, 'the store was not asked');
  await disk.c.set('d', entry());
  assert.equal((await cache.getLocal('d'))?.tier, 'disk');
  await cache.flush();
  assert.equal((await cache.getLocal('d'))?.tier, 'memory', 'the disk hit filled memory');
  // Without a store every tier is local.
  const noStore = createTieredCache([disk.c]);
  assert.equal((await noStore.getLocal('d'))?.tier, 'disk');
});
