// Item 1 of the hardening issue: memory is a budget the limiter enforces, from each plan's estimated peak;
// what can never fit is refused (explicit format) or served in the next format (fmt=auto, no fmt).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { KinuError } from '../../src/errors.ts';
import { createLimiter } from '../../src/pipeline/limiter.ts';
import { makePlan, type SourceInfo } from '../../src/pipeline/plan.ts';
import { estimateCost } from '../../src/pipeline/cost.ts';
import { FORMATS } from '../../src/formats.ts';
import { IDENTITY, type Transform } from '../../src/transform.ts';
import { testServer } from '../helpers.ts';

const MiB = 1024 * 1024;
const tick = () => new Promise((r) => setImmediate(r));

describe('limiter memory budget', () => {
  test('a reservation waits while the budget is spent, in arrival order, and is freed when its work ends', async () => {
    const limiter = createLimiter({ concurrency: 4, queue: 10, memoryBytes: 100 });
    const order: string[] = [];
    let releaseA!: () => void;
    const a = limiter.run(async (lease) => {
      await lease.reserve(70);
      order.push('a');
      await new Promise<void>((r) => {
        releaseA = r;
      });
    });
    await tick();
    assert.equal(limiter.stats().reservedBytes, 70);
    // b (50) does not fit next to a; c (10) would, but must not overtake b.
    const b = limiter.run(async (lease) => {
      await lease.reserve(50);
      order.push('b');
    });
    const c = limiter.run(async (lease) => {
      await lease.reserve(10);
      order.push('c');
    });
    await tick();
    await tick();
    assert.deepEqual(order, ['a']);
    assert.equal(limiter.stats().memoryWaiting, 2);
    releaseA();
    await Promise.all([a, b, c]);
    assert.deepEqual(order, ['a', 'b', 'c']);
    assert.equal(limiter.stats().reservedBytes, 0);
    assert.equal(limiter.stats().active, 0);
  });

  test('a reservation larger than the whole budget runs alone instead of waiting forever', async () => {
    const limiter = createLimiter({ concurrency: 2, queue: 10, memoryBytes: 100 });
    await limiter.run(async (lease) => {
      await lease.reserve(1e9);
      assert.equal(limiter.stats().reservedBytes, 100);
    });
    assert.equal(limiter.stats().reservedBytes, 0);
  });

  test('a waiter that aborts leaves the memory queue and lets the next one in', async () => {
    const limiter = createLimiter({ concurrency: 4, queue: 10, memoryBytes: 100 });
    let release!: () => void;
    const a = limiter.run(async (lease) => {
      await lease.reserve(90);
      await new Promise<void>((r) => {
        release = r;
      });
    });
    await tick();
    const ac = new AbortController();
    const b = limiter.run(async (lease) => {
      await lease.reserve(50, ac.signal);
    });
    await tick();
    assert.equal(limiter.stats().memoryWaiting, 1);
    ac.abort(new Error('gone'));
    await assert.rejects(b, /gone/);
    assert.equal(limiter.stats().memoryWaiting, 0);
    assert.equal(limiter.stats().active, 1);
    release();
    await a;
    assert.equal(limiter.stats().reservedBytes, 0);
  });
});

const PHOTO: SourceInfo = { format: 'jpeg', width: 3082, height: 2048, frames: 1, hasAlpha: false, bytes: 2_000_000 };
const LIMITS = { maxPixels: 100_000_000, maxFrames: 500, memoryBytes: 1024 * MiB, timeoutMs: 10_000 };
const ALL = { jxl: false, avif: true, webp: true };
const tf = (over: Partial<Transform>): Transform => ({ ...IDENTITY, ...over });
const huge = { width: 8192, height: 8192, fit: 'cover' as const, enlarge: true };

function refusal(fn: () => unknown): KinuError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof KinuError, String(e));
    return e;
  }
  assert.fail('expected a refusal');
}

