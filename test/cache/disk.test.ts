import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Cache } from '../../src/cache/cache.ts';
import { allocated, BLOCK, createDiskCache } from '../../src/cache/disk.ts';
import { tempDir } from '../helpers.ts';
import { entry, runCacheContract, variantKey } from './contract.ts';

runCacheContract('disk', () => createDiskCache({ dir: tempDir(), maxBytes: 1 << 20 }));

const fileOf = (dir: string, sourceKey: string, key: string) => {
  const h = createHash('sha256').update(sourceKey).digest('hex');
  return join(dir, h.slice(0, 2), h, key);
};

/** Every entry file under dir (not tmp/), with its size. */
function files(dir: string): { path: string; size: number }[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((p) => !p.startsWith('tmp') && statSync(join(dir, p)).isFile())
    .map((p) => ({ path: join(dir, p), size: statSync(join(dir, p)).size }));
}

/** What the cache's own folders are charged: itself, tmp/, and one original's <h2>/<h> folders with their names. */
const FOLDERS = 2 * BLOCK + 2 * (BLOCK + 64);

/** What one entry with this body size is charged, in whole blocks (keys and metadata of equal length give equal sizes). */
async function entrySize(bodyBytes: number): Promise<number> {
  const dir = tempDir();
  const c = await createDiskCache({ dir, maxBytes: 1 << 30 });
  await c.set(variantKey('probe'), entry('s.jpg', Buffer.alloc(bodyBytes)));
  await c.close();
  return allocated(files(dir)[0]!.size);
}

async function withCache(dir: string, maxBytes: number, fn: (c: Cache) => Promise<void>) {
  const c = await createDiskCache({ dir, maxBytes });
  try {
    await fn(c);
  } finally {
    await c.close();
  }
}

