// The cloudflare dialect's parser: Cloudflare's own URL examples (developers.cloudflare.com/images/optimization/
// features/ and …/transform-images/transform-via-url/) and the URLs unpic's cloudflare provider builds
// (node_modules/unpic/esm/src/providers/cloudflare.js), parsed into the Transform Cloudflare's documented
// meaning asks for; refusals name the option.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generate, transform as unpicTransform } from 'unpic/providers/cloudflare';
import type { Transform } from '../../src/transform.ts';
import { parseCloudflare } from '../../src/url/cloudflare/index.ts';
import { rejectsKinu } from '../helpers.ts';

const O = { prefix: '/cdn-cgi/image', http: { base: 'https://img.example.com/media/' } };
const parse = (url: string) => parseCloudflare(url, O);
const t = (url: string): Transform => {
  const r = parse(url);
  assert.ok(r.transform, url);
  return r.transform;
};
const path = (url: string) => new URL(url, 'http://n/').pathname;

describe('cloudflare: the docs’ examples', () => {
  test('width=80,quality=75/uploads/avatar1.jpg (transform-via-url)', () => {
    const r = parse('/cdn-cgi/image/width=80,quality=75/uploads/avatar1.jpg');
    assert.equal(r.key, 'uploads/avatar1.jpg');
    assert.equal(r.transform?.width, 80);
    assert.equal(r.transform?.quality, 75);
    // fit defaults to contain, which enlarges ("contain (default)", fit table).
    assert.equal(r.transform?.enlarge, true);
  });

  test('quality defaults to 85; the perceptual levels use kinu’s q=auto presets', () => {
    assert.equal(t('/cdn-cgi/image/width=80/a.jpg').quality, 85);
    assert.equal(t('/cdn-cgi/image/quality=high/a.jpg').quality, 'auto:high');
    assert.equal(t('/cdn-cgi/image/q=medium-high/a.jpg').quality, 'auto');
    assert.equal(t('/cdn-cgi/image/q=medium-low/a.jpg').quality, 'auto');
    assert.equal(t('/cdn-cgi/image/quality=low/a.jpg').quality, 'auto:low');
  });

  test('fit=scale-down,width=1920 never enlarges; each fit as kinu’s fit', () => {
    const sd = t('/cdn-cgi/image/fit=scale-down,width=1920/a.jpg');
    assert.deepEqual([sd.width, sd.enlarge], [1920, false]);
    const box = (fit: string) => t(`/cdn-cgi/image/w=500,h=500,fit=${fit}/a.jpg`);
    assert.deepEqual([box('contain').fit, box('contain').enlarge], ['inside', true]);
    assert.deepEqual([box('scale-down').fit, box('scale-down').enlarge], ['inside', false]);
    assert.deepEqual([box('cover').fit, box('cover').enlarge, box('cover').cloudflare], ['cover', true, undefined]);
    assert.deepEqual([box('crop').fit, box('crop').enlarge, box('crop').cloudflare?.clamp], ['cover', false, true]);
    assert.deepEqual([box('pad').fit, box('pad').enlarge], ['contain', true]);
    assert.deepEqual(box('pad').background, { r: 255, g: 255, b: 255, alpha: 1 }, 'pad is white by default');
    assert.deepEqual([box('squeeze').fit, box('squeeze').enlarge], ['fill', true]);
  });

  test('dpr multiplies width and height (width=300,height=200,dpr=2), at most 2', () => {
    const d = t('/cdn-cgi/image/width=300,height=200,dpr=2/a.jpg');
    assert.deepEqual([d.width, d.height], [600, 200 * 2]);
    assert.deepEqual([t('/cdn-cgi/image/width=300,dpr=3/a.jpg').width], [600]);
  });

  test('gravity: sides, XxY (relative alignment), auto and face (attention)', () => {
    const g = (v: string) => t(`/cdn-cgi/image/w=300,h=900,fit=cover,gravity=${v}/a.jpg`);
    assert.deepEqual(g('left').position, { kind: 'gravity', gravity: 'left' });
    assert.deepEqual(g('0x1').position, { kind: 'gravity', gravity: 'bottom-left' });
    assert.deepEqual(g('0.5x0.33').position, { kind: 'focal', x: 0.5, y: 0.33 });
    assert.equal(g('0.5x0.33').cloudflare?.align, true);
    assert.deepEqual(g('auto').position, { kind: 'attention' });
    assert.deepEqual(t('/cdn-cgi/image/w=300,h=900,fit=cover,g=face,zoom=0.1/a.jpg').position, { kind: 'attention' });
    // Gravity is for cover and crop only; contain ignores it.
    assert.deepEqual(t('/cdn-cgi/image/w=300,h=900,g=left/a.jpg').position, { kind: 'gravity', gravity: 'center' });
  });

  test('flip=h,rotate=90, (flip before rotation; trailing comma): kinu mirrors after turning, so the other way', () => {
    const r = t('/cdn-cgi/image/flip=h,rotate=90,/a.jpg');
    assert.deepEqual([r.rotate, r.flipH, r.flipV], [90, false, true]);
    const half = t('/cdn-cgi/image/flip=h,rotate=180/a.jpg');
    assert.deepEqual([half.rotate, half.flipH, half.flipV], [180, true, false]);
  });

  test('background: %23RRGGBB, names, rgb() and rgba(); it is painted under transparency', () => {
    const red = { r: 255, g: 0, b: 0, alpha: 1 };
    assert.deepEqual(t('/cdn-cgi/image/background=%23ff0000/a.png').background, red);
    assert.deepEqual(t('/cdn-cgi/image/background=red/a.png').background, red);
    assert.deepEqual(t('/cdn-cgi/image/background=rgb%28240%2C40%2C145%29/a.png').background, {
      r: 240,
      g: 40,
      b: 145,
      alpha: 1,
    });
    assert.equal(t('/cdn-cgi/image/background=rgba(250,40,145,0.5)/a.png').background?.alpha, 0.5);
    assert.deepEqual(t('/cdn-cgi/image/background=rgb(255%20255%200)/a.png').background, {
      r: 255,
      g: 255,
      b: 0,
      alpha: 1,
    });
    assert.equal(t('/cdn-cgi/image/background=red/a.png').flattenAlways, true);
  });

  test('trim=20;30;20;0, trim.<side> and trim.width/height (× dpr); trim=border', () => {
    assert.deepEqual(t('/cdn-cgi/image/trim=20;30;20;0/a.jpg').cloudflare?.trim, [20, 30, 20, 0, 0, 0]);
    assert.deepEqual(
      t('/cdn-cgi/image/trim.width=678,trim.height=678,trim.left=30,trim.top=40/a.jpg').cloudflare?.trim,
      [40, 0, 0, 30, 678, 678],
    );
    assert.deepEqual(t('/cdn-cgi/image/trim.left=800,dpr=2/a.jpg').cloudflare?.trim, [0, 0, 0, 1600, 0, 0]);
    const b = t('/cdn-cgi/image/trim=border,trim.border.color=%23ffffff,trim.border.tolerance=200/a.jpg');
    assert.deepEqual([b.trim, b.trimColour], [55, [255, 255, 255]]);
    assert.equal(t('/cdn-cgi/image/trim=border/a.jpg').trim, 10);
  });

  test('format: auto (AVIF, then WebP, else the source’s type), avif, webp, jpeg, baseline-jpeg, json', () => {
    const auto = t('/cdn-cgi/image/format=auto/a.jpg');
    assert.deepEqual([auto.format, auto.autoFormats, auto.autoFallback], ['auto', ['avif', 'webp'], 'source']);
    assert.equal(t('/cdn-cgi/image/f=avif/a.jpg').format, 'avif');
    assert.equal(t('/cdn-cgi/image/f=webp/a.jpg').format, 'webp');
    assert.equal(t('/cdn-cgi/image/f=jpeg/a.jpg').format, 'jpeg');
    assert.equal(t('/cdn-cgi/image/f=baseline-jpeg/a.jpg').format, 'jpeg');
    assert.equal(t('/cdn-cgi/image/f=json/a.jpg').format, 'json');
    // "Cloudflare will default to JPEG when possible" (an opaque PNG), without a format.
    assert.equal(t('/cdn-cgi/image/width=10/a.png').pngToJpeg, true);
  });

  test('effects: blur radius → σ = r/2.5, sharpen, saturation (0 = greyscale), contrast; anim=false', () => {
    assert.equal(t('/cdn-cgi/image/blur=50/a.jpg').blur, 20);
    assert.equal(t('/cdn-cgi/image/blur=250/a.jpg').blur, 100);
    assert.equal(t('/cdn-cgi/image/blur=0/a.jpg').blur, undefined);
    assert.equal(t('/cdn-cgi/image/sharpen=2/a.jpg').sharpen, 2);
    assert.equal(t('/cdn-cgi/image/saturation=0/a.jpg').gray, true);
    assert.deepEqual(t('/cdn-cgi/image/saturation=0.5/a.jpg').adjust, [{ op: 'saturation', value: 0.5 }]);
    assert.deepEqual(t('/cdn-cgi/image/contrast=0.25/a.jpg').adjust, [{ op: 'contrast', value: -50 }]);
    // 0 and 1 change nothing ("0 is ignored").
    assert.equal(t('/cdn-cgi/image/brightness=1,contrast=0,gamma=0/a.jpg').adjust, undefined);
    assert.equal(t('/cdn-cgi/image/anim=false/a.gif').animated, false);
  });

  test('accepted and ignored: metadata, compression=fast, onerror=redirect, scq, zoom, upscale=interpolate, w=auto', () => {
    const base = t('/cdn-cgi/image/width=100/a.jpg');
    for (const extra of [
      'metadata=keep',
      'metadata=copyright',
      'metadata=none',
      'compression=fast',
      'onerror=redirect',
      'slow-connection-quality=50',
      'scq=low',
      'face-zoom=0.2',
      'upscale=interpolate',
      'height=auto',
    ])
      assert.deepEqual(t(`/cdn-cgi/image/width=100,${extra}/a.jpg`), base, extra);
    assert.equal(t('/cdn-cgi/image/width=auto,q=80/a.jpg').width, undefined);
  });

  test('sources: a path on the zone (with or without its slash), a URL under kinu’s HTTP origin; the query is dropped', () => {
    assert.equal(parse('/cdn-cgi/image/w=1//uploads/a%20b.jpg').key, 'uploads/a b.jpg');
    assert.equal(parse('/cdn-cgi/image/w=1/uploads/a.jpg?v=3').key, 'uploads/a.jpg');
    assert.equal(parse('/cdn-cgi/image/width=100/https://img.example.com/media/x/y.png').key, 'x/y.png');
    // A proxy that merged // and a fully encoded URL name the same key.
    assert.equal(parse('/cdn-cgi/image/width=100/https:/img.example.com/media/x/y.png').key, 'x/y.png');
    assert.equal(parse('/cdn-cgi/image/width=100/https%3A%2F%2Fimg.example.com%2Fmedia%2Fx%2Fy.png').key, 'x/y.png');
    rejectsKinu(() => parse('/cdn-cgi/image/width=100/https://elsewhere.example/x.png'), 'not_found', 'source');
    rejectsKinu(() => parse('/cdn-cgi/image/width=100/uploads/../secret.jpg'), 'invalid_key', 'key');
    rejectsKinu(() => parse('/cdn-cgi/image/width=100/uploads/%2e%2e/secret.jpg'), 'invalid_key', 'key');
    rejectsKinu(() => parse('/cdn-cgi/image/width=100/'), 'invalid_param', 'path');
  });
});