describe('plan: cost against the budget', () => {
  test('the estimate grows with output pixels and is far larger for AVIF than for JPEG', () => {
    const small = makePlan(PHOTO, tf({ width: 400, format: 'avif' }), ALL, LIMITS).cost;
    const jpeg = makePlan(PHOTO, tf({ ...huge, format: 'jpeg' }), ALL, LIMITS).cost;
    assert.ok(small.bytes < 64 * MiB, `${small.bytes}`);
    assert.ok(jpeg.bytes > 300 * MiB && jpeg.bytes < 1024 * MiB, `${jpeg.bytes}`);
    const avif = estimateCost({
      sourceFormat: 'jpeg',
      sourceWidth: 3082,
      sourceHeight: 2048,
      inputBytes: 0,
      format: 'avif',
      width: 8192,
      height: 8192,
      frames: 1,
      wholeImage: false,
    });
    assert.ok(avif.bytes > 4 * jpeg.bytes);
  });

  test('an animated JPEG XL or AVIF sequence holds every frame before sharp reads one: each costs its pixels', () => {
    const cost = (sourceFormat: string, sourceFrames: number) =>
      estimateCost({
        sourceFormat,
        sourceWidth: 1000,
        sourceHeight: 1000,
        inputBytes: 0,
        format: 'webp',
        width: 100,
        height: 100,
        frames: sourceFrames,
        sourceFrames,
        wholeImage: false,
      }).bytes;
    for (const f of ['jxl', 'avif']) {
      // 8 bytes a pixel for each further frame: its RGBA pixels and their copy in the carrier.
      assert.equal(cost(f, 60) - cost(f, 1) - (cost('gif', 60) - cost('gif', 1)), 59 * 1000 * 1000 * 8, f);
    }
    // sharp's own decoders read an animation frame by frame: the frames cost only in the output.
    assert.equal(cost('gif', 60) - cost('gif', 1), 59 * 100 * 100 * FORMATS.webp.cost.bytesPerPixel);
  });

  test("sharp's gamma() turns shrink-on-load off: a WebP decodes at full size, and the estimate says so", () => {
    // negate() keeps shrink-on-load: the two differ only in the decode (libwebp's, which holds the image).
    const webp = { ...PHOTO, format: 'webp' };
    const negate = makePlan(webp, tf({ width: 400, sharpOps: { negate: true } }), ALL, LIMITS).cost.bytes;
    const gamma = makePlan(webp, tf({ width: 400, sharpOps: { gamma: [2.2, 2.2] } }), ALL, LIMITS).cost.bytes;
    assert.ok(gamma > negate + 3082 * 2048 * 4, `${gamma} > ${negate}`);
  });

  test('an explicit fmt=avif that can never fit is a 400 naming the budget', () => {
    const e = refusal(() => makePlan(PHOTO, tf({ ...huge, format: 'avif' }), ALL, LIMITS));
    assert.equal(e.code, 'output_too_large');
    assert.equal(e.status, 400);
    assert.match(e.detail, /KINU_MEMORY_BUDGET/);
    assert.match(e.detail, /8192×8192 AVIF/);
    // A larger budget admits it.
    assert.equal(
      makePlan(PHOTO, tf({ ...huge, format: 'avif' }), ALL, { ...LIMITS, memoryBytes: 4096 * MiB, timeoutMs: 600_000 })
        .format,
      'avif',
    );
  });

  test('fmt=auto serves the next format the client accepts instead of failing', () => {
    const p = makePlan(PHOTO, tf({ ...huge, format: 'auto' }), ALL, LIMITS);
    assert.notEqual(p.format, 'avif');
    assert.ok(p.cost.bytes <= LIMITS.memoryBytes);
    // Small outputs still get AVIF.
    assert.equal(makePlan(PHOTO, tf({ width: 800, format: 'auto' }), ALL, LIMITS).format, 'avif');
    // Only WebP accepted, and a WebP this size cannot be encoded in time: the fallback is JPEG.
    assert.equal(
      makePlan(PHOTO, tf({ ...huge, format: 'auto' }), { jxl: false, avif: false, webp: true }, LIMITS).format,
      'jpeg',
    );
  });

  test('without fmt, an AVIF original asked at a huge size comes out in the fallback format', () => {
    const src: SourceInfo = { ...PHOTO, format: 'avif' };
    assert.equal(makePlan(src, tf({ width: 800 }), ALL, LIMITS).format, 'avif');
    assert.equal(makePlan(src, tf(huge), ALL, LIMITS).format, 'jpeg');
  });

  test('an encoder libvips cannot stop is refused when it would outlast KINU_TIMEOUT', () => {
    const e = refusal(() => makePlan(PHOTO, tf({ ...huge, format: 'webp' }), ALL, LIMITS));
    assert.equal(e.code, 'output_too_large');
    assert.match(e.detail, /KINU_TIMEOUT/);
    // JPEG is written row by row and stopped by libvips' own timeout: not refused on time.
    assert.equal(makePlan(PHOTO, tf({ ...huge, format: 'jpeg' }), ALL, { ...LIMITS, timeoutMs: 100 }).format, 'jpeg');
  });

  test('an animation too costly in every accepted format: a still where kinu chose the format, a 400 where the URL did', () => {
    const anim: SourceInfo = { format: 'gif', width: 400, height: 400, frames: 44, hasAlpha: true, bytes: 1_000_000 };
    const big = { width: 1500, enlarge: true };
    const auto = makePlan(anim, tf({ ...big, format: 'auto' }), ALL, LIMITS);
    assert.equal(auto.animated, false);
    assert.equal(auto.format, 'avif');
    const byDefault = makePlan(anim, tf(big), ALL, LIMITS);
    assert.deepEqual([byDefault.format, byDefault.animated], ['gif', false]);
    assert.equal(refusal(() => makePlan(anim, tf({ ...big, format: 'gif' }), ALL, LIMITS)).code, 'output_too_large');
    // Small enough: the animation stays.
    assert.equal(makePlan(anim, tf({ width: 200, format: 'auto' }), ALL, LIMITS).animated, true);
  });

  test('an original whose decoding alone exceeds the budget is refused whatever the output', () => {
    const src: SourceInfo = { format: 'heif', width: 9000, height: 9000, frames: 1, hasAlpha: false };
    const e = refusal(() => makePlan(src, tf({ width: 100, format: 'jpeg' }), ALL, LIMITS));
    assert.equal(e.code, 'too_many_pixels');
    assert.match(e.detail, /KINU_MEMORY_BUDGET/);
  });
});

