// The disk cache's bound is on what its files take on disk (whole blocks, folders included), not on their
// lengths: many tiny entries must not take several times the configured size, nor an inode each without end.
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BLOCK, createDiskCache } from '../../src/cache/disk.ts';
import { tempDir } from '../helpers.ts';
import { entry, variantKey } from './contract.ts';

/** What `du` counts: allocated blocks of every file and folder under dir, dir included. */
function du(dir: string): { bytes: number; files: number } {
  let bytes = statSync(dir).blocks * 512;
  let files = 0;
  for (const p of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const st = statSync(join(dir, p));
    bytes += st.blocks * 512;
    if (st.isFile()) files++;
  }
  return { bytes, files };
}

test('5,000 tiny entries over 1,000 originals: du and the entry count stay within the configured size', async () => {
  const dir = tempDir();
  const maxBytes = 1 << 20;
  const c = await createDiskCache({ dir, maxBytes });
  for (let i = 0; i < 5000; i++) await c.set(variantKey(i), entry(`o${i % 1000}.jpg`, Buffer.alloc(100, i)));
  await c.close();
  const used = du(dir);
  assert.ok(used.bytes <= maxBytes, `${used.bytes} bytes allocated under a ${maxBytes}-byte cache`);
  assert.ok(used.files <= maxBytes / BLOCK, `${used.files} entry files`);
  assert.ok(used.files > 0);
  // A restart indexes what is there and, with a smaller bound, evicts down to it.
  const smaller = 256 * 1024;
  const again = await createDiskCache({ dir, maxBytes: smaller });
  assert.ok(await again.get(variantKey(4999)), 'the newest entry survives');
  await again.close();
  const after = du(dir);
  assert.ok(after.bytes <= smaller, `${after.bytes} bytes after a restart with ${smaller}`);
});

test('entries are capped at one per block of the size: tiny entries of one original evict each other', async () => {
  const dir = tempDir();
  const maxBytes = 64 * 1024;
  const c = await createDiskCache({ dir, maxBytes });
  for (let i = 0; i < 200; i++) await c.set(variantKey(i), entry('one.jpg', Buffer.from(`tiny ${i}`)));
  assert.ok(await c.get(variantKey(199)));
  assert.equal(await c.get(variantKey(0)), undefined);
  await c.close();
  const used = du(dir);
  assert.ok(used.files <= maxBytes / BLOCK, `${used.files} files for a ${maxBytes}-byte cache`);
  assert.ok(used.bytes <= maxBytes, `${used.bytes} bytes allocated`);
});
