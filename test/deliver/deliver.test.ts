// deliver.ts on its own, every dependency a fake but the pipeline (run for real on a 16×12 PNG): conditional
// requests, stale-if-error, single-flight, and what a failure leaves behind. The HTTP tests cover the same
// through Fastify; these pin the use case itself, counting what it asks of the source, cache and pipeline.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import type { CacheEntry } from '../../src/cache/cache.ts';
import type { TieredCache } from '../../src/cache/tiered.ts';
import { loadConfig } from '../../src/config.ts';
import { createDeliver, type Delivery, type DeliverRequest, variantKeysHeld } from '../../src/deliver.ts';
import { KinuError } from '../../src/errors.ts';
import { deliveryHeaders } from '../../src/http/headers.ts';
import { createLimiter } from '../../src/pipeline/limiter.ts';
import { createBufferPool } from '../../src/source/buffer-pool.ts';
import { permanent } from '../../src/source/failure.ts';
import { createFileSource } from '../../src/source/file.ts';
import type { Source } from '../../src/source/source.ts';
import { withStatCache } from '../../src/source/stat-cache.ts';
import { IDENTITY, type Transform } from '../../src/transform.ts';
import { CORPUS, decode, meanColour, tempDir } from '../helpers.ts';
import { until } from '../http/fakes.ts';

const IMAGE = await sharp({ create: { width: 16, height: 12, channels: 3, background: '#c04020' } })
  .png()
  .toBuffer();
const LIMITS = loadConfig({ env: { KINU_SOURCE: CORPUS } }).limits;
const CACHE_CONTROL = 'public, max-age=31536000, immutable';

const resize = (width: number, format: Transform['format'] = 'png'): Transform => ({ ...IDENTITY, width, format });

/** Originals in a map; counts each call; `fail` makes every call throw it; `hold` keeps read() waiting until released. */
function fakeSource(
  objects: Record<string, { bytes: Buffer; version: string }> = { 'a.png': { bytes: IMAGE, version: 'v1' } },
) {
  const calls = { stat: 0, read: 0, get: 0 };
  const state: { fail?: unknown; hold?: Promise<void> } = {};
  const lookup = (key: string) => {
    if (state.fail) throw state.fail;
    const o = objects[key];
    if (!o) throw new KinuError('not_found', `no object with key ${key}`);
    return o;
  };
  const stat = (o: { bytes: Buffer; version: string }) => ({
    version: o.version,
    size: o.bytes.length,
    lastModified: new Date(1_700_000_000_000),
  });
  const source: Source = {
    name: 'fake',
    async stat(key) {
      calls.stat++;
      return stat(lookup(key));
    },
    async read(key) {
      calls.read++;
      await state.hold;
      return lookup(key).bytes;
    },
    async get() {
      calls.get++;
      throw new Error('not used: these tests ask for variants');
    },
    async ready() {
      return true;
    },
  };
  return { source, calls, state, objects };
}

/** A tiered cache over one map, answering as the disk tier; counts gets and sets. */
function fakeCache() {
  const map = new Map<string, CacheEntry>();
  const calls = { get: 0, set: 0 };
  const cache: TieredCache = {
    tiers: ['disk'],
    async get(key) {
      calls.get++;
      const entry = map.get(key);
      return entry && { entry, tier: 'disk' };
    },
    getLocal(key) {
      return this.get(key);
    },
    peek: () => undefined,
    set(key, entry) {
      calls.set++;
      map.set(key, entry);
    },
    async purge() {
      return 0;
    },
    async flush() {},
    async close() {},
  };
  return { cache, map, calls };
}

function setup(opts: { source?: ReturnType<typeof fakeSource>; staleMs?: number } = {}) {
  const src = opts.source ?? fakeSource();
  const c = fakeCache();
  const runs = { ok: 0, failed: 0 };
  // ttl 0: every request asks the source for the stat again (the stat cache has "expired" at once).
  const source = withStatCache(src.source, { ttlMs: 0, staleMs: opts.staleMs ?? 0 });
  const deliver = createDeliver({
    source,
    cache: c.cache,
    limits: LIMITS,
    timeoutMs: 10_000,
    limiter: createLimiter({ concurrency: 4, queue: 100 }),
    onPipelineRun: (t) => {
      if (t) runs.ok++;
      else runs.failed++;
    },
  });
  return { deliver, src, c, runs };
}

