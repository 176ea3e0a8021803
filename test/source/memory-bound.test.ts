// Missing keys cost bounded memory: the stat cache keeps 404s apart, as times only, in an LRU bounded in bytes;
// the parse memo keeps only parses of keys known to exist, bounded in bytes too. Checked by the caches' own
// byte accounting after thousands of distinct 1,000-character keys (UTF-8, 3 bytes a character).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KinuError } from '../../src/errors.ts';
import type { Source } from '../../src/source/source.ts';
import { withStatCache } from '../../src/source/stat-cache.ts';
import { memoParse } from '../../src/url/memo.ts';
import type { ParsedRequest } from '../../src/url/native.ts';
import { testServer } from '../helpers.ts';

const longKey = (i: number) => `${i}-${'あ'.repeat(994 - String(i).length)}.jpg`;
const STAT = { version: 'v1', size: 3, lastModified: new Date(0) };

function fakeSource(existing: Set<string>) {
  let calls = 0;
  const source: Source = {
    name: 'fake',
    stat: async (key) => {
      calls++;
      if (!existing.has(key)) throw new KinuError('not_found', `no object with key ${JSON.stringify(key)}`);
      return STAT;
    },
    read: async () => Buffer.alloc(0),
    get: async () => {
      throw new Error('unused');
    },
    ready: async () => true,
  };
  return { source, calls: () => calls };
}

describe('stat cache: bounded in bytes, 404s apart', () => {
  test('12,000 distinct 1,000-character missing keys stay within the 404 bound and do not push out known keys', async () => {
    const f = fakeSource(new Set(['ok.jpg']));
    const maxMissingBytes = 1024 * 1024;
    const s = withStatCache(f.source, { ttlMs: 60_000, maxMissingBytes });
    await s.stat('ok.jpg', {});
    for (let i = 0; i < 12_000; i++)
      await assert.rejects(s.stat(longKey(i), {}), (e: KinuError) => e.code === 'not_found');
    const m = s.memory();
    assert.ok(m.missing.bytes <= maxMissingBytes, `${m.missing.bytes} bytes of 404s`);
    assert.ok(m.missing.keys > 100 && m.missing.keys < 12_000, `${m.missing.keys} 404s remembered`);
    assert.equal(m.found.keys, 1);
    assert.deepEqual(s.peek('ok.jpg'), STAT, 'the flood did not evict a known key');
  });

  test('a remembered 404 answers without I/O within the TTL, then the source is asked again', async () => {
    const existing = new Set<string>();
    const f = fakeSource(existing);
    const s = withStatCache(f.source, { ttlMs: 150 });
    const key = longKey(1);
    await assert.rejects(s.stat(key, {}), (e: KinuError) => e.code === 'not_found' && e.status === 404);
    const err = (await s.stat(key, {}).catch((e: unknown) => e)) as KinuError;
    assert.equal(err.code, 'not_found');
    assert.ok(err.detail.length < 400, 'the detail names the key, shortened');
    assert.equal(f.calls(), 1, 'answered from the negative cache');
    assert.ok(s.memory().missing.bytes > 0);
    existing.add(key);
    await new Promise((res) => setTimeout(res, 200));
    assert.deepEqual(await s.stat(key, {}), STAT);
    assert.equal(f.calls(), 2);
    assert.equal(s.memory().missing.keys, 0, 'a key found again is no longer remembered as missing');
  });

  test('remembered stats are bounded in bytes too', async () => {
    const keys = Array.from({ length: 5000 }, (_, i) => longKey(i));
    const f = fakeSource(new Set(keys));
    const maxBytes = 512 * 1024;
    const s = withStatCache(f.source, { ttlMs: 60_000, maxBytes });
    for (const k of keys) await s.stat(k, {});
    assert.ok(s.memory().found.bytes <= maxBytes, `${s.memory().found.bytes}`);
    assert.ok(s.memory().found.keys < 5000);
  });
});

describe('parse memo', () => {
  function parser() {
    let calls = 0;
    const parse = (rawUrl: string): ParsedRequest => {
      calls++;
      return { key: decodeURIComponent(rawUrl.slice(1).split('?')[0]!), transform: null };
    };
    return { parse, calls: () => calls };
  }

  test('parses of missing keys are not remembered; of existing keys they are, within a byte bound', () => {
    const p = parser();
    const present = new Set<string>();
    const memo = memoParse(p.parse, { exists: (k) => present.has(k), maxBytes: 1024 * 1024 });
    for (let i = 0; i < 12_000; i++) memo(`/${encodeURIComponent(longKey(i))}?w=100`);
    assert.deepEqual(memo.memory(), { bytes: 0, urls: 0 });

    const url = `/${encodeURIComponent(longKey(7))}?w=100`;
    present.add(longKey(7));
    memo(url);
    assert.deepEqual(memo.memory().urls, 0, 'a URL parsed once (a miss, mostly) is not remembered');
    memo(url);
    const before = p.calls();
    assert.equal(memo(url).key, longKey(7));
    assert.equal(p.calls(), before, 'a URL parsed twice is remembered and not parsed again');

    for (let i = 0; i < 12_000; i++) present.add(longKey(i));
    for (let i = 0; i < 12_000; i++) memo(`/${encodeURIComponent(longKey(i))}?w=${i}`);
    assert.ok(memo.memory().urls <= 10, 'URLs seen once stay out (but for hash collisions)');
    for (let i = 0; i < 12_000; i++) memo(`/${encodeURIComponent(longKey(i))}?w=${i}`);
    const m = memo.memory();
    assert.ok(m.bytes <= 1024 * 1024, `${m.bytes} bytes`);
    assert.ok(m.urls > 10 && m.urls < 12_000, `${m.urls} URLs`);
  });
});

describe('through kinu', () => {
  test('3,000 distinct 1,000-character missing keys: 404s, and the negative cache stays within its default bound', async () => {
    const { app } = testServer({ KINU_STAT_TTL: '60' });
    try {
      for (let i = 0; i < 3000; i++) {
        const r = await app.inject({ url: `/${encodeURIComponent(longKey(i))}?w=100` });
        assert.equal(r.statusCode, 404, r.body);
      }
      const m = app.kinu.source.memory();
      assert.ok(m.missing.bytes <= 4 * 1024 * 1024, `${m.missing.bytes} bytes`);
      assert.ok(m.missing.keys < 3000);
      const gc = (globalThis as { gc?: () => void }).gc;
      if (gc) {
        // Only where the runner exposes gc: another 3,000 cost next to nothing once the bound is reached.
        gc();
        const h0 = process.memoryUsage().heapUsed;
        for (let i = 3000; i < 6000; i++) await app.inject({ url: `/${encodeURIComponent(longKey(i))}?w=100` });
        gc();
        assert.ok(process.memoryUsage().heapUsed - h0 < 32 * 1024 * 1024);
      }
    } finally {
      await app.close();
    }
  });
});
