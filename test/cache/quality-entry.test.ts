// The quality q=auto chose travels with a cached variant through the disk and store tiers (X-Kinu-Quality on hits).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createDiskCache } from '../../src/cache/disk.ts';
import { createResultStore } from '../../src/cache/store.ts';
import { tempDir } from '../helpers.ts';
import { entry, variantKey } from './contract.ts';
import { type S3TestServer, startS3 } from './s3-server.ts';

let s3: S3TestServer;
before(async () => {
  s3 = await startS3();
});
after(async () => {
  await s3.stop();
});

test('disk and store keep an entry quality, and an entry without one comes back without one', async () => {
  const disk = await createDiskCache({ dir: tempDir(), maxBytes: 1 << 20 });
  const store = createResultStore({ url: `s3://${s3.bucket}/quality`, client: s3.client() });
  for (const cache of [disk, store]) {
    await cache.set(variantKey(1), entry('a.jpg', 'x', { quality: 62 }));
    await cache.set(variantKey(2), entry('a.jpg', 'y'));
    assert.equal((await cache.get(variantKey(1)))?.quality, 62, cache.tier);
    const plain = await cache.get(variantKey(2));
    assert.ok(plain, cache.tier);
    assert.equal('quality' in plain, false, cache.tier);
    await cache.close();
  }
});
