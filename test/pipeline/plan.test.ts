// Pure planning: geometry, limits and format decisions, from header facts only (no decode).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KinuError } from '../../src/errors.ts';
import { defaultOutputFormat } from '../../src/formats.ts';
import { acceptClass, negotiate } from '../../src/pipeline/negotiate.ts';
import { checkLimits, makePlan, MAX_SIDE, resizeGeometry, type SourceInfo } from '../../src/pipeline/plan.ts';
import { IDENTITY, type Fit, type Transform } from '../../src/transform.ts';

const LIMITS = { maxPixels: 100_000_000, maxFrames: 500 };
const NONE = { jxl: false, avif: false, webp: false };
const SRC: SourceInfo = { format: 'jpeg', width: 1000, height: 500, frames: 1, hasAlpha: false };
const tf = (over: Partial<Transform>): Transform => ({ ...IDENTITY, ...over });
const plan = (over: Partial<Transform>, src: Partial<SourceInfo> = {}, accept = NONE) =>
  makePlan({ ...SRC, ...src }, tf(over), accept, LIMITS);

function throwsCode(fn: () => unknown, code: string) {
  assert.throws(fn, (e: unknown) => e instanceof KinuError && e.code === code);
}

describe('resizeGeometry: 1000×500 into a box', () => {
  // [fit, box w, box h, enlarge, expected output w×h, expected sharp fit or undefined for no resize]
  const rows: [Fit, number | undefined, number | undefined, boolean, string, string | undefined][] = [
    ['cover', 200, 200, false, '200x200', 'cover'],
    ['contain', 200, 200, false, '200x200', 'contain'],
    ['fill', 200, 200, false, '200x200', 'fill'],
    ['inside', 200, 200, false, '200x100', 'fill'],
    ['outside', 200, 200, false, '400x200', 'fill'],
    // Box larger than the source, no enlarge: never bigger than the source; cover/contain keep the box's aspect.
    ['cover', 2000, 2000, false, '500x500', 'cover'],
    ['contain', 2000, 2000, false, '1000x1000', 'contain'],
    ['fill', 2000, 2000, false, '1000x500', undefined],
    ['inside', 2000, 2000, false, '1000x500', undefined],
    ['outside', 2000, 2000, false, '1000x500', undefined],
    // contain without enlarge: the image keeps its own size and the canvas the box's aspect (padding only).
    ['cover', 4000, 1000, false, '1000x250', 'cover'],
    ['contain', 4000, 1000, false, '2000x500', 'contain'],
    // Only one side shrinks: cover crops without scaling, contain scales down into the box.
    ['cover', 500, 1000, false, '250x500', 'cover'],
    ['contain', 2000, 250, false, '2000x250', 'contain'],
    // Enlarge: the box is met exactly.
    ['cover', 2000, 2000, true, '2000x2000', 'cover'],
    ['contain', 2000, 2000, true, '2000x2000', 'contain'],
    ['fill', 2000, 2000, true, '2000x2000', 'fill'],
    ['inside', 2000, 2000, true, '2000x1000', 'fill'],
    ['outside', 2000, 2000, true, '4000x2000', 'fill'],
    // One side only: scale keeping the aspect ratio, whatever the fit.
    ['cover', 200, undefined, false, '200x100', 'fill'],
    ['cover', undefined, 100, false, '200x100', 'fill'],
    ['contain', 2000, undefined, false, '1000x500', undefined],
    ['cover', undefined, 1000, true, '2000x1000', 'fill'],
    ['cover', undefined, undefined, false, '1000x500', undefined],
  ];
  for (const [fit, bw, bh, enlarge, want, sharpFit] of rows) {
    test(`${fit} ${bw ?? '-'}×${bh ?? '-'} enlarge=${enlarge ? 1 : 0} → ${want}`, () => {
      const g = resizeGeometry(1000, 500, bw, bh, { fit, enlarge, position: IDENTITY.position });
      assert.equal(`${g.width}x${g.height}`, want);
      assert.equal(g.resize?.fit, sharpFit);
      if (g.resize) assert.equal(`${g.resize.width}x${g.resize.height}`, want);
    });
  }

  test('gravity and strategies pass through for cover; contain keeps gravity only', () => {
    const cover = (position: Transform['position']) =>
      resizeGeometry(1000, 500, 100, 100, { fit: 'cover', enlarge: false, position });
    assert.equal(cover({ kind: 'gravity', gravity: 'top-left' }).resize?.position, 'top-left');
    assert.equal(cover({ kind: 'attention' }).resize?.position, 'attention');
    assert.equal(cover({ kind: 'entropy' }).resize?.position, 'entropy');
    const contain = (position: Transform['position']) =>
      resizeGeometry(1000, 500, 100, 100, { fit: 'contain', enlarge: false, position });
    assert.equal(contain({ kind: 'gravity', gravity: 'bottom' }).resize?.position, 'bottom');
    assert.equal(contain({ kind: 'attention' }).resize?.position, 'center');
  });

  test('a focal point resizes to the cover size and cuts a window around the point, clamped to the image', () => {
    const at = (x: number, y: number) =>
      resizeGeometry(1000, 500, 100, 100, { fit: 'cover', enlarge: false, position: { kind: 'focal', x, y } });
    const mid = at(0.5, 0.5);
    assert.deepEqual(mid.resize, { width: 200, height: 100, fit: 'fill', position: 'center' });
    assert.deepEqual(mid.focalWindow, { left: 50, top: 0, width: 100, height: 100 });
    assert.equal(at(0.75, 0.5).focalWindow?.left, 100);
    assert.equal(at(0, 0).focalWindow?.left, 0);
    assert.equal(at(1, 1).focalWindow?.left, 100);
    assert.equal(`${mid.width}x${mid.height}`, '100x100');
  });
});

