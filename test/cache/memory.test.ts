import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CacheEntry } from '../../src/cache/cache.ts';
import { createMemoryCache } from '../../src/cache/memory.ts';

const entry = (sourceKey: string, bytes: number, fill = 1): CacheEntry => ({
  body: Buffer.alloc(bytes, fill),
  contentType: 'image/jpeg',
  etag: '"e"',
  lastModified: 1_700_000_000_000,
  varyAccept: false,
  sourceKey,
});

test('memory: set/get round trip, miss is undefined', async () => {
  const c = createMemoryCache({ maxBytes: 1 << 20 });
  assert.equal(await c.get('a'), undefined);
  const e = entry('x.jpg', 100, 7);
  await c.set('a', e);
  assert.deepEqual(await c.get('a'), e);
});

test('memory: bounded in bytes, least recently used goes first', async () => {
  const c = createMemoryCache({ maxBytes: 10_000 });
  for (const k of ['a', 'b', 'c']) await c.set(k, entry('s', 2_000));
  await c.get('a'); // a is now more recent than b
  await c.set('d', entry('s', 2_000));
  await c.set('e', entry('s', 2_000)); // 5 × (2000 + overhead) > 10000: the oldest (b) must go
  assert.equal(await c.get('b'), undefined);
  assert.ok(await c.get('a'));
  assert.ok(await c.get('e'));
  const kept = (await Promise.all(['a', 'b', 'c', 'd', 'e'].map((k) => c.get(k)))).filter(Boolean).length;
  assert.ok(kept * 2_000 <= 10_000, `${kept} entries exceed the byte bound`);
});

test('memory: an entry larger than the whole cache is not stored and evicts nothing', async () => {
  const c = createMemoryCache({ maxBytes: 5_000 });
  await c.set('small', entry('s', 100));
  await c.set('huge', entry('s', 50_000));
  assert.equal(await c.get('huge'), undefined);
  assert.ok(await c.get('small'));
});

test('memory: purge removes every variant of one original and only those', async () => {
  const c = createMemoryCache({ maxBytes: 1 << 20 });
  await c.set('a1', entry('a.jpg', 10));
  await c.set('a2', entry('a.jpg', 10));
  await c.set('b1', entry('b.jpg', 10));
  assert.equal(await c.purge('a.jpg'), 2);
  assert.equal(await c.get('a1'), undefined);
  assert.equal(await c.get('a2'), undefined);
  assert.ok(await c.get('b1'));
  assert.equal(await c.purge('a.jpg'), 0);
});
