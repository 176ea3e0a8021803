// The cache contract (contract.ts) on the tiers other than disk (disk.test.ts runs it there): memory, the result
// store on s3rver, and the tiered chain, each from a fresh, empty cache per case.
import { after } from 'node:test';
import type { Cache } from '../../src/cache/cache.ts';
import { createDiskCache } from '../../src/cache/disk.ts';
import { createMemoryCache } from '../../src/cache/memory.ts';
import { createResultStore } from '../../src/cache/store.ts';
import { createTieredCache, type TieredCache } from '../../src/cache/tiered.ts';
import { tempDir } from '../helpers.ts';
import { runCacheContract } from './contract.ts';
import { startS3, type S3TestServer } from './s3-server.ts';

runCacheContract('memory', async () => createMemoryCache({ maxBytes: 1 << 20 }));

// Under CI the S3 test server must start; elsewhere a machine where it cannot skips the store runs, saying why.
let s3: S3TestServer | undefined;
let why: string | undefined;
try {
  s3 = await startS3('kinu-cache-contract');
} catch (err) {
  if (process.env.CI === 'true') throw err;
  why = `the S3 test server (s3rver) did not start: ${String(err)}`;
  console.warn(`SKIPPING the result store's cache contract: ${why}`);
}
after(() => s3?.stop());

let n = 0;
/** A result store in its own prefix: one bucket, cases that do not see each other's objects. */
const store = (): Cache => createResultStore({ url: `s3://${s3!.bucket}/contract/t${++n}`, client: s3!.client() });

runCacheContract('result store', async () => store(), { skip: why });

/**
 * The chain is no `Cache`, by design: its get names the tier that answered, and its set is fire-and-forget
 * (writes below memory run in the background, tiered.ts). Seen through this adapter, a set is done once it
 * reached every tier (flush). The other difference is the chain's own: purge counts every tier's copy.
 */
function asCache(t: TieredCache): Cache {
  return {
    tier: 'memory',
    get: async (key) => (await t.get(key))?.entry,
    set: async (key, entry) => {
      t.set(key, entry);
      await t.flush();
    },
    purge: (sourceKey) => t.purge(sourceKey),
    close: () => t.close(),
    health: () => {
      const all = t.health!();
      return {
        tier: 'memory',
        ok: all.every((h) => h.ok),
        errors: Object.assign({}, ...all.map((h) => h.errors)) as Record<string, number>,
      };
    },
  };
}

runCacheContract(
  'tiered (memory → disk)',
  async () =>
    asCache(
      createTieredCache([
        createMemoryCache({ maxBytes: 1 << 20 }),
        await createDiskCache({ dir: tempDir(), maxBytes: 1 << 20 }),
      ]),
    ),
  { copiesPerVariant: 2 },
);
runCacheContract(
  'tiered (memory → disk → result store)',
  async () =>
    asCache(
      createTieredCache([
        createMemoryCache({ maxBytes: 1 << 20 }),
        await createDiskCache({ dir: tempDir(), maxBytes: 1 << 20 }),
        store(),
      ]),
    ),
  { copiesPerVariant: 3, skip: why },
);
