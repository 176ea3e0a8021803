// Next.js optimizer URLs over HTTP, decoded: each case is one of Next's own (test/integration/image-optimizer/
// test/util.ts in vercel/next.js, named in each test) answered as Next 16.5 answers it: the width asked, never
// enlarged, WebP only when Accept names it, the original's type otherwise (JPEG for WebP and AVIF originals),
// animations served as they are, SVG refused, `Vary: Accept` and `Content-Disposition: attachment`.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { generate as unpicNextjs } from 'unpic/providers/nextjs';
import { NEXT_DEVICE_SIZES, NEXT_IMAGE_SIZES } from '../../src/url/nextjs/settings.ts';
import { crc32 } from '../../src/crc32.ts';
import sharp from 'sharp';
import { corpus, decode, tempDir, testServer } from '../helpers.ts';
import { problem } from './fakes.ts';

const DIALECTS = 'native=/,nextjs=/_next/image';
const KIMONO = 'jpeg/progressive-kimono.jpg'; // 722×1024
// Accept headers as util.ts sends them.
const OLD_SAFARI = 'image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5';
const OLD_CHROME = 'image/webp,image/apng,image/*,*/*;q=0.8';
const NEW_CHROME = 'image/avif,image/webp,image/apng,image/*,*/*;q=0.8';

/** next/image's default loader (packages/next/src/shared/lib/image-loader.ts), default config: q=75. */
const loader = (src: string, width: number, q = 75) => `/_next/image?url=${encodeURIComponent(src)}&w=${width}&q=${q}`;