describe('cloudflare: unpic’s cloudflare provider', () => {
  test('generate() layouts parse to Cloudflare’s meaning', () => {
    const fixed = path(generate('/uploads/a.jpg', { width: 400, height: 300 }));
    assert.equal(fixed, '/cdn-cgi/image/width=400,height=300,f=auto,fit=cover/uploads/a.jpg');
    const f = parse(fixed);
    assert.equal(f.key, 'uploads/a.jpg');
    assert.deepEqual(
      [f.transform?.width, f.transform?.height, f.transform?.fit, f.transform?.enlarge, f.transform?.format],
      [400, 300, 'cover', true, 'auto'],
    );
    const webp = t(path(generate('uploads/a.jpg', { width: 800, quality: 70, format: 'webp' })));
    assert.deepEqual([webp.width, webp.quality, webp.format], [800, 70, 'webp']);
    // unpic types trim as an object but writes String(value): the URL form is the string Cloudflare reads.
    const trim = '1;2;3;4' as never;
    const encoded = t(path(generate('/a.jpg', { width: 400, background: '#ff0000', gravity: '0.5x0.2', trim })));
    assert.deepEqual(encoded.background, { r: 255, g: 0, b: 0, alpha: 1 });
    assert.deepEqual(encoded.cloudflare?.trim, [1, 2, 3, 4, 0, 0]);
    const abs = generate('https://img.example.com/media/a.jpg', { width: 400, height: 300, fit: 'scale-down' });
    assert.equal(parse(path(abs)).key, 'a.jpg');
    const srcset = [640, 750, 828, 1080, 1200, 1920].map((w) => t(path(generate('/hero.jpg', { width: w }))));
    assert.deepEqual(
      srcset.map((x) => x.width),
      [640, 750, 828, 1080, 1200, 1920],
    );
    const re = t(
      path(unpicTransform('https://example.com/cdn-cgi/image/width=100,f=webp/uploads/b.png', { width: 250 })),
    );
    assert.deepEqual([re.width, re.format], [250, 'webp']);
  });
});