describe('the budget over HTTP, with the shipped defaults', () => {
  test('the hostile URL of the issue is refused at once; fmt=auto serves a smaller format; ordinary requests pass', async () => {
    const { app } = testServer({ KINU_SOURCE: new URL('../../examples/images', import.meta.url).pathname });
    const res = await app.inject({ url: '/pigeons.jpg?w=8192&h=8192&enlarge=1&fmt=avif' });
    assert.equal(res.statusCode, 400);
    assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.match(JSON.parse(res.body).detail, /KINU_MEMORY_BUDGET/);
    const dpr = await app.inject({ url: '/pigeons.jpg?w=8192&h=8192&enlarge=1&fmt=avif&dpr=1.22' });
    assert.equal(dpr.statusCode, 400);
    const ok = await app.inject({
      url: '/pigeons.jpg?w=300&fmt=auto',
      headers: { accept: 'image/avif,image/webp,*/*' },
    });
    assert.equal(ok.statusCode, 200);
    assert.equal((await sharp(ok.rawPayload).metadata()).format, 'heif');
    assert.equal(app.kinu.limiter.stats().reservedBytes, 0);
    await app.close();
  });
});

describe('smart crops of animations', () => {
  test('pos=attention or entropy on an animated GIF is cut around the centre, still animated (not a 500)', async () => {
    const { app } = testServer();
    for (const pos of ['attention', 'entropy']) {
      const res = await app.inject({ url: `/gif/animated-rotating-squares.gif?w=40&h=20&fit=cover&pos=${pos}` });
      assert.equal(res.statusCode, 200, res.body);
      const meta = await sharp(res.rawPayload, { animated: true }).metadata();
      assert.deepEqual([meta.format, meta.width, meta.pageHeight], ['gif', 40, 20]);
      // Still animated (the encoder merges frames that came out identical).
      assert.ok((meta.pages ?? 1) > 1, `pages ${meta.pages}`);
    }
    await app.close();
  });
});

describe('trim within the budget', () => {
  test('a trim whose whole decode cannot fit the budget is refused before decoding; a small one runs', async () => {
    const { app } = testServer({ KINU_MEMORY_BUDGET: '64' });
    // hato-pigeons is 6.3 MP: 8 B/px for trim alone is ~50 MB, plus the original and the fixed share > 64 MiB.
    const big = await app.inject({ url: '/photos/hato-pigeons.jpg?trim=10&w=100' });
    assert.equal(big.statusCode, 422, big.body);
    assert.match(JSON.parse(big.body).detail, /trimming .*(KINU_MEMORY_BUDGET)/);
    assert.equal((await app.inject({ url: '/png/rgba.png?trim=10&w=10' })).statusCode, 200);
    assert.equal(app.kinu.limiter.stats().reservedBytes, 0);
    await app.close();
  });
});