describe('nextjs over HTTP, Next 16 defaults', () => {
  const { app } = testServer({ KINU_DIALECTS: DIALECTS, KINU_MEMORY_CACHE_MB: '0' });
  after(() => app.close());
  const get = (url: string, accept?: string) => app.inject({ url, headers: accept ? { accept } : {} });

  test('every default width from the loader: that width (the original 928 above it), WebP for Chrome, Vary: Accept', async () => {
    for (const w of [...NEXT_IMAGE_SIZES, ...NEXT_DEVICE_SIZES]) {
      const res = await get(loader('/png/image-in-alpha.png', w), NEW_CHROME); // 928×169
      assert.equal(res.statusCode, 200, `w=${w}: ${res.body}`);
      // AVIF is not in the default images.formats, so Chrome gets WebP.
      assert.equal(res.headers['content-type'], 'image/webp');
      assert.equal(res.headers.vary, 'Accept');
      assert.equal(res.headers['content-disposition'], 'attachment; filename="image-in-alpha.webp"');
      const m = await decode(res.rawPayload);
      assert.equal(m.format, 'webp');
      assert.equal(m.width, Math.min(w, 928), `w=${w}`);
    }
  });

  test("'should not resize if requested width is larger than original source image'", async () => {
    const res = await get(loader(`/${KIMONO}`, 1080), 'image/webp');
    assert.equal(res.statusCode, 200, res.body);
    const m = await decode(res.rawPayload);
    assert.deepEqual([m.format, m.width, m.height], ['webp', 722, 1024]);
  });

  test("'should resize relative url and webp Firefox accept header' / 'old Chrome accept header as webp'", async () => {
    for (const accept of ['image/webp,*/*', OLD_CHROME]) {
      const res = await get(loader('/png/alpha-photo-blackbug.png', 384), accept);
      assert.equal(res.headers['content-type'], 'image/webp', accept);
      const m = await decode(res.rawPayload);
      assert.deepEqual([m.format, m.width, m.hasAlpha], ['webp', 384, true]);
    }
  });

  test("'should resize relative url and png accept header' / 'with invalid accept header as png'", async () => {
    for (const accept of ['image/png', 'image/invalid']) {
      const res = await get(loader('/png/alpha-photo-blackbug.png', 384), accept);
      assert.equal(res.headers['content-type'], 'image/png', accept);
      assert.equal(res.headers.vary, 'Accept');
      assert.equal(res.headers['content-disposition'], 'attachment; filename="alpha-photo-blackbug.png"');
      const m = await decode(res.rawPayload);
      assert.deepEqual([m.format, m.width], ['png', 384]);
    }
  });

  test("'should resize relative url with invalid accept header as gif' (a still GIF is resized)", async () => {
    const res = await get(loader('/gif/static-photo-crash-test.gif', 384), 'image/invalid');
    assert.equal(res.headers['content-type'], 'image/gif');
    const m = await decode(res.rawPayload);
    assert.deepEqual([m.format, m.width], ['gif', 384]);
  });

  test("'should maintain jpg format for old Safari'", async () => {
    const res = await get(loader(`/${KIMONO}`, 256), OLD_SAFARI);
    assert.equal(res.headers['content-type'], 'image/jpeg');
    const m = await decode(res.rawPayload);
    assert.deepEqual([m.format, m.width], ['jpeg', 256]);
  });

  test("'should downlevel webp format to jpeg for old Safari' and 'avif format to jpeg'", async () => {
    for (const src of ['/webp/lossy-photo.webp', '/avif/fox-8bit-420.avif']) {
      const res = await get(loader(src, 384), OLD_SAFARI);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['content-type'], 'image/jpeg', src);
      assert.equal(res.headers.vary, 'Accept');
      const m = await decode(res.rawPayload);
      assert.deepEqual([m.format, m.width], ['jpeg', 384], src);
    }
    // …while a client that names WebP gets WebP.
    const res = await get(loader('/avif/fox-8bit-420.avif', 384), 'image/webp');
    assert.equal((await decode(res.rawPayload)).format, 'webp');
  });

  test("'should maintain animated gif' / 'animated webp': the original's bytes, whatever w", async () => {
    for (const [src, type] of [
      ['gif/animated-rotating-squares.gif', 'image/gif'],
      ['webp/animated-rotating-squares.webp', 'image/webp'],
    ] as const) {
      const res = await get(loader(`/${src}`, 32), NEW_CHROME);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['content-type'], type);
      assert.equal(res.headers.vary, 'Accept');
      assert.ok(res.headers.etag);
      assert.ok(res.rawPayload.equals(readFileSync(corpus(src))), `${src}: served unchanged`);
      const m = await decode(res.rawPayload);
      assert.equal(m.width, 80);
      assert.ok((m.pages ?? 1) > 1, 'still animated');
    }
  });

  test("'should not allow vector svg': 400", async () => {
    const res = await get(loader('/svg/viewbox-only.svg', 640), 'image/webp');
    const p = problem(res, 400, 'invalid_param');
    assert.match(String(p.detail), /valid but image type is not allowed/);
  });

  test('the 400s of util.ts, as problem+json naming the parameter', async () => {
    const cases: [string, RegExp][] = [
      ['/_next/image?w=640&q=75', /^url: "url" parameter is required/], // 'should fail when url is missing'
      ['/_next/image?url=/test.png&q=75', /^w: "w" parameter \(width\) is required/], // 'should fail when w is missing'
      ['/_next/image?url=/test.png&w=640', /^q: "q" parameter \(quality\) is required/], // 'when q is missing'
      ['/_next/image?url=/test.png&w=640&q=101', /^q: .*between 1 and 100/], // 'when q is greater than 100'
      ['/_next/image?url=/test.png&w=640&q=0', /^q: .*between 1 and 100/], // 'when q is less than 1'
      ['/_next/image?url=/test.png&w=0&q=75', /^w: .*greater than 0/], // 'should fail when w is 0'
      ['/_next/image?url=/test.png&w=-100&q=75', /^w: .*greater than 0/], // 'when w is less than 0'
      ['/_next/image?url=/test.png&w=foo&q=75', /^w: .*greater than 0/], // 'when w is not a number'
      ['/_next/image?url=/test.png&w=640&q=foo', /^q: .*between 1 and 100/], // 'when q is not a number'
      ['/_next/image?url=/test.png&w=1000&q=75', /^w: "w" parameter \(width\) of 1000 is not allowed/], // 'width is not in next.config.js'
      [loader('http://vercel.com/button', 640), /^url: "url" parameter is not allowed/], // 'domain is not defined'
      [loader('file://localhost/test.png', 640), /^url: "url" parameter is invalid/], // 'url has file protocol'
      [loader('ftp://localhost/test.png', 640), /^url: "url" parameter is invalid/], // 'url has ftp protocol'
      [loader('//<h1>not-an-image</h1>', 640), /^url: .*protocol-relative/], // 'internal url is not an image'
      [loader('/_next/image?url=/a.png&w=640&q=75', 640), /^url: "url" parameter cannot be recursive/],
      [loader('/test.png', 640, 80), /^q: "q" parameter \(quality\) of 80 is not allowed/], // Next 16: qualities [75]
    ];
    for (const [url, detail] of cases) {
      const p = problem(await get(url, 'image/webp'), 400, 'invalid_param');
      assert.match(String(p.detail), detail, url);
    }
  });

  test("'should set 304 status without body when etag matches if-none-match'", async () => {
    const url = loader(`/${KIMONO}`, 640);
    const one = await get(url, 'image/webp');
    const two = await app.inject({ url, headers: { accept: 'image/webp', 'if-none-match': String(one.headers.etag) } });
    assert.equal(two.statusCode, 304);
    assert.equal(two.rawPayload.length, 0);
    // Another Accept class is another variant.
    const jpeg = await get(url, 'image/jpeg');
    assert.notEqual(jpeg.headers.etag, one.headers.etag);
    assert.equal((await decode(jpeg.rawPayload)).format, 'jpeg');
  });

  test("unpic's nextjs provider, and non-ASCII file names ('should handle non-ascii characters in image url')", async () => {
    const res = await get(unpicNextjs(`/${KIMONO}`, { width: 750 }), 'image/webp');
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual([(await decode(res.rawPayload)).width], [722]);
    // next.config.js trailingSlash: true → the loader's path ends in a slash.
    const slash = await get(`/_next/image/?url=${encodeURIComponent(`/${KIMONO}`)}&w=64&q=75`, 'image/webp');
    assert.deepEqual([slash.statusCode, (await decode(slash.rawPayload)).width], [200, 64]);
    problem(await get(`/_next/image/x?url=${encodeURIComponent(`/${KIMONO}`)}&w=64&q=75`), 404, 'not_found');
    const missing = await get(loader('/äöüščří.png', 640), 'image/webp');
    assert.equal(missing.statusCode, 404, 'parsed to the key äöüščří.png, which the corpus lacks');
  });
});

