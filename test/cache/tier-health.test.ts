// Cache tiers never fail a request, but they no longer fail silently: each counts what it swallowed by
// operation, says whether it works now, and logs once per burst (injected clocks, no sleeps).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Cache, CacheEntry } from '../../src/cache/cache.ts';
import { createDiskCache } from '../../src/cache/disk.ts';
import { tierHealth } from '../../src/cache/health.ts';
import { lazyCache } from '../../src/cache/lazy.ts';
import { createMemoryCache } from '../../src/cache/memory.ts';
import { createResultStore } from '../../src/cache/store.ts';
import { createTieredCache } from '../../src/cache/tiered.ts';
import { createS3Client } from '../../src/source/s3-client.ts';
import { tempDir } from '../helpers.ts';
import { closedPort, S3RVER_CREDENTIALS, startSilentServer } from './s3-server.ts';

const entry = (sourceKey = 's.jpg', bytes = 100): CacheEntry => ({
  body: Buffer.alloc(bytes, 7),
  contentType: 'image/webp',
  etag: '"e"',
  lastModified: 0,
  varyAccept: false,
  sourceKey,
});
const vkey = (s: string) => createHash('sha256').update(s).digest('base64url').slice(0, 27);

function recordingLog() {
  const lines: { level: 'warn' | 'info'; obj: Record<string, unknown>; msg: string }[] = [];
  return {
    lines,
    log: {
      warn: (obj: object, msg: string) => {
        lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg });
      },
      info: (obj: object, msg: string) => {
        lines.push({ level: 'info', obj: obj as Record<string, unknown>, msg });
      },
    },
  };
}

test('tier health: counts by op, not ok until every failed op works again, lastError is a code without the message', () => {
  const h = tierHealth('disk');
  assert.deepEqual(h.health(), { tier: 'disk', ok: true, errors: {} });
  const eacces = Object.assign(new Error("EACCES: permission denied, open '/secret/path/tmp/x'"), { code: 'EACCES' });
  h.failed('set', eacces);
  h.failed('set', eacces);
  h.failed('get', Object.assign(new Error('EIO'), { code: 'EIO' }));
  assert.deepEqual(h.health(), { tier: 'disk', ok: false, lastError: 'get: EIO', errors: { set: 2, get: 1 } });
  h.succeeded('get');
  assert.equal(h.health().ok, false, 'reads work again, writes still fail');
  h.succeeded('set');
  assert.equal(h.health().ok, true);
  assert.deepEqual(h.health().errors, { set: 2, get: 1 }, 'counts are cumulative');
  assert.doesNotMatch(JSON.stringify(h.health()), /secret/);
});

test('tier health: one warn per burst and per minute however many requests fail; info when it works again', () => {
  let t = 0;
  const { lines, log } = recordingLog();
  const h = tierHealth('store', { log, now: () => t });
  for (let i = 0; i < 100; i++) {
    h.failed('set', new Error('down'));
    t += 100;
  } // 10 s of failures
  assert.deepEqual(
    lines.map((l) => l.level),
    ['warn'],
  );
  assert.equal(lines[0]!.obj.op, 'set');
  t += 60_000;
  h.failed('set', new Error('down'));
  assert.equal(lines.length, 2);
  assert.equal(lines[1]!.obj.unlogged, 99, 'the second line says how many went unlogged');
  h.succeeded('set');
  assert.deepEqual(
    lines.map((l) => l.level),
    ['warn', 'warn', 'info'],
  );
  // Flapping right after does not log again within the minute.
  h.failed('set', new Error('down'));
  h.succeeded('set');
  h.failed('set', new Error('down'));
  assert.equal(lines.length, 3);
});

test('memory tier: always ok', async () => {
  const m = createMemoryCache({ maxBytes: 1 << 20 });
  await m.set('k', entry());
  assert.deepEqual(m.health?.(), { tier: 'memory', ok: true, errors: {} });
});

test('disk tier: a tmp/ that became a file fails writes (counted, logged once, not ok); a fixed one heals', async () => {
  const dir = tempDir();
  const { lines, log } = recordingLog();
  const disk = await createDiskCache({ dir, maxBytes: 1 << 20, log });
  rmSync(join(dir, 'tmp'), { recursive: true });
  writeFileSync(join(dir, 'tmp'), 'not a folder');
  for (let i = 0; i < 5; i++) await disk.set(vkey(`a${i}`), entry()); // never throws
  assert.equal(await disk.get(vkey('a0')), undefined);
  const h = disk.health!();
  assert.equal(h.ok, false);
  assert.equal(h.errors.set, 5);
  assert.match(h.lastError ?? '', /^set: (ENOTDIR|ENOENT|EEXIST)$/);
  assert.equal(lines.filter((l) => l.level === 'warn').length, 1);
  rmSync(join(dir, 'tmp'));
  mkdirSync(join(dir, 'tmp'));
  await disk.set(vkey('b'), entry());
  assert.ok(await disk.get(vkey('b')));
  assert.equal(disk.health!().ok, true);
  assert.equal(lines.at(-1)?.level, 'info');
  await disk.close();
});

