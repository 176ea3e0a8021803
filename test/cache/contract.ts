// What every cache tier must do, whatever it stores into: run it from each tier's test file with a factory
// that returns a fresh, empty cache. Tier-specific behaviour (bounds, restarts, damage) stays in those files.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Cache, CacheEntry } from '../../src/cache/cache.ts';

export function entry(sourceKey: string, body: Buffer | string, over: Partial<CacheEntry> = {}): CacheEntry {
  return {
    body: Buffer.isBuffer(body) ? body : Buffer.from(body),
    contentType: 'image/webp',
    etag: '"v1-abc"',
    lastModified: 1_700_000_000_000,
    varyAccept: true,
    sourceKey,
    ...over,
  };
}

/** A 27-character base64url variant key, like the real ones. */
export function variantKey(n: number | string): string {
  return Buffer.from(String(n)).toString('base64url').padEnd(27, 'A').slice(0, 27);
}

export interface CacheContractOptions {
  /** Skip every case, with this reason (said loudly by node:test). */
  readonly skip?: string;
  /**
   * What purge counts per variant removed: 1 for a tier; for the tiered chain, one per tier that held it (it sums
   * its tiers' counts, as tiered.test.ts pins).
   */
  readonly copiesPerVariant?: number;
}

export function runCacheContract(name: string, make: () => Promise<Cache>, opts: CacheContractOptions = {}): void {
  const copies = opts.copiesPerVariant ?? 1;
  describe(`${name} cache contract`, { skip: opts.skip }, () => {
    async function withCache(fn: (c: Cache) => Promise<void>) {
      const c = await make();
      try {
        await fn(c);
      } finally {
        await c.close();
      }
    }

    test('a miss is undefined', () =>
      withCache(async (c) => {
        assert.equal(await c.get(variantKey('none')), undefined);
      }));

    test('set then get returns an equal entry, every field and every byte', () =>
      withCache(async (c) => {
        const body = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 31) % 256));
        const e = entry('photos/ünï cödé/a b.jpg', body, {
          contentType: 'image/avif',
          etag: '"x-1"',
          lastModified: 1_234_567_890_000,
        });
        await c.set(variantKey(1), e);
        const got = await c.get(variantKey(1));
        assert.ok(got);
        assert.ok(got.body.equals(body));
        assert.deepEqual({ ...got, body: undefined }, { ...e, body: undefined });
        const plain = entry('b.png', 'x', { varyAccept: false, contentType: 'image/png' });
        await c.set(variantKey(2), plain);
        assert.equal((await c.get(variantKey(2)))?.varyAccept, false);
      }));

    test('an empty body round-trips', () =>
      withCache(async (c) => {
        await c.set(variantKey('empty'), entry('e.jpg', Buffer.alloc(0)));
        assert.equal((await c.get(variantKey('empty')))?.body.length, 0);
      }));

    test('set overwrites', () =>
      withCache(async (c) => {
        await c.set(variantKey(1), entry('a.jpg', 'first', { etag: '"1"' }));
        await c.set(variantKey(1), entry('a.jpg', 'second', { etag: '"2"' }));
        const got = await c.get(variantKey(1));
        assert.equal(got?.body.toString(), 'second');
        assert.equal(got?.etag, '"2"');
      }));

    test('keys are independent', () =>
      withCache(async (c) => {
        for (let i = 0; i < 20; i++) await c.set(variantKey(i), entry(`s${i % 3}.jpg`, `body ${i}`));
        for (let i = 0; i < 20; i++) assert.equal((await c.get(variantKey(i)))?.body.toString(), `body ${i}`);
      }));

    test('purge removes every variant of one original, only those, and counts them', () =>
      withCache(async (c) => {
        await c.set(variantKey('a1'), entry('dir/a.jpg', 'a1'));
        await c.set(variantKey('a2'), entry('dir/a.jpg', 'a2'));
        await c.set(variantKey('b1'), entry('dir/b.jpg', 'b1'));
        await c.set(variantKey('c1'), entry('dir/a.jpg.bak', 'c1'));
        assert.equal(await c.purge('dir/a.jpg'), 2 * copies);
        assert.equal(await c.get(variantKey('a1')), undefined);
        assert.equal(await c.get(variantKey('a2')), undefined);
        assert.equal((await c.get(variantKey('b1')))?.body.toString(), 'b1');
        assert.equal((await c.get(variantKey('c1')))?.body.toString(), 'c1');
        assert.equal(await c.purge('dir/a.jpg'), 0);
        assert.equal(await c.purge('never-seen.jpg'), 0);
        await c.set(variantKey('a1'), entry('dir/a.jpg', 'again'));
        assert.equal((await c.get(variantKey('a1')))?.body.toString(), 'again');
      }));

    test('a tier that worked reports itself ok, with no failures counted', () =>
      withCache(async (c) => {
        await c.set(variantKey('h'), entry('h.jpg', 'h'));
        assert.equal((await c.get(variantKey('h')))?.body.toString(), 'h');
        assert.equal(await c.get(variantKey('none')), undefined, 'a miss is no failure');
        await c.purge('h.jpg');
        const h = c.health?.();
        if (!h) return; // optional: a tier without one counts as ok (cache.ts)
        assert.equal(h.tier, c.tier);
        assert.equal(h.ok, true, JSON.stringify(h));
        assert.deepEqual(
          Object.values(h.errors).filter((n) => n > 0),
          [],
          JSON.stringify(h.errors),
        );
      }));

    test('close resolves and can follow pending writes', async () => {
      const c = await make();
      const writes = [1, 2, 3].map((i) => c.set(variantKey(i), entry('a.jpg', String(i))));
      await c.close();
      await Promise.all(writes);
    });
  });
}