describe('makePlan', () => {
  test('crop is clamped to the image and the box applies to the cropped region', () => {
    const p = plan({ crop: { x: 900, y: 400, width: 500, height: 500 } });
    assert.deepEqual(p.crop, { left: 900, top: 400, width: 100, height: 100 });
    assert.equal(`${p.width}x${p.height}`, '100x100');
    const q = plan({ crop: { x: 0, y: 0, width: 400, height: 200 }, width: 200 });
    assert.equal(`${q.width}x${q.height}`, '200x100');
  });

  test('a crop starting outside the image is invalid_param', () => {
    throwsCode(() => plan({ crop: { x: 1000, y: 0, width: 10, height: 10 } }), 'invalid_param');
    throwsCode(() => plan({ crop: { x: 0, y: 500, width: 10, height: 10 } }), 'invalid_param');
  });

  test('a quarter turn resizes into the swapped box so the box applies to the output', () => {
    for (const rotate of [90, 270] as const) {
      const p = plan({ width: 300, height: 100, rotate });
      assert.equal(`${p.width}x${p.height}`, '300x100');
      assert.equal(`${p.resize?.width}x${p.resize?.height}`, '100x300');
      const only = plan({ width: 250, rotate });
      assert.equal(`${only.width}x${only.height}`, '250x500');
    }
    const half = plan({ width: 300, height: 100, rotate: 180 });
    assert.equal(`${half.resize?.width}x${half.resize?.height}`, '300x100');
  });

  test('pad adds to the output size', () => {
    const p = plan({ width: 200, pad: [10, 20, 30, 40] });
    assert.equal(`${p.width}x${p.height}`, '260x140');
  });

  test('output_too_large above 16384 a side or the pixel limit', () => {
    throwsCode(() => plan({ width: MAX_SIDE + 1, enlarge: true }), 'output_too_large');
    throwsCode(() => plan({ width: 200, pad: [0, MAX_SIDE, 0, 0] }), 'output_too_large');
    throwsCode(
      () => makePlan(SRC, tf({ width: 1000 }), NONE, { maxPixels: 400_000, maxFrames: 500 }),
      'output_too_large',
    );
    assert.equal(plan({ width: MAX_SIDE, height: 100, fit: 'fill', enlarge: true }).width, MAX_SIDE);
  });

  test('flatten onto white for JPEG, onto bg when given (opaque), never for formats with alpha', () => {
    assert.deepEqual(plan({}).flatten, { r: 255, g: 255, b: 255, alpha: 1 });
    assert.deepEqual(plan({ background: { r: 1, g: 2, b: 3, alpha: 0.5 } }).flatten, { r: 1, g: 2, b: 3, alpha: 1 });
    assert.equal(plan({ format: 'png' }).flatten, undefined);
    assert.deepEqual(plan({ format: 'png' }).background, { r: 0, g: 0, b: 0, alpha: 0 });
    assert.deepEqual(plan({}).background, { r: 255, g: 255, b: 255, alpha: 1 });
    assert.deepEqual(plan({ background: { r: 1, g: 2, b: 3, alpha: 0.5 } }).background, { r: 1, g: 2, b: 3, alpha: 1 });
    assert.deepEqual(plan({ format: 'webp', background: { r: 1, g: 2, b: 3, alpha: 0.5 } }).background, {
      r: 1,
      g: 2,
      b: 3,
      alpha: 0.5,
    });
  });

  test('quality: the asked one, else the format default', () => {
    assert.equal(plan({}).quality, 80);
    assert.equal(plan({ quality: 33 }).quality, 33);
    assert.equal(plan({ format: 'avif' }).quality, 50);
    assert.equal(plan({ format: 'png' }).quality, undefined);
  });

  test('animation is kept only where the output can animate and nothing forces one frame', () => {
    const anim = { format: 'gif', frames: 10, hasAlpha: true };
    assert.equal(plan({}, anim).animated, true);
    assert.equal(plan({ format: 'webp' }, anim).animated, true);
    assert.equal(plan({ format: 'png' }, anim).animated, false);
    assert.equal(plan({ format: 'jpeg' }, anim).animated, false);
    assert.equal(plan({ animated: false }, anim).animated, false);
    assert.equal(plan({ rotate: 90 }, anim).animated, false);
    assert.equal(plan({ flipH: true }, anim).animated, false);
    assert.equal(plan({ pixelate: 4 }, anim).animated, false);
    assert.equal(plan({ trim: 10 }, anim).animated, false);
    assert.equal(plan({}, { ...anim, frames: 1 }).animated, false);
  });
});

