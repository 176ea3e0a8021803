// imgix URLs → Transform, by imgix's meanings (docs.imgix.com/apis/rendering; imgix/imgix-url-params
// dist/parameters.json for ranges, defaults and aliases), and the named refusals.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import imgixCore from '@imgix/js-core';
import { KinuError } from '../../src/errors.ts';
import { parseImgix } from '../../src/url/imgix/index.ts';

// js-core is CommonJS: Node's ESM interop gives module.exports (the class) where its types say `.default`.
const ImgixClient = ((imgixCore as { default?: unknown }).default ?? imgixCore) as unknown as typeof imgixCore.default;

const parse = (url: string, tokens: string[] = []) => parseImgix(url, { prefix: '/ix', tokens });
const refusal = (url: string, re: RegExp, code = 'invalid_param') =>
  assert.throws(
    () => parse(url),
    (e: unknown) => e instanceof KinuError && e.code === code && re.test(e.message),
  );

describe('imgix → Transform', () => {
  test('w&h without fit is clip: fit inside, enlarging (not cover, as native)', () => {
    const t = parse('/ix/a.jpg?w=400&h=300').transform!;
    assert.equal(t.fit, 'inside');
    assert.equal(t.enlarge, true);
    assert.deepEqual([t.width, t.height], [400, 300]);
  });
  test('fit=max and min never enlarge; crop covers at the crop anchors; scale stretches', () => {
    assert.equal(parse('/ix/a.jpg?w=400&h=300&fit=max').transform!.enlarge, false);
    const min = parse('/ix/a.jpg?w=400&h=300&fit=min').transform!;
    assert.deepEqual([min.fit, min.enlarge], ['cover', false]);
    const crop = parse('/ix/a.jpg?w=400&h=300&fit=crop&crop=top,left').transform!;
    assert.deepEqual([crop.fit, crop.position], ['cover', { kind: 'gravity', gravity: 'top-left' }]);
    const fp = parse('/ix/a.jpg?w=400&h=300&fit=crop&crop=focalpoint&fp-x=0.2&fp-y=0.7').transform!;
    assert.deepEqual(fp.position, { kind: 'focal', x: 0.2, y: 0.7 });
    assert.equal(parse('/ix/a.jpg?w=4&h=3&fit=scale').transform!.fit, 'fill');
  });
  test('blur is imgix 0–2000 = sigma × 10: blur=50 is sigma 5', () => {
    assert.equal(parse('/ix/a.jpg?blur=50').transform!.blur, 5);
  });
  test('dpr multiplies; q defaults to 75, auto=compress to 45; auto=format is AVIF then WebP, else the source', () => {
    const t = parse('/ix/a.jpg?w=100&dpr=2.5').transform!;
    assert.deepEqual([t.width, t.quality], [250, 75]);
    const a = parse('/ix/a.jpg?auto=format&auto=compress').transform!;
    assert.deepEqual([a.format, a.autoFormats, a.quality, a.autoFallback], ['auto', ['avif', 'webp'], 45, undefined]);
    assert.equal(parse('/ix/a.jpg?auto=format').transform!.autoFallback, 'source');
    assert.equal(parse('/ix/a.jpg?auto=format&fm=png').transform!.format, 'png');
  });
  test('aliases, base64 values, ARGB colours, unknown parameters ignored', () => {
    const t = parse('/ix/a.jpg?width=100&f=max&foo=bar&bg=8f00&ixlib=js-3.8.0').transform!;
    assert.deepEqual([t.width, t.enlarge], [100, false]);
    assert.deepEqual(t.background, { r: 255, g: 0, b: 0, alpha: 0.533 });
    const m = parse(`/ix/a.jpg?mark64=${Buffer.from('/logo.png').toString('base64url')}`).transform!;
    assert.equal(m.watermark?.key, 'logo.png');
    assert.deepEqual([m.watermarkAt?.x, m.watermarkAt?.y], ['-5', '-5']);
  });
  test('crop anchors, ar and min/max need fit=crop (imgix-url-params: depends fit=crop), as imgix ignores them', () => {
    const t = parse('/ix/a.jpg?w=400&h=300&crop=top&ar=1:1&max-h=10').transform!;
    assert.deepEqual([t.fit, t.position, t.imgix], ['inside', { kind: 'gravity', gravity: 'center' }, undefined]);
  });
  test('sat: -100 is greyscale, 50 scales chroma by 1.5; orient=6 is a quarter turn', () => {
    assert.equal(parse('/ix/a.jpg?sat=-100').transform!.gray, true);
    assert.deepEqual(parse('/ix/a.jpg?sat=50').transform!.adjust, [{ op: 'saturation', value: 1.5 }]);
    assert.equal(parse('/ix/a.jpg?orient=6').transform!.rotate, 90);
  });
  test('w=0.5 is half the source: resolved by the plan (Transform.imgix)', () => {
    const t = parse('/ix/a.jpg?w=0.5').transform!;
    assert.equal(t.width, undefined);
    assert.deepEqual([t.imgix?.width, t.imgix?.relative], [0.5, [true, false]]);
  });
  test('dl → attachment named by dl', () => {
    assert.deepEqual(parse('/ix/a/b.jpg?dl=photo.jpg').disposition, { type: 'attachment', stem: 'photo' });
  });
  test('fit=clamp fits inside the box, enlarging, as fill does, with the margins of repeated edge pixels', () => {
    const t = parse('/ix/a.jpg?w=200&h=100&fit=clamp').transform!;
    assert.deepEqual([t.width, t.height, t.fit, t.enlarge, t.clampEdges], [200, 100, 'contain', true, true]);
    assert.equal(parse('/ix/a.jpg?w=200&h=100&fit=fill').transform!.clampEdges, undefined);
  });
  test('refusals name the parameter', () => {
    refusal('/ix/a.jpg?fm=mp4', /\bfm: /);
    refusal('/ix/a.jpg?rot=45', /\brot: /);
    refusal('/ix/a.jpg?auto=enhance', /\bauto: /);
    refusal('/ix/a.jpg?txt=hello', /\btxt: /);
    refusal('/ix/a.jpg?fit=bogus&w=10&h=10', /\bfit: /);
    refusal('/ix/a.jpg?w=abc', /\bw: /);
    refusal('/ix/a.jpg?mark=a/../b.png', /\bmark: /, 'invalid_key');
    refusal('/ix/a.jpg?mark=/logo.png&mark-w=40', /\bmark-w: /);
    refusal('/ix/a.jpg?expires=1700000000', /\bexpires: /);
  });
  test('signing: js-core secureURLToken URLs verify; changed or missing s is 403', () => {
    // @imgix/js-core 3.8.0 ImgixClient._signParams: md5(token + path + query)
    const client = new ImgixClient({ domain: 'example.imgix.net', secureURLToken: 'tok3n' });
    const url = new URL(client.buildURL('/photos/a b.jpg', { w: 300, fit: 'crop', auto: 'format' }));
    const path = `/ix${url.pathname}${url.search}`;
    assert.equal(parse(path, ['other', 'tok3n']).key, 'photos/a b.jpg');
    assert.throws(
      () => parse(path.replace('w=300', 'w=301'), ['tok3n']),
      (e: unknown) => e instanceof KinuError && e.code === 'bad_signature',
    );
    assert.throws(() => parse('/ix/photos/a.jpg?w=3', ['tok3n']), /s: missing/);
  });
});