const req = (transform: Transform | null, more: Partial<DeliverRequest> = {}): DeliverRequest => ({
  key: 'a.png',
  transform,
  ...more,
});

function variant(d: Delivery): Buffer {
  assert.equal(d.kind, 'variant');
  assert.ok(d.body, 'a body');
  return d.body as Buffer;
}

describe('deliver: conditional requests', () => {
  test('a matching If-None-Match is a 304 without fetching the original, looking in the cache or running the pipeline', async () => {
    const first = setup();
    const d = await first.deliver(req(resize(8)));
    assert.equal(d.status, 200);
    assert.equal((await decode(variant(d))).width, 8);
    assert.match(d.etag, /^"[A-Za-z0-9_-]{27}"$/);

    // Another instance (nothing cached, nothing run) knows the ETag from the stat alone.
    const { deliver, src, c, runs } = setup();
    for (const inm of [d.etag, `W/${d.etag}`, `"other", ${d.etag}`, '*']) {
      const nm = await deliver(req(resize(8), { ifNoneMatch: inm }));
      assert.equal(nm.status, 304, inm);
      assert.equal(nm.body, undefined);
      assert.equal(nm.etag, d.etag);
    }
    assert.deepEqual(
      { read: src.calls.read, cacheGets: c.calls.get, runs: runs.ok + runs.failed },
      { read: 0, cacheGets: 0, runs: 0 },
    );
    assert.equal(src.calls.stat, 4, 'the stat is what the ETag is made from');

    // Not a match: another variant, or the same one after the original changed.
    assert.equal((await deliver(req(resize(9), { ifNoneMatch: d.etag }))).status, 200);
    src.objects['a.png'] = { bytes: IMAGE, version: 'v2' };
    const changed = await deliver(req(resize(8), { ifNoneMatch: d.etag }));
    assert.equal(changed.status, 200);
    assert.notEqual(changed.etag, d.etag);
    assert.equal(runs.ok, 2);
  });

  test('If-Modified-Since is a 304 only without If-None-Match', async () => {
    const { deliver, src } = setup();
    const later = new Date(1_800_000_000_000).toUTCString();
    assert.equal((await deliver(req(resize(8), { ifModifiedSince: later }))).status, 304);
    assert.equal(
      (await deliver(req(resize(8), { ifModifiedSince: later, ifNoneMatch: '"nope"' }))).status,
      200,
      'If-None-Match wins (RFC 9110 §13.2.2)',
    );
    assert.equal(src.calls.read, 1);
  });
});

describe('deliver: stale-if-error', () => {
  test('when the source fails after the stat expired, the cached variant is served, marked stale', async () => {
    const { deliver, src, c, runs } = setup({ staleMs: 60_000 });
    const fresh = await deliver(req(resize(8)));
    assert.equal(fresh.cache, 'miss');
    assert.equal(c.map.size, 1);

    src.state.fail = new KinuError('source_failed', 'the store is down');
    const stale = await deliver(req(resize(8)));
    assert.equal(stale.status, 200);
    assert.equal(stale.stale, 'source_failed');
    assert.equal(stale.cache, 'disk');
    assert.equal(stale.etag, fresh.etag, 'the variant of the last good version');
    assert.ok(variant(stale).equals(variant(fresh)));
    assert.equal(runs.ok, 1, 'no pipeline ran for it');
    assert.equal(src.calls.read, 1, 'nothing was fetched for it');
    const h = deliveryHeaders(stale, CACHE_CONTROL);
    assert.equal(h['x-kinu-stale'], 'source_failed');
    assert.equal(h['cache-control'], 'public, max-age=60', 'kept briefly by caches in front, not for a year');
    assert.equal(h.etag, fresh.etag);
    assert.equal(deliveryHeaders(fresh, CACHE_CONTROL)['cache-control'], CACHE_CONTROL);
    assert.equal(deliveryHeaders(fresh, CACHE_CONTROL)['x-kinu-stale'], undefined);

    // What is not cached cannot be served stale: the failure itself, and no pipeline run.
    await assert.rejects(deliver(req(resize(9))), (e: KinuError) => e.code === 'source_failed' && e.status === 502);
    await assert.rejects(deliver(req(null)), (e: KinuError) => e.code === 'source_failed', 'no original is kept');
    assert.equal(runs.ok + runs.failed, 1);

    // A refusal is an answer, not an outage (a takedown may look like one): no stale copy for it.
    src.state.fail = permanent(new KinuError('source_failed', 'access denied'));
    await assert.rejects(deliver(req(resize(8))), (e: KinuError) => e.code === 'source_failed');

    // Back up: fresh again, no longer marked.
    src.state.fail = undefined;
    const back = await deliver(req(resize(8)));
    assert.equal(back.stale, undefined);
    assert.equal(deliveryHeaders(back, CACHE_CONTROL)['x-kinu-stale'], undefined);
  });

  test('without a stale window, a failing source fails the request even with the variant cached', async () => {
    const { deliver, src } = setup({ staleMs: 0 });
    await deliver(req(resize(8)));
    src.state.fail = new KinuError('source_failed', 'the store is down');
    await assert.rejects(deliver(req(resize(8))), (e: KinuError) => e.code === 'source_failed');
  });
});

