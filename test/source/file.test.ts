import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { describe, test } from 'node:test';
import { KinuError, type ErrorCode } from '../../src/errors.ts';
import { createFileSource } from '../../src/source/file.ts';
import { corpus, tempDir } from '../helpers.ts';

/** root/ with a.jpg, sub/b.png, a dir, links in and out; outside/ next to it with a secret. */
function fixture() {
  const base = tempDir();
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  mkdirSync(join(root, 'sub'), { recursive: true });
  mkdirSync(join(root, 'dir'));
  mkdirSync(outside);
  writeFileSync(join(root, 'a.jpg'), readFileSync(corpus('photos/hato-pigeons.jpg')));
  writeFileSync(join(root, 'sub', 'b.png'), 'png bytes');
  writeFileSync(join(outside, 'secret.txt'), 'secret');
  writeFileSync(join(base, 'root-sibling.txt'), 'sibling');
  symlinkSync(join(root, 'sub', 'b.png'), join(root, 'link-in.png'));
  symlinkSync('sub', join(root, 'linkdir'));
  symlinkSync(join(outside, 'secret.txt'), join(root, 'link-out.txt'));
  symlinkSync(outside, join(root, 'outdir'));
  symlinkSync('../root-sibling.txt', join(root, 'rel-out.txt'));
  symlinkSync(join(root, 'missing'), join(root, 'dangling'));
  symlinkSync('loop', join(root, 'loop'));
  return { base, root, outside, source: createFileSource({ root }) };
}

async function code(p: Promise<unknown>): Promise<ErrorCode | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    assert.ok(e instanceof KinuError, String(e));
    return e.code;
  }
}

describe('file source', () => {
  test('stat and get a file; get streams its exact bytes', async () => {
    const { root, source } = fixture();
    const want = readFileSync(join(root, 'a.jpg'));
    const st = await source.stat('a.jpg', {});
    assert.equal(st.size, want.length);
    assert.ok(st.lastModified instanceof Date);
    const obj = await source.get('a.jpg', {});
    assert.equal(obj.size, want.length);
    assert.equal(obj.version, st.version);
    assert.deepEqual(await buffer(obj.body), want);
    assert.deepEqual(await buffer((await source.get('sub/b.png', {})).body), Buffer.from('png bytes'));
  });

  test('a symlink inside the root works, to a file or a folder', async () => {
    const { source } = fixture();
    assert.deepEqual(await buffer((await source.get('link-in.png', {})).body), Buffer.from('png bytes'));
    assert.deepEqual(await buffer((await source.get('linkdir/b.png', {})).body), Buffer.from('png bytes'));
    assert.equal((await source.stat('link-in.png', {})).size, 9);
  });

  const NOT_FOUND = [
    'missing.jpg',
    'sub/missing.png',
    'dir',
    'sub',
    'a.jpg/x',
    'link-out.txt',
    'outdir/secret.txt',
    'rel-out.txt',
    'dangling',
    'loop',
    '../outside/secret.txt',
    'sub/../../outside/secret.txt',
    '../root-sibling.txt',
    `${'x'.repeat(300)}.jpg`,
  ];
  for (const key of NOT_FOUND) {
    test(`${key.slice(0, 40)} is not_found for stat and get`, async () => {
      const { source } = fixture();
      assert.equal(await code(source.stat(key, {})), 'not_found');
      assert.equal(await code(source.get(key, {})), 'not_found');
    });
  }

  test('the version changes when the file changes', async () => {
    const { root, source } = fixture();
    const path = join(root, 'sub', 'b.png');
    const v1 = (await source.stat('sub/b.png', {})).version;
    assert.equal((await source.stat('sub/b.png', {})).version, v1);
    writeFileSync(path, 'png bytes, longer');
    const v2 = (await source.stat('sub/b.png', {})).version;
    assert.notEqual(v2, v1);
    // Same size, new mtime.
    writeFileSync(path, 'png bytes, LONGER');
    utimesSync(path, new Date(2001, 1, 1), new Date(2001, 1, 1));
    const st3 = await source.stat('sub/b.png', {});
    assert.notEqual(st3.version, v2);
    assert.equal(st3.lastModified.getTime(), new Date(2001, 1, 1).getTime());
  });

  test('ready: true for a folder; false when it is missing or a file; recovers', async () => {
    const { base, root, source } = fixture();
    assert.equal(await source.ready(), true);
    assert.equal(await createFileSource({ root: join(base, 'nope') }).ready(), false);
    assert.equal(await createFileSource({ root: join(root, 'a.jpg') }).ready(), false);
    const later = join(base, 'later');
    const s = createFileSource({ root: later });
    assert.equal(await s.ready(), false);
    assert.equal(await code(s.stat('a.jpg', {})), 'source_failed');
    mkdirSync(later);
    writeFileSync(join(later, 'a.jpg'), 'x');
    assert.equal(await s.ready(), true);
    assert.equal((await s.stat('a.jpg', {})).size, 1);
    rmSync(later, { recursive: true });
  });

  test('a root that is itself a symlink works', async () => {
    const { base, root } = fixture();
    symlinkSync(root, join(base, 'root-link'));
    const s = createFileSource({ root: join(base, 'root-link') });
    assert.equal((await s.stat('sub/b.png', {})).size, 9);
    assert.equal(await code(s.stat('link-out.txt', {})), 'not_found');
  });
});

