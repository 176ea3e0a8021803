// A progressive JPEG or an interlaced PNG is decoded whole even though libvips reads it row by row: libjpeg
// keeps every DCT coefficient, libpng (libspng before sharp 0.35) the whole Adam7 image. The memory budget must count that decode.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { sourceInfo } from '../../src/pipeline/pipeline.ts';
import { makePlan } from '../../src/pipeline/plan.ts';
import { IDENTITY } from '../../src/transform.ts';
import { tempDir, testServer } from '../helpers.ts';

const MiB = 1024 * 1024;
const LIMITS = { maxPixels: 100_000_000, maxFrames: 500, memoryBytes: 1024 * MiB, timeoutMs: 10_000 };
const ALL = { jxl: false, avif: true, webp: true };
const SIDE = 2000;

const base = () =>
  sharp({ create: { width: SIDE, height: SIDE, channels: 4, background: { r: 40, g: 120, b: 200, alpha: 0.5 } } });
async function costOf(bytes: Buffer): Promise<number> {
  const src = { ...sourceInfo(await sharp(bytes).metadata()), bytes: 0 };
  return makePlan(src, { ...IDENTITY, width: 100, format: 'jpeg' }, ALL, LIMITS).cost.bytes;
}

test('a progressive JPEG costs its coefficients and an interlaced PNG its whole decode, a baseline file neither', async () => {
  const px = SIDE * SIDE;
  const jpeg = (progressive: boolean, chromaSubsampling: string) =>
    base().flatten().jpeg({ progressive, chromaSubsampling }).toBuffer();
  const plain444 = await costOf(await jpeg(false, '4:4:4'));
  // 2 B per coefficient: 3 full components at 4:4:4, luma + two quarters at 4:2:0 (measured 5.8 and 2.9 B/px).
  assert.ok((await costOf(await jpeg(true, '4:4:4'))) - plain444 >= 5.5 * px);
  const extra420 = (await costOf(await jpeg(true, '4:2:0'))) - (await costOf(await jpeg(false, '4:2:0')));
  assert.ok(extra420 >= 2.8 * px && extra420 < 5.5 * px, `${extra420 / px} B/px`);
  const png16 = (progressive: boolean) => base().toColourspace('rgb16').png({ progressive }).toBuffer();
  // 16-bit RGBA, decoded whole: 8 B per pixel (measured 7.8).
  assert.ok((await costOf(await png16(true))) - (await costOf(await png16(false))) >= 7.5 * px);
});

test('a 10-bit AVIF costs more to decode than the same 8-bit one (libheif and libvips hold 16-bit samples)', async () => {
  const img = () => sharp({ create: { width: 64, height: 48, channels: 3, background: '#3366aa' } });
  const px = 64 * 48;
  const [c8, c10] = [
    await costOf(await img().avif({ bitdepth: 8 }).toBuffer()),
    await costOf(await img().avif({ bitdepth: 10 }).toBuffer()),
  ];
  // Measured peaks of a 12 MP decode (sharp 0.35.6): 17.2 B/px at 8 bits, 23.5 at 10 or 12.
  assert.ok(c10 - c8 >= 5.5 * px, `${(c10 - c8) / px} B/px more`);
});

test('over HTTP, an interlaced PNG whose whole decode exceeds the budget is a 422; the same pixels not interlaced are served', async (t) => {
  const dir = tempDir('kinu-decode-cost-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // 3000² 16-bit RGBA: 72 MB decoded whole, over a 64 MiB budget; read row by row it needs a few MB.
  const img = () =>
    sharp({ create: { width: 3000, height: 3000, channels: 4, background: '#3366aa' } }).toColourspace('rgb16');
  writeFileSync(join(dir, 'interlaced.png'), await img().png({ progressive: true }).toBuffer());
  writeFileSync(join(dir, 'plain.png'), await img().png().toBuffer());
  const { app } = testServer({ KINU_SOURCE: dir, KINU_MEMORY_BUDGET: '64' });
  t.after(() => app.close());
  const refused = await app.inject({ url: '/interlaced.png?w=100' });
  assert.equal(refused.statusCode, 422, refused.body);
  assert.equal(refused.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.match(JSON.parse(refused.body).detail, /KINU_MEMORY_BUDGET/);
  const ok = await app.inject({ url: '/plain.png?w=100' });
  assert.equal(ok.statusCode, 200, ok.body);
  const meta = await sharp(ok.rawPayload).metadata();
  assert.deepEqual([meta.format, meta.width], ['png', 100]);
});

test("libvips' operation cache is off: a finished pipeline leaves no decoder (and its memory) behind", async () => {
  const { runPipeline } = await import('../../src/pipeline/pipeline.ts');
  const input = await base().flatten().jpeg({ progressive: true }).toBuffer();
  const out = await runPipeline(
    input,
    { ...IDENTITY, width: 50, format: 'jpeg' },
    { limits: LIMITS, timeoutMs: 10_000, accept: ALL },
  );
  assert.equal((await sharp(out.data).metadata()).width, 50);
  // With the cache on, the jpegload of this request (holding its DCT coefficients) stayed cached among others.
  assert.equal(sharp.cache().items.current, 0);
});
