// The cloudflare dialect end to end: /cdn-cgi/image/<options>/<source> rendered and decoded. Sizes follow the
// fit table and examples of developers.cloudflare.com/images/optimization/features/ (a 1080×720 original: contain
// 500×500 → 500×333, cover → 500×500, crop 1296×1296 → 1080×720, pad 1080×1080 → 1080×1080, squeeze 1080×540;
// XxY: a 900×900 original cropped to 300×900 at 0.33x0.5), for originals larger and smaller than the box.
// Crop positions are read back from an original whose every pixel encodes its own coordinates.
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { generate } from 'unpic/providers/cloudflare';
import { corpus, decode, meanColour, tempDir, testServer } from '../helpers.ts';

const CF = '/cdn-cgi/image';

/** A PNG whose pixel (x, y) is R = x mod 256, G = y mod 256, B = 16·⌊x/256⌋ + ⌊y/256⌋. */
function coordinates(width: number, height: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      raw[o] = x & 255;
      raw[o + 1] = y & 255;
      raw[o + 2] = ((x >> 8) << 4) | (y >> 8);
    }
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 1 })
    .toBuffer();
}

/** RGBA of one output pixel. */
async function pixel(body: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(body).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const o = (y * info.width + x) * 4;
  return [...data.subarray(o, o + 4)];
}

/** The original coordinates an output pixel came from (for outputs cut without resampling). */
async function origin(body: Buffer, x: number, y: number): Promise<[number, number]> {
  const [r = 0, g = 0, b = 0] = await pixel(body, x, y);
  return [r + ((b >> 4) << 8), g + ((b & 15) << 8)];
}