describe('deliver: single-flight', () => {
  test('N concurrent identical requests fetch the original and run the pipeline once, and all get its bytes', async () => {
    const src = fakeSource();
    let release!: () => void;
    src.state.hold = new Promise<void>((r) => {
      release = r;
    });
    const { deliver, c, runs } = setup({ source: src });
    const N = 8;
    const all = Array.from({ length: N }, () => deliver(req(resize(8))));
    // A different variant of the same original is its own flight.
    const other = deliver(req(resize(5)));
    await until(
      () => src.calls.read === 2 && src.calls.stat === N + 1,
      'every request asked for its stat and the two flights started',
    );
    release();
    const [done, five] = await Promise.all([Promise.all(all), other]);
    assert.equal(src.calls.read, 2, 'one fetch per variant');
    assert.equal(runs.ok, 2, 'one pipeline run per variant');
    assert.equal(c.calls.set, 2, 'written to the cache once per variant');
    const first = variant(done[0]!);
    assert.equal((await decode(first)).width, 8);
    for (const d of done) {
      assert.equal(d.status, 200);
      assert.ok(variant(d).equals(first));
      assert.equal(d.etag, done[0]!.etag);
    }
    assert.equal((await decode(variant(five))).width, 5);
    // Settled flights are forgotten: the next request is a cache hit, not a join.
    assert.equal((await deliver(req(resize(8)))).cache, 'disk');
    assert.equal(runs.ok, 2);
  });

  test('one caller going away does not fail the others sharing its flight', async () => {
    const src = fakeSource();
    let release!: () => void;
    src.state.hold = new Promise<void>((r) => {
      release = r;
    });
    const { deliver, runs } = setup({ source: src });
    const impatient = new AbortController();
    const gone = deliver(req(resize(8), { signal: impatient.signal }));
    const stays = deliver(req(resize(8)));
    await until(() => src.calls.read === 1, 'the flight started');
    impatient.abort(new Error('client closed the connection'));
    await assert.rejects(gone, /client closed/);
    release();
    assert.equal((await decode(variant(await stays))).width, 8);
    assert.equal(runs.ok, 1);
  });
});

describe('deliver: failures leave nothing behind', () => {
  test('a failing pipeline caches nothing, fails every request sharing it, and is tried again next time', async () => {
    const src = fakeSource({ 'a.png': { bytes: Buffer.from('not an image at all, just text'), version: 'v1' } });
    const { deliver, c, runs } = setup({ source: src });
    const results = await Promise.allSettled([1, 2, 3].map(() => deliver(req(resize(8)))));
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.ok((r as PromiseRejectedResult).reason instanceof KinuError);
      assert.equal(((r as PromiseRejectedResult).reason as KinuError).status, 415);
    }
    assert.equal(runs.failed, 1, 'one run, shared');
    assert.equal(c.calls.set, 0);
    assert.equal(c.map.size, 0);
    await assert.rejects(deliver(req(resize(8))));
    assert.equal(runs.failed, 2, 'the error was not remembered');
    // Fixed at the source: the next request succeeds and only now fills the cache.
    src.objects['a.png'] = { bytes: IMAGE, version: 'v2' };
    assert.equal((await deliver(req(resize(8)))).status, 200);
    assert.equal(c.map.size, 1);
  });

  test('a fetch that fails after the stat succeeded caches nothing', async () => {
    const src = fakeSource();
    const { deliver, c } = setup({ source: src });
    const read = src.source.read;
    src.source.read = async () => {
      throw new KinuError('source_timeout', 'the store did not answer in time');
    };
    await assert.rejects(deliver(req(resize(8))), (e: KinuError) => e.code === 'source_timeout' && e.status === 504);
    assert.equal(c.map.size, 0);
    src.source.read = read;
    assert.equal((await deliver(req(resize(8)))).cache, 'miss');
  });
});