describe('file source, special files', () => {
  test('a FIFO is not_found and opening it does not hang', async (t) => {
    const { root, source } = fixture();
    const r = spawnSync('mkfifo', [join(root, 'pipe.jpg')]);
    if (r.status !== 0) return t.skip('mkfifo not available');
    assert.equal(await code(source.stat('pipe.jpg', {})), 'not_found');
    assert.equal(await code(source.get('pipe.jpg', {})), 'not_found');
    assert.equal(await code(source.read('pipe.jpg', { maxBytes: 1000 })), 'not_found');
  });

  test('a root of / still contains its files', async () => {
    const { root } = fixture();
    const s = createFileSource({ root: '/', sweepUploads: false });
    assert.equal((await s.stat(join(root, 'sub', 'b.png').slice(1), {})).size, 9);
  });
});

test('read() returns the exact bytes in one buffer and refuses files over maxBytes with 413', async () => {
  const dir = tempDir();
  const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
  writeFileSync(join(dir, 'a.bin'), bytes);
  const src = createFileSource({ root: dir });
  assert.ok((await src.read('a.bin', { maxBytes: 1_000_000 })).equals(bytes));
  await assert.rejects(src.read('a.bin', { maxBytes: 1000 }), { code: 'source_too_large' });
  await assert.rejects(src.read('missing.bin', { maxBytes: 1000 }), { code: 'not_found' });
});

test('read() fills the buffer its caller allocates (a recycled one) with exactly the file, and asks none past maxBytes', async () => {
  const dir = tempDir();
  const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 251));
  writeFileSync(join(dir, 'a.bin'), bytes);
  const src = createFileSource({ root: dir });
  const given: Buffer[] = [];
  const alloc = (size: number) => {
    const b = Buffer.alloc(size + 1000, 0xee).subarray(0, size); // stale bytes around it, as a reused buffer has
    given.push(b);
    return b;
  };
  const got = await src.read('a.bin', { maxBytes: 1_000_000, alloc });
  assert.equal(given.length, 1);
  assert.ok(got.buffer === given[0]!.buffer, 'read into the buffer it was given');
  assert.ok(got.equals(bytes));
  await assert.rejects(src.read('a.bin', { maxBytes: 1000, alloc }), { code: 'source_too_large' });
  assert.equal(given.length, 1, 'nothing allocated for a refused file');
});

test('read() closes every descriptor it opens: after reads, refusals and aborts none is left open', async (t) => {
  if (!existsSync('/proc/self/fd')) return t.skip('no /proc/self/fd on this system');
  const dir = tempDir();
  writeFileSync(join(dir, 'a.bin'), Buffer.alloc(200_000, 7));
  mkdirSync(join(dir, 'folder.jpg'));
  const src = createFileSource({ root: dir, sweepUploads: false });
  const open = () => readdirSync('/proc/self/fd').length;
  await src.read('a.bin', { maxBytes: 1e6 }); // the first call opens what stays open (the thread pool)
  const before = open();
  for (let i = 0; i < 20; i++) {
    assert.equal((await src.read('a.bin', { maxBytes: 1e6 })).length, 200_000);
    await assert.rejects(src.read('a.bin', { maxBytes: 10 }), { code: 'source_too_large' });
    await assert.rejects(src.read('folder.jpg', { maxBytes: 1e6 }), { code: 'not_found' });
    const why = new Error('client gone');
    await assert.rejects(src.read('a.bin', { maxBytes: 1e6, signal: AbortSignal.abort(why) }), (e) => e === why);
  }
  assert.equal(open(), before);
});