describe('cloudflare dialect over HTTP', () => {
  const dir = tempDir('kinu-cf-');
  let app: ReturnType<typeof testServer>['app'];
  before(async () => {
    writeFileSync(join(dir, 'wide.png'), await coordinates(1080, 720));
    writeFileSync(join(dir, 'square.png'), await coordinates(900, 900));
    copyFileSync(corpus('photos/hato-pigeons.jpg'), join(dir, 'photo.jpg'));
    copyFileSync(corpus('png/palette-trns.png'), join(dir, 'small.png'));
    copyFileSync(corpus('png/alpha-photo-blackbug.png'), join(dir, 'bug.png'));
    copyFileSync(corpus('gif/animated-loop-3.gif'), join(dir, 'anim.gif'));
    ({ app } = testServer({ KINU_SOURCE: dir, KINU_DIALECTS: `native=/,cloudflare=${CF}` }));
  });
  after(() => app.close());

  const get = async (url: string, accept?: string) => {
    const r = await app.inject({ url, headers: accept ? { accept } : {} });
    assert.equal(r.statusCode, 200, `${url}: ${r.body}`);
    return r;
  };
  const size = async (url: string) => {
    const m = await decode((await get(url)).rawPayload);
    return [m.width, m.height];
  };

  test('each fit, as the docs’ 1080×720 examples', async () => {
    assert.deepEqual(await size(`${CF}/w=500,h=500,fit=contain/wide.png`), [500, 333]);
    assert.deepEqual(await size(`${CF}/w=500,h=500/wide.png`), [500, 333], 'contain is the default');
    assert.deepEqual(await size(`${CF}/w=500,h=500,fit=scale-down/wide.png`), [500, 333]);
    assert.deepEqual(await size(`${CF}/w=500,h=500,fit=cover/wide.png`), [500, 500]);
    assert.deepEqual(await size(`${CF}/w=500,h=500,fit=crop/wide.png`), [500, 500]);
    assert.deepEqual(await size(`${CF}/w=1296,h=1296,fit=crop/wide.png`), [1080, 720]);
    assert.deepEqual(await size(`${CF}/w=1296,h=1296,fit=scale-down/wide.png`), [1080, 720]);
    assert.deepEqual(await size(`${CF}/w=1296,h=1296,fit=cover/wide.png`), [1296, 1296]);
    assert.deepEqual(await size(`${CF}/w=1080,h=540,fit=squeeze/wide.png`), [1080, 540]);
    const pad = (await get(`${CF}/w=1080,h=1080,fit=pad,f=png/wide.png`)).rawPayload;
    assert.deepEqual([(await decode(pad)).width, (await decode(pad)).height], [1080, 1080]);
    assert.deepEqual(await pixel(pad, 0, 0), [255, 255, 255, 255], 'white by default');
    assert.deepEqual(await pixel(pad, 1079, 1079), [255, 255, 255, 255]);
    assert.deepEqual(await origin(pad, 0, 180), [0, 0], 'the image is centred: 180 px of white above it');
  });

  test('each fit with an original smaller than the box (300×225 into 400×400, and 200×400)', async () => {
    assert.deepEqual(await size(`${CF}/w=400,h=400,fit=contain/small.png`), [400, 300]);
    assert.deepEqual(await size(`${CF}/w=400,h=400,fit=scale-down/small.png`), [300, 225]);
    assert.deepEqual(await size(`${CF}/w=400,h=400,fit=cover/small.png`), [400, 400]);
    assert.deepEqual(await size(`${CF}/w=400,h=400,fit=crop/small.png`), [300, 225]);
    assert.deepEqual(await size(`${CF}/w=400,h=400,fit=pad/small.png`), [400, 400]);
    assert.deepEqual(await size(`${CF}/w=400,h=400,fit=squeeze/small.png`), [400, 400]);
    // Wider than the box but shorter: crop cuts the width and keeps the height (never enlarges).
    assert.deepEqual(await size(`${CF}/w=200,h=400,fit=crop/small.png`), [200, 225]);
    assert.deepEqual(await size(`${CF}/w=200,h=400,fit=cover/small.png`), [200, 400]);
    // One side: contain enlarges to it, scale-down does not.
    assert.deepEqual(await size(`${CF}/width=600/small.png`), [600, 450]);
    assert.deepEqual(await size(`${CF}/width=600,fit=scale-down/small.png`), [300, 225]);
    assert.deepEqual(await size(`${CF}/width=300,height=200,dpr=2,fit=cover/photo.jpg`), [600, 400]);
  });

  test('unpic’s cloudflare provider: fixed, constrained and full-width srcset URLs render as Cloudflare sizes them', async () => {
    // unpic writes f=auto,fit=cover after the sizes (node_modules/unpic/esm/src/providers/cloudflare.js).
    const fixed = new URL(generate('/wide.png', { width: 400, height: 300 }), 'http://n/').pathname;
    assert.equal(fixed, `${CF}/width=400,height=300,f=auto,fit=cover/wide.png`);
    const r = await get(fixed, 'image/avif,image/webp,*/*');
    assert.equal(r.headers['content-type'], 'image/avif');
    const m = await decode(r.rawPayload);
    assert.deepEqual([m.width, m.height], [400, 300]);
    for (const w of [640, 1200]) {
      const url = new URL(generate('wide.png', { width: w }), 'http://n/').pathname;
      const out = await get(url, 'image/webp');
      assert.equal(out.headers['content-type'], 'image/webp');
      const d = await decode(out.rawPayload);
      // cover with one side scales to it, enlarging past the original's 1080 as Cloudflare's cover does.
      assert.deepEqual([d.width, d.height], [w, Math.round((720 * w) / 1080)], url);
    }
  });

  test('gravity XxY aligns the point (the docs’ 900×900 → 300×900 at 0.33x0.5), sides keep their side', async () => {
    const at = async (url: string) => origin((await get(url)).rawPayload, 0, 0);
    // left = 0.33 × (900 − 300) = 198; centring the window on the point would give 147.
    assert.deepEqual(await at(`${CF}/w=300,h=900,fit=cover,g=0.33x0.5,f=png/square.png`), [198, 0]);
    assert.deepEqual(await at(`${CF}/w=300,h=900,fit=crop,gravity=0.33x0.5,f=png/square.png`), [198, 0]);
    assert.deepEqual(await at(`${CF}/w=300,h=900,fit=cover,f=png/square.png`), [300, 0], 'centre by default');
    assert.deepEqual(await at(`${CF}/w=300,h=720,fit=cover,gravity=left,f=png/wide.png`), [0, 0]);
    assert.deepEqual(await at(`${CF}/w=300,h=720,fit=cover,gravity=right,f=png/wide.png`), [780, 0]);
    assert.deepEqual(await at(`${CF}/w=1080,h=400,fit=cover,gravity=bottom,f=png/wide.png`), [0, 320]);
    assert.deepEqual(await at(`${CF}/w=1080,h=400,fit=cover,gravity=0x0.25,f=png/wide.png`), [0, 80]);
    // gravity is in the rotated image: its left is the original's bottom.
    assert.deepEqual(await at(`${CF}/rotate=90,w=300,h=1080,fit=cover,gravity=left,f=png/wide.png`), [0, 719]);
    const attention = await size(`${CF}/w=200,h=200,fit=crop,gravity=auto/photo.jpg`);
    assert.deepEqual(attention, [200, 200]);
  });

  test('flip=h,rotate=90: mirrored first, then turned (output (X, Y) is original (1079 − Y, 719 − X))', async () => {
    const body = (await get(`${CF}/flip=h,rotate=90,f=png/wide.png`)).rawPayload;
    const m = await decode(body);
    assert.deepEqual([m.width, m.height], [720, 1080]);
    assert.deepEqual(await origin(body, 0, 0), [1079, 719]);
    assert.deepEqual(await origin(body, 719, 0), [1079, 0]);
    assert.deepEqual(await origin(body, 0, 1079), [0, 719]);
  });

  test('trim=20;30;20;0 and trim.left/top/width/height cut the original first', async () => {
    const a = (await get(`${CF}/trim=20;30;20;0,f=png/wide.png`)).rawPayload;
    assert.deepEqual([(await decode(a)).width, (await decode(a)).height], [1050, 680]);
    assert.deepEqual(await origin(a, 0, 0), [0, 20]);
    const b = (await get(`${CF}/trim.width=678,trim.height=600,trim.left=30,trim.top=40,f=png/wide.png`)).rawPayload;
    assert.deepEqual([(await decode(b)).width, (await decode(b)).height], [678, 600]);
    assert.deepEqual(await origin(b, 0, 0), [30, 40]);
    const r = await app.inject({ url: `${CF}/trim=0;600;0;600/wide.png` });
    assert.equal(r.statusCode, 400);
    assert.match(r.json().detail, /^trim:/);
  });

  test('format=auto: AVIF, then WebP, else the original’s type, with Vary: Accept; explicit formats do not vary', async () => {
    const ct = async (url: string, accept?: string) => (await get(url, accept)).headers['content-type'];
    const auto = `${CF}/width=120,format=auto/photo.jpg`;
    assert.equal(await ct(auto, 'image/avif,image/webp,*/*'), 'image/avif');
    assert.equal(await ct(auto, 'image/webp,*/*'), 'image/webp');
    assert.equal(await ct(auto), 'image/jpeg');
    assert.equal(await ct(`${CF}/width=120,f=auto/small.png`, 'text/html'), 'image/png');
    const r = await get(auto, 'image/webp');
    assert.match(String(r.headers.vary), /accept/i);
    const webp = await get(`${CF}/width=120,f=webp/photo.jpg`, 'image/avif');
    assert.equal(webp.headers['content-type'], 'image/webp');
    assert.doesNotMatch(String(webp.headers.vary ?? ''), /accept/i);
    // Without a format an opaque PNG becomes JPEG ("default to JPEG when possible"); one with alpha stays PNG.
    assert.equal(await ct(`${CF}/width=120/wide.png`), 'image/jpeg');
    assert.equal(await ct(`${CF}/width=120/bug.png`), 'image/png');
    assert.match(String(await ct(`${CF}/width=120,format=json/photo.jpg`)), /^application\/json/);
  });

  test('a Cloudflare URL and its native twin share one rendering (quality 85, scale-down = no enlarge)', async () => {
    const a = await get(`${CF}/width=400,fit=scale-down,f=webp/photo.jpg`);
    const b = await get('/photo.jpg?w=400&fmt=webp&q=85');
    assert.equal(a.headers.etag, b.headers.etag);
    assert.ok(a.rawPayload.equals(b.rawPayload));
  });

  test('background is painted under transparency; saturation=0 is grey; anim=false keeps one frame', async () => {
    const red = (await get(`${CF}/width=200,background=red,f=png/bug.png`)).rawPayload;
    assert.deepEqual(await pixel(red, 0, 0), [255, 0, 0, 255]);
    const [r, g, b] = await meanColour((await get(`${CF}/width=200,saturation=0,f=png/photo.jpg`)).rawPayload);
    assert.ok(Math.abs(r - g) < 1 && Math.abs(g - b) < 1, `grey: ${r} ${g} ${b}`);
    assert.ok(((await decode((await get(`${CF}/width=50/anim.gif`)).rawPayload)).pages ?? 1) > 1);
    assert.equal((await decode((await get(`${CF}/width=50,anim=false/anim.gif`)).rawPayload)).pages ?? 1, 1);
  });

  test('blur=50 softens; sharpen and contrast render', async () => {
    const stdev = async (url: string) => {
      const s = await sharp((await get(url)).rawPayload).stats();
      return s.channels[0]!.stdev;
    };
    assert.ok((await stdev(`${CF}/width=300,blur=50/photo.jpg`)) < (await stdev(`${CF}/width=300/photo.jpg`)) * 0.8);
    assert.deepEqual(await size(`${CF}/width=300,sharpen=1,contrast=1.5/photo.jpg`), [300, 199]);
  });

  test('refusals are problem+json naming the option; an absolute URL outside kinu’s source is a 404', async () => {
    for (const [url, part] of [
      [`${CF}/width=100,brightness=0.5/photo.jpg`, 'brightness'],
      [`${CF}/segment=foreground/photo.jpg`, 'segment'],
      [`${CF}/fit=fill/photo.jpg`, 'fit'],
      [`${CF}/nope=1/photo.jpg`, '"nope"'],
    ]) {
      const r = await app.inject({ url });
      assert.equal(r.statusCode, 400, url);
      assert.match(String(r.headers['content-type']), /problem\+json/);
      assert.ok(r.json().detail.startsWith(`${part}:`), r.json().detail);
    }
    const abs = await app.inject({ url: `${CF}/width=100/https://example.com/photo.jpg` });
    assert.equal(abs.statusCode, 404);
    assert.match(abs.json().detail, /^source:/);
  });
});
