import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import sharp from 'sharp';
import { KinuError } from '../../src/errors.ts';
import { createHeaderMemo } from '../../src/pipeline/header-memo.ts';
import { acceptClass } from '../../src/pipeline/negotiate.ts';
import { runPipeline, sourceInfo } from '../../src/pipeline/pipeline.ts';
import { IDENTITY } from '../../src/transform.ts';
import { corpus, decode, testServer } from '../helpers.ts';

const limits = { maxPixels: 100_000_000, maxFrames: 500 };
const opts = { limits, timeoutMs: 10_000, accept: acceptClass('*/*') };
const t = { ...IDENTITY, width: 64, format: 'jpeg' as const };

test('a remembered header is used instead of reading it again, only for bytes of the same length', async () => {
  const input = readFileSync(corpus('photos/hato-pigeons.jpg'));
  const real = { ...sourceInfo(await sharp(input).metadata()), bytes: input.length };
  const memo = createHeaderMemo();
  // A header that declares more pixels than allowed: if it is used, the limit refuses the request unread.
  memo.set('a', { ...real, width: 20_000, height: 20_000 });
  await assert.rejects(
    runPipeline(input, t, { ...opts, header: { memo, id: 'a' } }),
    (e) => e instanceof KinuError && e.code === 'too_many_pixels',
  );
  // Other bytes under that id (another length) are read afresh, and what is read is remembered.
  memo.set('b', { ...real, width: 20_000, height: 20_000, bytes: input.length + 1 });
  const out = await runPipeline(input, t, { ...opts, header: { memo, id: 'b' } });
  assert.equal((await decode(out.data)).width, 64);
  assert.deepEqual(memo.get('b', input.length), real);
});

test('a second variant of one original reads its header once', async (ctx) => {
  const proto = Object.getPrototypeOf(sharp()) as { metadata: (...a: unknown[]) => unknown };
  const original = proto.metadata;
  let reads = 0;
  proto.metadata = function (this: unknown, ...a: unknown[]) {
    reads++;
    return original.apply(this, a);
  };
  ctx.after(() => {
    proto.metadata = original;
  });
  const { app } = testServer({ KINU_MEMORY_CACHE_MB: '0' });
  ctx.after(() => app.close());
  const bodies = [];
  for (const w of [100, 120, 100]) {
    const r = await app.inject({ url: `/photos/hato-pigeons.jpg?w=${w}&fmt=jpeg` });
    assert.equal(r.statusCode, 200);
    bodies.push(r.rawPayload);
  }
  assert.equal(reads, 1);
  assert.deepEqual(await Promise.all(bodies.map(async (b) => (await decode(b)).width)), [100, 120, 100]);
});

test("a foreign original's remembered header spares the codec thread's header job", async () => {
  // HEIC's header is read in a codec thread; a remembered one (here oversized, so it shows) is used instead.
  const input = readFileSync(corpus('heic/winter-1440x960.heic'));
  const memo = createHeaderMemo();
  const declared = { format: 'heic', width: 20_000, height: 20_000, frames: 1, hasAlpha: false, bytes: input.length };
  memo.set('h', declared);
  await assert.rejects(
    runPipeline(input, t, { ...opts, header: { memo, id: 'h' } }),
    (e) => e instanceof KinuError && e.code === 'too_many_pixels',
  );
  // Read afresh under another id, it is remembered with its real size.
  const out = await runPipeline(input, t, { ...opts, header: { memo, id: 'h2' } });
  assert.equal((await decode(out.data)).width, 64);
  assert.deepEqual([memo.get('h2', input.length)?.width, memo.get('h2', input.length)?.format], [1440, 'heic']);
});
