// A cache tier that fails (a disk that can no longer write, a result store that went down) never fails a
// request, and is no longer silent: kinu_cache_errors_total{tier,op} counts it and /_kinu/ready shows it
// (still 200: kinu serves without the tier).
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startS3, useS3rverCredentials } from '../cache/s3-server.ts';
import { decode, tempDir, testServer } from '../helpers.ts';
import type { KinuServer } from '../../src/server.ts';

async function cacheErrors(app: KinuServer, tier: string, op: string): Promise<number> {
  const { body } = await app.kinu.metrics.scrape();
  const m = new RegExp(`^kinu_cache_errors_total\\{tier="${tier}",op="${op}"\\} (\\d+)$`, 'm').exec(body);
  return m ? Number(m[1]) : 0;
}

interface Ready {
  status: string;
  degraded: string[];
  caches: { tier: string; ok: boolean; breaker?: string; lastError?: string; errors: Record<string, number> }[];
}
async function ready(app: KinuServer): Promise<Ready> {
  const res = await app.inject({ url: '/_kinu/ready' });
  assert.equal(res.statusCode, 200, 'a failing cache tier never makes kinu not ready');
  return res.json();
}

/** Distinct new variants, each answered 200 with the width asked for (proved by decoding). */
async function serveNew(app: KinuServer, widths: number[]) {
  for (const w of widths) {
    const res = await app.inject({ url: `/photos/hato-pigeons.jpg?w=${w}&fmt=png` });
    assert.equal(res.statusCode, 200);
    assert.equal((await decode(res.rawPayload)).width, w);
  }
  await app.kinu.cache.flush();
}

test('a disk tier that can no longer write: requests 200, disk/set errors counted, ready shows disk not ok', async () => {
  const dir = tempDir();
  const { app } = testServer({ KINU_CACHE_DIR: dir });
  await serveNew(app, [20]); // the disk tier is set up and writes
  let r = await ready(app);
  assert.deepEqual(
    r.caches.map((c) => [c.tier, c.ok]),
    [
      ['memory', true],
      ['disk', true],
    ],
  );
  assert.deepEqual(r.degraded, []);
  assert.equal(await cacheErrors(app, 'disk', 'set'), 0);

  // Its tmp/ folder replaced by a file: every write fails (ENOTDIR), as on a full or read-only disk.
  rmSync(join(dir, 'tmp'), { recursive: true });
  writeFileSync(join(dir, 'tmp'), '');
  await serveNew(app, [21, 22, 23]);
  assert.equal(await cacheErrors(app, 'disk', 'set'), 3);
  r = await ready(app);
  assert.equal(r.status, 'ready');
  assert.deepEqual(r.degraded, ['disk']);
  const disk = r.caches.find((c) => c.tier === 'disk')!;
  assert.equal(disk.ok, false);
  assert.equal(disk.errors.set, 3);
  assert.match(disk.lastError ?? '', /^set: [A-Z]+$/);
  assert.doesNotMatch(JSON.stringify(r), new RegExp(dir.replace(/[/\\]/g, '.')), 'no paths in a public answer');
  await app.close();
});

test('a result store that goes down: requests 200, store errors counted, breaker open, ready shows the store not ok', async () => {
  const s3 = await startS3('kinu-down');
  useS3rverCredentials();
  const { app } = testServer({
    KINU_RESULT_STORE: 's3://kinu-down/v',
    KINU_S3_ENDPOINT: s3.endpoint,
    KINU_MEMORY_CACHE_MB: '0',
  });
  try {
    await serveNew(app, [30]);
    let r = await ready(app);
    assert.deepEqual(
      r.caches.map((c) => [c.tier, c.ok, c.breaker]),
      [['store', true, 'closed']],
    );
    await s3.stop();
    await serveNew(app, [31, 32, 33, 34]);
    // Each miss looks up then writes; three failures in a row open the breaker and the rest are skipped.
    const counted = async () => (await cacheErrors(app, 'store', 'get')) + (await cacheErrors(app, 'store', 'set'));
    const opened = await counted();
    assert.ok(opened >= 3, `${opened} store errors counted`);
    assert.ok((await cacheErrors(app, 'store', 'get')) >= 1 && (await cacheErrors(app, 'store', 'set')) >= 1);
    await serveNew(app, [35, 36]);
    assert.equal(await counted(), opened, 'skipped while the breaker is open: neither tried nor counted');
    r = await ready(app);
    assert.deepEqual(r.degraded, ['store']);
    const store = r.caches[0]!;
    assert.equal(store.ok, false);
    assert.equal(store.breaker, 'open');
  } finally {
    await app.close();
    await s3.stop();
  }
});