describe('checkLimits', () => {
  test('pixels and frames up to the limit pass; one more is refused', () => {
    const limits = { maxPixels: 1000, maxFrames: 5 };
    checkLimits({ width: 100, height: 10, frames: 1 }, limits);
    checkLimits({ width: 10, height: 20, frames: 5 }, limits);
    throwsCode(() => checkLimits({ width: 1001, height: 1, frames: 1 }, limits), 'too_many_pixels');
    throwsCode(
      () => checkLimits({ width: 10, height: 10, frames: 11 }, { maxPixels: 1000, maxFrames: 20 }),
      'too_many_pixels',
    );
    throwsCode(() => checkLimits({ width: 1, height: 1, frames: 6 }, limits), 'too_many_frames');
  });
});

describe('output format', () => {
  test('default: the source format where browsers show it, else JPEG, or PNG with alpha', () => {
    const rows: [string, boolean, string][] = [
      ['jpeg', false, 'jpeg'],
      ['png', false, 'png'],
      ['png', true, 'png'],
      ['webp', true, 'webp'],
      ['gif', true, 'gif'],
      ['avif', false, 'avif'],
      // Formats browsers do not show (issue 16): JPEG, or PNG where alpha must survive; ICO always PNG.
      ['heic', false, 'jpeg'],
      ['heic', true, 'png'],
      ['heif', false, 'jpeg'],
      ['jxl', false, 'jpeg'],
      ['jxl', true, 'png'],
      ['bmp', false, 'jpeg'],
      ['bmp', true, 'png'],
      ['ico', false, 'png'],
      ['tiff', false, 'jpeg'],
      ['tiff', true, 'png'],
      ['svg', true, 'png'],
      ['jp2', false, 'jpeg'],
    ];
    for (const [input, alpha, want] of rows)
      assert.equal(defaultOutputFormat(input, alpha), want, `${input} alpha=${alpha}`);
    assert.equal(plan({}, { format: 'svg', hasAlpha: true }).format, 'png');
    assert.equal(plan({ format: 'json' }, { format: 'tiff' }).format, 'jpeg');
    assert.equal(plan({ format: 'webp' }).format, 'webp');
  });

  test('fmt=auto picks from the formats Accept names explicitly', () => {
    const both = acceptClass('image/avif,image/webp,image/apng,*/*;q=0.8');
    const webp = acceptClass('image/webp,*/*');
    const bare = acceptClass('*/*');
    const still = { format: 'png', hasAlpha: true };
    const anim = { format: 'gif', frames: 8, hasAlpha: true };
    assert.equal(plan({ format: 'auto' }, {}, both).format, 'avif');
    assert.equal(plan({ format: 'auto' }, still, both).format, 'avif');
    assert.equal(plan({ format: 'auto' }, {}, webp).format, 'webp');
    assert.equal(plan({ format: 'auto' }, {}, bare).format, 'jpeg');
    assert.equal(plan({ format: 'auto' }, still, bare).format, 'png');
    assert.equal(plan({ format: 'auto' }, anim, both).format, 'webp');
    assert.equal(plan({ format: 'auto' }, anim, both).animated, true);
    assert.equal(plan({ format: 'auto' }, anim, bare).format, 'gif');
    assert.equal(plan({ format: 'auto', animated: false }, anim, both).format, 'avif');
    assert.equal(plan({ format: 'auto', animated: false }, anim, bare).format, 'png');
  });

  test("fmt=auto limited by a peer dialect: only its formats, best first, else the original's own format", () => {
    const all = acceptClass('image/jxl,image/avif,image/webp,*/*');
    const bare = acceptClass('*/*');
    const webpOnly = { format: 'auto' as const, autoFormats: ['webp' as const], autoFallback: 'source' as const };
    assert.equal(plan(webpOnly, {}, all).format, 'webp');
    assert.equal(plan(webpOnly, {}, bare).format, 'jpeg');
    // An opaque PNG stays PNG (the hosted services answer the original's type), not kinu's JPEG.
    assert.equal(plan(webpOnly, { format: 'png' }, bare).format, 'png');
    assert.equal(plan({ ...webpOnly, autoFormats: ['avif', 'webp'] }, {}, all).format, 'avif');
    assert.equal(plan({ format: 'auto', autoFormats: ['avif', 'webp'] }, { format: 'png' }, bare).format, 'jpeg');
  });

  test('Accept parsing: explicit types only, q=0 refuses', () => {
    assert.deepEqual(acceptClass(undefined), { jxl: false, avif: false, webp: false });
    assert.deepEqual(acceptClass('image/*'), { jxl: false, avif: false, webp: false });
    assert.deepEqual(acceptClass('image/avif;q=0, image/webp;q=0.5'), { jxl: false, avif: false, webp: true });
    assert.deepEqual(acceptClass('IMAGE/AVIF'), { jxl: false, avif: true, webp: false });
    assert.equal(negotiate({ jxl: false, avif: true, webp: false }, { alpha: false, animated: true }), 'gif');
  });
});