describe('disk cache', () => {
  test('an entry is one file at <h2>/<h>/<key>, and no temporary file remains', async () => {
    const dir = tempDir();
    await withCache(dir, 1 << 20, async (c) => {
      await c.set(variantKey(1), entry('photos/a.jpg', 'body'));
      assert.deepEqual(
        files(dir).map((f) => f.path),
        [fileOf(dir, 'photos/a.jpg', variantKey(1))],
      );
      assert.deepEqual(readdirSync(join(dir, 'tmp')), []);
    });
  });

  test('total size on disk stays within maxBytes; the newest entries are kept', async () => {
    const dir = tempDir();
    const maxBytes = 50_000;
    await withCache(dir, maxBytes, async (c) => {
      for (let i = 0; i < 100; i++) {
        await c.set(variantKey(i), entry(`s${i % 7}.jpg`, Buffer.alloc(1000 + (i % 5) * 700, i)));
        const used = files(dir).reduce((a, f) => a + f.size, 0);
        assert.ok(used <= maxBytes, `${used} bytes on disk after ${i + 1} sets`);
      }
      assert.ok(await c.get(variantKey(99)));
      assert.equal(await c.get(variantKey(0)), undefined);
    });
  });

  test('least recently used goes first, and a get refreshes', async () => {
    const size = await entrySize(2000);
    const dir = tempDir();
    await withCache(dir, FOLDERS + size * 3 + size / 2, async (c) => {
      for (const k of ['a', 'b', 'c']) await c.set(variantKey(k), entry('s.jpg', Buffer.alloc(2000)));
      assert.ok(await c.get(variantKey('a')));
      await c.set(variantKey('d'), entry('s.jpg', Buffer.alloc(2000)));
      assert.equal(await c.get(variantKey('b')), undefined);
      for (const k of ['a', 'c', 'd']) assert.ok(await c.get(variantKey(k)), k);
      assert.equal(files(dir).length, 3);
    });
  });

  test('an entry larger than the whole cache is not stored and evicts nothing', async () => {
    const dir = tempDir();
    await withCache(dir, 40_000, async (c) => {
      await c.set(variantKey('small'), entry('s.jpg', 'small'));
      await c.set(variantKey('huge'), entry('s.jpg', Buffer.alloc(30_000)));
      assert.equal(await c.get(variantKey('huge')), undefined);
      assert.ok(await c.get(variantKey('small')));
    });
  });

  test('entries survive a restart', async () => {
    const dir = tempDir();
    const e = entry('a.jpg', Buffer.alloc(3000, 9));
    await withCache(dir, 1 << 20, (c) => c.set(variantKey(1), e));
    await withCache(dir, 1 << 20, async (c) => {
      assert.deepEqual(await c.get(variantKey(1)), e);
      assert.equal(await c.purge('a.jpg'), 1);
    });
    await withCache(dir, 1 << 20, async (c) => assert.equal(await c.get(variantKey(1)), undefined));
  });

  test('after a restart, recency comes from mtime and a smaller bound evicts at startup', async () => {
    const size = await entrySize(2000);
    const dir = tempDir();
    await withCache(dir, 1 << 20, async (c) => {
      for (const k of ['a', 'b', 'c', 'd']) await c.set(variantKey(k), entry('s.jpg', Buffer.alloc(2000)));
    });
    const t = Date.now() / 1000;
    for (const [k, age] of [
      ['a', 10],
      ['b', 40],
      ['c', 30],
      ['d', 20],
    ] as const)
      utimesSync(fileOf(dir, 's.jpg', variantKey(k)), t - age, t - age);
    await withCache(dir, FOLDERS + size * 2 + size / 2, async (c) => {
      assert.equal(files(dir).length, 2);
      assert.equal(await c.get(variantKey('b')), undefined);
      assert.equal(await c.get(variantKey('c')), undefined);
      assert.ok(await c.get(variantKey('a')));
      assert.ok(await c.get(variantKey('d')));
    });
  });

  describe('damaged entries are a miss and are deleted', () => {
    async function damaged(damage: (path: string) => void) {
      const dir = tempDir();
      const path = fileOf(dir, 'a.jpg', variantKey(1));
      await withCache(dir, 1 << 20, async (c) => {
        await c.set(variantKey(1), entry('a.jpg', Buffer.alloc(4000, 3)));
        await c.set(variantKey(2), entry('a.jpg', 'neighbour'));
      });
      damage(path);
      await withCache(dir, 1 << 20, async (c) => {
        assert.equal(await c.get(variantKey(1)), undefined);
        assert.equal(existsSync(path), false, 'the damaged file is removed');
        assert.ok(await c.get(variantKey(2)), 'its neighbour is intact');
        await c.set(variantKey(1), entry('a.jpg', 'rewritten'));
        assert.equal((await c.get(variantKey(1)))?.body.toString(), 'rewritten');
      });
    }
    const flip = (at: (len: number) => number) => (path: string) => {
      const buf = readFileSync(path);
      buf[at(buf.length)]! ^= 0x40;
      writeFileSync(path, buf);
    };

    test('a flipped byte in the body', () => damaged(flip((n) => n - 100)));
    test('a flipped byte in the metadata', () => damaged(flip(() => 60)));
    test('a flipped byte in the header', () => damaged(flip(() => 1)));
    test('a flipped byte in the checksum', () => damaged(flip(() => 17)));
    test('a file of the previous layout (version 1, a SHA-256 after the lengths)', () =>
      damaged((p) => {
        const buf = readFileSync(p);
        const v1 = Buffer.concat([buf.subarray(0, 16), Buffer.alloc(32), buf.subarray(20)]);
        v1[4] = 1;
        writeFileSync(p, v1);
      }));
    test('a truncated file', () => damaged((p) => truncateSync(p, statSync(p).size - 1)));
    test('an empty file', () => damaged((p) => truncateSync(p, 0)));
    test('extra bytes at the end', () =>
      damaged((p) => writeFileSync(p, Buffer.concat([readFileSync(p), Buffer.from('x')]))));
    test('garbage', () => damaged((p) => writeFileSync(p, 'not a cache entry at all, just some text')));
    test('a valid entry filed under another key', () =>
      damaged((p) => writeFileSync(p, readFileSync(fileOf(join(p, '../../..'), 'a.jpg', variantKey(2))))));

    test('damage while running, after the index was built', async () => {
      const dir = tempDir();
      await withCache(dir, 1 << 20, async (c) => {
        await c.set(variantKey(1), entry('a.jpg', Buffer.alloc(4000, 3)));
        truncateSync(fileOf(dir, 'a.jpg', variantKey(1)), 100);
        assert.equal(await c.get(variantKey(1)), undefined);
        assert.deepEqual(files(dir), []);
      });
    });
  });

  test('a file deleted behind its back is a miss, not an error', async () => {
    const dir = tempDir();
    await withCache(dir, 1 << 20, async (c) => {
      await c.set(variantKey(1), entry('a.jpg', 'x'));
      rmSync(fileOf(dir, 'a.jpg', variantKey(1)));
      assert.equal(await c.get(variantKey(1)), undefined);
      await c.set(variantKey(2), entry('b.jpg', 'y'));
      rmSync(fileOf(dir, 'b.jpg', variantKey(2)));
      mkdirSync(fileOf(dir, 'b.jpg', variantKey(2))); // a folder where the file was
      assert.equal(await c.get(variantKey(2)), undefined);
    });
  });

  test('leftover temporary files and stray names are cleaned at startup; foreign top-level files are left', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'tmp'), { recursive: true });
    writeFileSync(join(dir, 'tmp', 'half-written'), 'partial');
    writeFileSync(join(dir, 'README'), 'not ours');
    const stray = join(fileOf(dir, 'a.jpg', 'x'), '..', 'not a key!');
    mkdirSync(join(stray, '..'), { recursive: true });
    writeFileSync(stray, 'junk');
    await withCache(dir, 1 << 20, async () => {
      assert.deepEqual(readdirSync(join(dir, 'tmp')), []);
      assert.equal(existsSync(stray), false);
      assert.ok(existsSync(join(dir, 'README')));
    });
  });

  test('a failing write is swallowed', async () => {
    const dir = tempDir();
    await withCache(dir, 1 << 20, async (c) => {
      rmSync(join(dir, 'tmp'), { recursive: true });
      writeFileSync(join(dir, 'tmp'), 'a file where the temp folder should be');
      await c.set(variantKey(1), entry('a.jpg', 'x'));
      assert.equal(await c.get(variantKey(1)), undefined);
    });
  });

  test('keys that are not filename-safe are neither stored nor read', async () => {
    const dir = tempDir();
    await withCache(dir, 1 << 20, async (c) => {
      for (const k of ['../escape', 'a/b', '', '.']) {
        await c.set(k, entry('a.jpg', 'x'));
        assert.equal(await c.get(k), undefined);
      }
      assert.deepEqual(files(dir), []);
    });
  });

  test('a variant set again under another original moves with it', async () => {
    const dir = tempDir();
    await withCache(dir, 1 << 20, async (c) => {
      await c.set(variantKey(1), entry('a.jpg', 'from a'));
      await c.set(variantKey(1), entry('b.jpg', 'from b'));
      assert.equal(await c.purge('a.jpg'), 0);
      assert.equal((await c.get(variantKey(1)))?.body.toString(), 'from b');
      assert.equal(files(dir).length, 1);
    });
  });

  test('overwrites are atomic: a key that is present never misses while it is rewritten', async () => {
    const dir = tempDir();
    await withCache(dir, 1 << 24, async (c) => {
      await c.set(variantKey(1), entry('a.jpg', Buffer.alloc(50_000, 1)));
      const ops: Promise<unknown>[] = [];
      for (let i = 0; i < 200; i++) {
        ops.push(c.set(variantKey(1), entry('a.jpg', Buffer.alloc(50_000 + i, i))));
        ops.push(c.get(variantKey(1)).then((e) => assert.ok(e, `miss during overwrite ${i}`)));
      }
      await Promise.all(ops);
    });
  });

  test('a write begun before a purge does not bring the variant back', async () => {
    const dir = tempDir();
    await withCache(dir, 1 << 20, async (c) => {
      const write = c.set(variantKey(1), entry('a.jpg', Buffer.alloc(100_000)));
      assert.equal(await c.purge('a.jpg'), 1);
      await write;
      assert.equal(await c.get(variantKey(1)), undefined);
      assert.deepEqual(files(dir), []);
    });
  });

  test('parallel sets, gets and purges of the same and different keys end consistent', async () => {
    const dir = tempDir();
    const maxBytes = 60_000;
    const bodies = new Map<string, Set<string>>();
    await withCache(dir, maxBytes, async (c) => {
      const ops: Promise<unknown>[] = [];
      for (let i = 0; i < 400; i++) {
        const key = variantKey(i % 3 === 0 ? 'same' : i % 40);
        const source = key === variantKey('same') ? 'same.jpg' : `s${i % 5}.jpg`;
        const body = `${i}:`.padEnd(500 + (i % 13) * 150, String.fromCharCode(97 + (i % 26)));
        if (!bodies.has(key)) bodies.set(key, new Set());
        bodies.get(key)!.add(body);
        ops.push(c.set(key, entry(source, body)));
        ops.push(c.get(key).then((e) => assert.ok(e === undefined || bodies.get(key)!.has(e.body.toString()))));
        if (i % 50 === 25) ops.push(c.purge(`s${i % 5}.jpg`));
      }
      await Promise.all(ops);
      // 41 keys of up to 2.3 KB overflow 60 KB: even the shared key's last write may have been evicted by writes
      // that finished after it (a loaded machine reorders completions). What is there is a body once written.
      const final = await c.get(variantKey('same'));
      assert.ok(final === undefined || bodies.get(variantKey('same'))!.has(final.body.toString()));
      const last = 'the write after the storm';
      await c.set(variantKey('same'), entry('same.jpg', last));
      assert.equal((await c.get(variantKey('same')))?.body.toString(), last, 'a write once all settled is readable');
      bodies.get(variantKey('same'))!.add(last);
      assert.deepEqual(readdirSync(join(dir, 'tmp')), []);
      assert.ok(files(dir).reduce((a, f) => a + f.size, 0) <= maxBytes);
    });
    // What a fresh process finds on disk is exactly what the old one would still serve.
    const seen = new Map<string, string | undefined>();
    await withCache(dir, maxBytes, async (c) => {
      for (const key of bodies.keys()) {
        const e = await c.get(key);
        assert.ok(e === undefined || bodies.get(key)!.has(e.body.toString()), `key ${key} holds a body never written`);
        seen.set(key, e?.body.toString());
      }
    });
    assert.equal(files(dir).length, [...seen.values()].filter(Boolean).length);
  });
});
