// Crash-safe uploads: a `kill -9` mid-upload leaves a `.kinu-upload-*` temp file. The file source sweeps stale
// ones (every folder under the root) in the background when it starts, and never serves or lists one.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { KinuError } from '../../src/errors.ts';
import { createFileSource, sweepUploads } from '../../src/source/file.ts';
import { corpus, tempDir, testServer } from '../helpers.ts';

const JPEG = readFileSync(corpus('photos/hato-pigeons.jpg'));
const HOUR_AGO = new Date(Date.now() - 3600_000);

function fixture() {
  const root = tempDir('kinu-sweep-');
  mkdirSync(join(root, 'sub', 'deeper'), { recursive: true });
  writeFileSync(join(root, 'keep.jpg'), JPEG);
  const stale = ['.kinu-upload-0b7e-root', 'sub/.kinu-upload-1c2d-sub', 'sub/deeper/.kinu-upload-9f9f-deep'];
  for (const f of stale) {
    writeFileSync(join(root, f), JPEG.subarray(0, 1000)); // as a kill -9 mid-write leaves it: part of an image
    utimesSync(join(root, f), HOUR_AGO, HOUR_AGO);
  }
  // Possibly an upload in flight in another process sharing the folder: too young to sweep.
  writeFileSync(join(root, 'sub', '.kinu-upload-young'), JPEG);
  return { root, stale };
}

describe('stale upload temp files', () => {
  test('the file source sweeps stale ones in every folder when it starts, keeps young ones and real files, and logs', async () => {
    const { root, stale } = fixture();
    const logged: { obj: object; msg: string }[] = [];
    const src = createFileSource({
      root,
      log: { info: (obj, msg) => logged.push({ obj, msg }), warn: (obj, msg) => logged.push({ obj, msg }) },
    });
    const report = await src.swept;
    for (const f of stale) assert.equal(existsSync(join(root, f)), false, `${f} should be gone`);
    assert.deepEqual([...(report?.removed ?? [])].sort(), [...stale].sort());
    assert.equal(report?.bytes, 3000);
    assert.equal(report?.complete, true);
    assert.ok(existsSync(join(root, 'sub', '.kinu-upload-young')));
    assert.ok(existsSync(join(root, 'keep.jpg')));
    assert.equal(logged.length, 1);
    assert.match(logged[0]!.msg, /upload temp/);
    assert.equal((logged[0]!.obj as { files: number }).files, 3);
  });

  test('the walk is bounded: it stops after maxEntries and says so', async () => {
    const { root } = fixture();
    const report = await sweepUploads(root, { maxEntries: 2 });
    assert.equal(report.complete, false);
    assert.equal(report.entries, 2);
  });

  test('a temp file is never an original: not_found for stat, get and read, also through a link; never listed', async () => {
    const { root } = fixture();
    symlinkSync(join(root, 'sub', '.kinu-upload-young'), join(root, 'sub', 'innocent.jpg'));
    const src = createFileSource({ root, sweepUploads: false });
    for (const key of ['sub/.kinu-upload-young', 'sub/innocent.jpg']) {
      await assert.rejects(src.stat(key, {}), (e: KinuError) => e.code === 'not_found', key);
      await assert.rejects(src.get(key, {}), (e: KinuError) => e.code === 'not_found', key);
      await assert.rejects(src.read(key, { maxBytes: 1e8 }), (e: KinuError) => e.code === 'not_found', key);
    }
    assert.deepEqual(await src.list!({ limit: 100 }), ['keep.jpg']);
    await assert.rejects(
      src.put!('sub/.kinu-upload-x', JPEG, { contentType: 'image/jpeg' }),
      (e: KinuError) => e.code === 'invalid_key',
    );
  });

  test('through kinu: the stale files are gone after start, a young one cannot be fetched by name', async () => {
    const { root, stale } = fixture();
    const { app } = testServer({ KINU_SOURCE: root });
    try {
      await app.ready();
      const r = await app.inject({ url: '/sub/.kinu-upload-young' });
      assert.ok(r.statusCode === 404 || r.statusCode === 400, `${r.statusCode} ${r.body.slice(0, 200)}`);
      assert.equal((await app.inject({ url: '/keep.jpg?w=10' })).statusCode, 200);
      // The sweep runs in the background: it is done well within this bound.
      for (let i = 0; i < 100 && stale.some((f) => existsSync(join(root, f))); i++)
        await new Promise((res) => setTimeout(res, 20));
      for (const f of stale) assert.equal(existsSync(join(root, f)), false, `${f} should be gone`);
    } finally {
      await app.close();
    }
  });
});