test('disk tier: a purge that cannot remove a folder is counted and still rejects', async () => {
  const dir = tempDir();
  const disk = await createDiskCache({ dir, maxBytes: 1 << 20 });
  await disk.set(vkey('p'), entry('p.jpg'));
  const h = createHash('sha256').update('p.jpg').digest('hex');
  // The original's folder replaced by a file: readdir fails with ENOTDIR, not ENOENT.
  rmSync(join(dir, h.slice(0, 2), h), { recursive: true });
  writeFileSync(join(dir, h.slice(0, 2), h), 'x');
  await assert.rejects(disk.purge('p.jpg'));
  assert.equal(disk.health!().errors.purge, 1);
  assert.equal(disk.health!().ok, false);
  await disk.close();
});

test('lazy tier: a setup that failed is an init error and a tier not ok; a pending one is ok', async () => {
  const file = join(tempDir(), 'file');
  writeFileSync(file, 'x');
  const failed = lazyCache('disk', createDiskCache({ dir: file, maxBytes: 1 << 20 }));
  await failed.set(vkey('k'), entry());
  assert.equal(await failed.get(vkey('k')), undefined);
  const h = failed.health!();
  assert.equal(h.ok, false);
  assert.deepEqual(h.errors, { init: 1 });
  let resolve!: (c: Cache) => void;
  const pending = lazyCache(
    'disk',
    new Promise<Cache>((r) => {
      resolve = r;
    }),
  );
  assert.equal(pending.health!().ok, true);
  resolve(createMemoryCache({ maxBytes: 1000 }));
  await pending.get('k');
  assert.equal(pending.health!().tier, 'memory', "once built, the health is the built tier's own");
});

test('tiered: health lists every tier in order; what a tier without health() throws is counted for it', async () => {
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
  const cache = createTieredCache([createMemoryCache({ maxBytes: 1 << 20 }), broken]);
  assert.equal(await cache.get('k'), undefined);
  cache.set('k', entry());
  await cache.flush();
  await cache.purge('s.jpg');
  const [memory, disk] = cache.health!();
  assert.equal(memory!.ok, true);
  assert.deepEqual(
    { ...disk, lastError: undefined },
    { tier: 'disk', ok: false, lastError: undefined, errors: { get: 1, set: 1, purge: 1 } },
  );
});

test('store tier: down is counted by op and opens the breaker; health shows it', async () => {
  const endpoint = await closedPort();
  const client = createS3Client({ endpoint, credentials: S3RVER_CREDENTIALS, region: 'us-east-1' });
  const cache = createResultStore({ url: 's3://b/p', client, breaker: { failures: 2, cooldownMs: 60_000 } });
  assert.equal(cache.health!().breaker, 'closed');
  assert.equal(await cache.get(vkey('a')), undefined);
  await cache.set(vkey('a'), entry());
  for (let i = 0; i < 5; i++) await cache.get(vkey('a')); // skipped while open: not counted again
  await assert.rejects(cache.purge('s.jpg'));
  const h = cache.health!();
  assert.equal(h.ok, false);
  assert.equal(h.breaker, 'open');
  assert.deepEqual(h.errors, { get: 1, set: 1, purge: 1 });
  await cache.close();
});

test('store tier: after the cool-down one probe goes to a store that never answers; the others are misses at once', async () => {
  const silent = await startSilentServer();
  const client = createS3Client({ endpoint: silent.endpoint, credentials: S3RVER_CREDENTIALS, region: 'us-east-1' });
  let t = 0;
  const cache = createResultStore({
    url: 's3://b/p',
    client,
    timeoutMs: 200,
    breaker: { failures: 1, cooldownMs: 10_000 },
    now: () => t,
  });
  try {
    assert.equal(await cache.get(vkey('a')), undefined); // one deadline, opens the breaker
    assert.equal(cache.health!().breaker, 'open');
    const seen = silent.connections();
    t += 10_000;
    assert.equal(cache.health!().breaker, 'half_open');
    const t0 = performance.now();
    const probe = cache.get(vkey('a'));
    for (let i = 0; i < 5; i++) assert.equal(await cache.get(vkey('b')), undefined);
    assert.ok(performance.now() - t0 < 150, `callers behind the probe waited ${performance.now() - t0} ms`);
    assert.equal(await probe, undefined);
    assert.equal(silent.connections(), seen + 1, 'one probe, one connection');
    assert.equal(cache.health!().breaker, 'open', 'the failed probe re-opened it');
  } finally {
    await cache.close();
    await silent.stop();
  }
});
