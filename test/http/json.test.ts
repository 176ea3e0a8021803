// fmt=json: describes exactly the image the same params give without it, with a placeholder read from those
// pixels; public, signed, cached and ETag'd like an image.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { thumbHashToRGBA } from 'thumbhash';
import { signUrl } from '../../src/url/sign.ts';
import { decode, meanColour, tempDir, testServer } from '../helpers.ts';
import { problem } from './fakes.ts';

interface Description {
  width: number;
  height: number;
  format: string;
  mime: string;
  bytes: number;
  frames: number;
  thumbhash: string;
  dominant: string;
}

const hex = (s: string) => [1, 3, 5].map((i) => parseInt(s.slice(i, i + 2), 16));
const near = (a: readonly number[], b: readonly number[], tol: number, label: string) =>
  assert.ok(
    a.every((v, i) => Math.abs(v - b[i]!) <= tol),
    `${label}: ${a.map((v) => v.toFixed(1))} vs ${b.map((v) => v.toFixed(1))} (±${tol})`,
  );

function decodedMean(hash: string): number[] {
  const { rgba } = thumbHashToRGBA(Buffer.from(hash, 'base64'));
  const sum = [0, 0, 0];
  let w = 0;
  for (let i = 0; i < rgba.length; i += 4) {
    for (let c = 0; c < 3; c++) sum[c]! += rgba[i + c]! * rgba[i + 3]!;
    w += rgba[i + 3]!;
  }
  return sum.map((s) => s / w);
}

describe('fmt=json over the corpus', () => {
  const { app } = testServer();
  after(() => app.close());

  // Each is asked twice with the same params, with and without fmt=json: the JSON must describe that image.
  const CASES: [string, string][] = [
    ['/photos/hato-pigeons.jpg', 'w=80'],
    ['/png/rgba.png', 'w=40'], // PNG with alpha stays PNG
    ['/png/palette-trns.png', 'w=60&h=60&fit=contain'],
    ['/png/palette-photo.png', 'w=50&q=40'],
    ['/webp/lossy-alpha.webp', 'w=40'],
    ['/avif/fox-8bit-420.avif', 'w=40'],
    ['/tiff/cmyk-fogra39.tif', 'w=40'], // TIFF → JPEG
    ['/svg/viewbox-only.svg', 'w=40'], // SVG → PNG
    ['/gif/animated-loop-3.gif', 'w=30'], // stays an animated GIF
    ['/gif/animated-loop-3.gif', 'w=30&rot=90'], // rot keeps the first frame only
    ['/photos/hato-pigeons.jpg', 'w=30&h=30&pad=5&bg=ff000080'],
  ];
  for (const [path, query] of CASES) {
    test(`${path}?${query}&fmt=json describes ${path}?${query}`, async () => {
      const img = await app.inject({ url: `${path}?${query}` });
      const res = await app.inject({ url: `${path}?${query}&fmt=json` });
      assert.equal(img.statusCode, 200, img.body);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
      const d = res.json() as Description;
      assert.deepEqual(Object.keys(d).sort(), [
        'bytes',
        'dominant',
        'format',
        'frames',
        'height',
        'mime',
        'thumbhash',
        'width',
      ]);
      const meta = await decode(img.rawPayload);
      assert.equal(d.mime, img.headers['content-type']);
      assert.equal(d.format, meta.format === 'heif' ? 'avif' : meta.format);
      assert.deepEqual([d.width, d.height, d.frames], [meta.width, meta.pageHeight ?? meta.height, meta.pages ?? 1]);
      assert.equal(d.bytes, img.rawPayload.length);
      assert.match(d.dominant, /^#[0-9a-f]{6}$/);
      assert.match(d.thumbhash, /^[A-Za-z0-9+/]+=*$/);
      // The ThumbHash is of these very pixels (its alpha-weighted mean against the image's, alpha removed).
      if (!meta.hasAlpha) near(decodedMean(d.thumbhash), await meanColour(img.rawPayload), 12, path);
    });
  }

  test('fmt=json is cached: a miss, then a memory hit with the same body and ETag', async () => {
    const url = '/photos/lunch-food.jpg?w=64&fmt=json';
    const a = await app.inject({ url });
    const b = await app.inject({ url });
    assert.deepEqual([a.headers['x-kinu-cache'], b.headers['x-kinu-cache']], ['miss', 'memory']);
    assert.equal(a.body, b.body);
    assert.match(String(a.headers.etag), /^"[^"]+"$/);
    assert.equal(a.headers.etag, b.headers.etag);
    assert.equal(a.headers['cache-control'], 'public, max-age=31536000');
    assert.match(String(b.headers['server-timing']), /^cache;dur=/);
    const img = await app.inject({ url: '/photos/lunch-food.jpg?w=64' });
    assert.notEqual(img.headers.etag, a.headers.etag, 'the JSON and the image are different variants');
    const cond = await app.inject({ url, headers: { 'if-none-match': String(a.headers.etag) } });
    assert.equal(cond.statusCode, 304);
    assert.equal(cond.rawPayload.length, 0);
  });
});

describe('fmt=json placeholders of flat colours', () => {
  const dir = tempDir();
  let app: ReturnType<typeof testServer>['app'];
  before(async () => {
    const flat = (w: number, h: number) =>
      sharp({ create: { width: w, height: h, channels: 3, background: { r: 30, g: 90, b: 200 } } });
    writeFileSync(join(dir, 'blue.png'), await flat(120, 80).png().toBuffer());
    writeFileSync(join(dir, 'blue.jpg'), await flat(120, 80).jpeg({ quality: 90 }).toBuffer());
    writeFileSync(join(dir, 'small.png'), await flat(10, 10).png().toBuffer());
    app = testServer({ KINU_SOURCE: dir }).app;
  });
  after(() => app.close());

  test('dominant is the flat colour (exact in PNG, within JPEG error in JPEG)', async () => {
    for (const [url, tol] of [
      ['/blue.png?w=60&fmt=json', 0],
      ['/blue.jpg?w=60&fmt=json', 3],
    ] as const) {
      const d = (await app.inject({ url })).json() as Description;
      near(hex(d.dominant), [30, 90, 200], tol, url);
      near(decodedMean(d.thumbhash), [30, 90, 200], 4, `${url} thumbhash`);
    }
  });

  test('the placeholder is of the output: padding that covers most of it becomes dominant', async () => {
    const d = (await app.inject({ url: '/small.png?pad=20&bg=00ff00&fmt=json' })).json() as Description;
    assert.deepEqual([d.width, d.height], [50, 50]);
    assert.equal(d.dominant, '#00ff00');
  });
});

describe('fmt=json with signing on', () => {
  const SECRET = 'json-secret-0123456789abcdef';
  const { app } = testServer({ KINU_SECRET: SECRET });
  after(() => app.close());

  test('unsigned → 403; signed → 200', async () => {
    const url = '/photos/hato-pigeons.jpg?w=40&fmt=json';
    problem(await app.inject({ url }), 403, 'bad_signature');
    const res = await app.inject({ url: signUrl(SECRET, url) });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((res.json() as Description).width, 40);
  });
});