describe('deliver: what a miss keeps', () => {
  test('variants asked once leave no remembered key; one asked again has its key kept, once', async () => {
    const objects = Object.fromEntries(
      Array.from({ length: 30 }, (_, i) => [`k${i}.png`, { bytes: IMAGE, version: `v${i}` }]),
    );
    const { deliver, runs } = setup({ source: fakeSource(objects) });
    const before = variantKeysHeld();
    const etags = new Set<string>();
    for (let i = 0; i < 30; i++) etags.add((await deliver(req(resize(8), { key: `k${i}.png` }))).etag);
    assert.equal(runs.ok, 30);
    assert.equal(etags.size, 30);
    assert.deepEqual(variantKeysHeld(), before, '30 misses, no key kept');
    // Asked again (a new parse: a new transform object), its key is hashed a second time and kept from then on.
    const again = await deliver(req(resize(8), { key: 'k3.png' }));
    assert.equal(variantKeysHeld().entries, before.entries + 1);
    assert.equal((await deliver(req(resize(8), { key: 'k3.png' }))).etag, again.etag);
    assert.equal(variantKeysHeld().entries, before.entries + 1);
    assert.ok(etags.has(again.etag), 'the same ETag as its miss');
  });
});

describe('deliver: recycled original buffers', () => {
  test('concurrent misses over originals read into recycled buffers each get their own image; failures keep theirs', async (t) => {
    const dir = tempDir('kinu-pool-');
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    // Uncompressed PNGs (≈120 KB, so pooled) of one colour each and slightly different sizes, so every buffer is
    // reused across originals: a buffer handed out while libvips still read it would show another's colour.
    const colours = ['#e02010', '#10c020', '#2040e0', '#e0e010', '#10e0e0', '#e010e0'];
    for (const [i, c] of colours.entries()) {
      const side = 200 + 4 * i;
      const png = await sharp({ create: { width: side, height: side, channels: 3, background: c } })
        .png({ compressionLevel: 0 })
        .toBuffer();
      writeFileSync(join(dir, `${i}.png`), png);
    }
    writeFileSync(join(dir, 'broken.png'), Buffer.concat([readFileSync(join(dir, '0.png')).subarray(0, 90_000)]));
    const originals = createBufferPool({ maxFreeBytes: 4 * 1024 * 1024 });
    const deliver = createDeliver({
      source: createFileSource({ root: dir, sweepUploads: false }),
      limits: LIMITS,
      timeoutMs: 10_000,
      limiter: createLimiter({ concurrency: 4, queue: 100 }),
      originals,
    });
    const jobs = [];
    for (let round = 0; round < 5; round++)
      for (const i of colours.keys()) jobs.push({ i, width: 8 + round * colours.length + i });
    const out = await Promise.all(
      jobs.map(async ({ i, width }) => {
        const d = await deliver({ key: `${i}.png`, transform: resize(width) });
        return { i, width, body: variant(d) };
      }),
    );
    for (const { i, width, body } of out) {
      assert.equal((await decode(body)).width, width);
      const want = colours[i]!.match(/[0-9a-f]{2}/g)!.map((h) => Number.parseInt(h, 16));
      const got = await meanColour(body);
      for (const ch of [0, 1, 2])
        assert.ok(Math.abs(got[ch]! - want[ch]!) < 2, `${i}.png w=${width}: ${got} ≠ ${want}`);
    }
    const s = originals.stats();
    assert.ok(s.reused >= jobs.length - 8, `buffers were recycled: ${JSON.stringify(s)}`);
    assert.ok(s.allocated <= 8, `at most the misses in flight had fresh buffers: ${JSON.stringify(s)}`);

    // A failed pipeline's input is not given back (a sibling libvips call could still be reading it).
    await assert.rejects(deliver({ key: 'broken.png', transform: resize(8) }), KinuError);
    const after = originals.stats();
    assert.equal(after.reused + after.allocated, s.reused + s.allocated + 1, 'the broken original was read pooled');
    assert.equal(after.free, s.free - (after.reused - s.reused), 'and its buffer did not come back');
  });
});