describe('nextjs over HTTP, configured', () => {
  const { app } = testServer({
    KINU_DIALECTS: DIALECTS,
    KINU_MEMORY_CACHE_MB: '0',
    KINU_NEXTJS_FORMATS: 'image/avif,image/webp',
    KINU_NEXTJS_WIDTHS: '100,200',
    KINU_NEXTJS_QUALITIES: '50,80',
  });
  after(() => app.close());

  test("'should resize relative url and new Chrome accept header as avif' (images.formats avif first)", async () => {
    const res = await app.inject({ url: loader(`/${KIMONO}`, 200, 80), headers: { accept: NEW_CHROME } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['content-type'], 'image/avif');
    const m = await decode(res.rawPayload);
    assert.deepEqual([m.format, m.width], ['heif', 200]);
    const webp = await app.inject({ url: loader(`/${KIMONO}`, 200, 80), headers: { accept: OLD_CHROME } });
    assert.equal(webp.headers['content-type'], 'image/webp');
  });

  test('only the configured widths and qualities', async () => {
    problem(await app.inject({ url: loader(`/${KIMONO}`, 640, 80) }), 400, 'invalid_param');
    problem(await app.inject({ url: loader(`/${KIMONO}`, 100, 75) }), 400, 'invalid_param');
    const ok = await app.inject({ url: loader(`/${KIMONO}`, 100, 50) });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal((await decode(ok.rawPayload)).width, 100);
  });
});

describe('nextjs over HTTP, KINU_ORIGINALS=deny', () => {
  const { app } = testServer({ KINU_DIALECTS: DIALECTS, KINU_ORIGINALS: 'deny' });
  after(() => app.close());
  test('an animated GIF is resized (still animated), not served as the original it is', async () => {
    const res = await app.inject({
      url: loader('/gif/animated-rotating-squares.gif', 32),
      headers: { accept: NEW_CHROME },
    });
    assert.equal(res.statusCode, 200, res.body);
    const m = await decode(res.rawPayload);
    assert.deepEqual([m.format, m.width], ['webp', 32]);
    assert.ok((m.pages ?? 1) > 1);
  });
});

/** A two-frame APNG (acTL, fcTL + IDAT, fcTL + fdAT), the frames solid red and blue, 40×30. */
async function apng(): Promise<Buffer> {
  const frame = (r: number, b: number) =>
    sharp({ create: { width: 40, height: 30, channels: 3, background: { r, g: 0, b } } })
      .png()
      .toBuffer();
  const chunks = (png: Buffer) => {
    const out: { type: string; data: Buffer }[] = [];
    for (let at = 8; at < png.length; at += 12 + png.readUInt32BE(at))
      out.push({
        type: png.toString('latin1', at + 4, at + 8),
        data: png.subarray(at + 8, at + 8 + png.readUInt32BE(at)),
      });
    return out;
  };
  const chunk = (type: string, data: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    const body = Buffer.concat([head.subarray(4), data]);
    crc.writeUInt32BE(crc32(body), 0);
    return Buffer.concat([head, data, crc]);
  };
  const u32 = (...n: number[]) =>
    Buffer.concat(n.map((x) => Buffer.from([x >>> 24, (x >>> 16) & 255, (x >>> 8) & 255, x & 255])));
  const fctl = (seq: number) => Buffer.concat([u32(seq, 40, 30, 0, 0), Buffer.from([0, 1, 0, 10, 0, 0])]);
  const [a, b] = await Promise.all([frame(255, 0), frame(0, 255)]);
  const ca = chunks(a);
  const idatB = chunks(b)
    .filter((c) => c.type === 'IDAT')
    .map((c) => c.data);
  return Buffer.concat([
    a.subarray(0, 8),
    chunk('IHDR', ca.find((c) => c.type === 'IHDR')!.data),
    chunk('acTL', u32(2, 0)),
    chunk('fcTL', fctl(0)),
    ...ca.filter((c) => c.type === 'IDAT').map((c) => chunk('IDAT', c.data)),
    chunk('fcTL', fctl(1)),
    ...idatB.map((d, i) => chunk('fdAT', Buffer.concat([u32(2 + i), d]))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('nextjs over HTTP, animated PNG', () => {
  test("'should maintain animated png': an APNG is served as it is, a still PNG resized", async (t) => {
    const dir = tempDir('kinu-nextjs-');
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const animated = await apng();
    writeFileSync(join(dir, 'animated.png'), animated);
    writeFileSync(join(dir, 'still.png'), await sharp(animated).png().toBuffer()); // its first frame only
    const { app } = testServer({ KINU_DIALECTS: DIALECTS, KINU_SOURCE: dir });
    t.after(() => app.close());
    const a = await app.inject({ url: loader('/animated.png', 32), headers: { accept: NEW_CHROME } });
    assert.equal(a.statusCode, 200, a.body);
    assert.equal(a.headers['content-type'], 'image/png');
    assert.ok(a.rawPayload.equals(animated), 'the APNG unchanged');
    const s = await app.inject({ url: loader('/still.png', 32), headers: { accept: NEW_CHROME } });
    const m = await decode(s.rawPayload);
    assert.deepEqual([m.format, m.width], ['webp', 32]);
  });
});