describe('cloudflare: refusals name the option', () => {
  const cases: [string, string][] = [
    ['/cdn-cgi/image/widht=100/a.jpg', '"widht"'],
    ['/cdn-cgi/image/fit=fill,w=10/a.jpg', 'fit'],
    ['/cdn-cgi/image/width=0/a.jpg', 'width'],
    ['/cdn-cgi/image/width=9000/a.jpg', 'width'],
    ['/cdn-cgi/image/w=-5/a.jpg', 'w'],
    ['/cdn-cgi/image/quality=101/a.jpg', 'quality'],
    ['/cdn-cgi/image/q=best/a.jpg', 'q'],
    ['/cdn-cgi/image/blur=251/a.jpg', 'blur'],
    ['/cdn-cgi/image/sharpen=11/a.jpg', 'sharpen'],
    ['/cdn-cgi/image/rotate=45/a.jpg', 'rotate'],
    ['/cdn-cgi/image/flip=x/a.jpg', 'flip'],
    ['/cdn-cgi/image/gravity=1.5x0/a.jpg', 'gravity'],
    ['/cdn-cgi/image/background=notacolour/a.jpg', 'background'],
    ['/cdn-cgi/image/trim=1;2;3/a.jpg', 'trim'],
    ['/cdn-cgi/image/format=gif/a.jpg', 'format'],
    ['/cdn-cgi/image/anim=maybe/a.jpg', 'anim'],
    ['/cdn-cgi/image/metadata=all/a.jpg', 'metadata'],
    ['/cdn-cgi/image/brightness=0.5/a.jpg', 'brightness'],
    ['/cdn-cgi/image/gamma=2/a.jpg', 'gamma'],
    ['/cdn-cgi/image/segment=foreground/a.jpg', 'segment'],
    ['/cdn-cgi/image/upscale=generate/a.jpg', 'upscale'],
    ['/cdn-cgi/image/border=10/a.jpg', 'border'],
    ['/cdn-cgi/image/trim=border,trim.border.keep=3/a.jpg', 'trim.border.keep'],
    ['/cdn-cgi/image/width/a.jpg', 'options'],
    ['/cdn-cgi/image/width=/a.jpg', 'width'],
    ['/cdn-cgi/image/,/a.jpg', 'options'],
  ];
  for (const [url, part] of cases) test(url, () => rejectsKinu(() => parse(url), 'invalid_param', part));
});
