// The imgproxy dialect end to end: the same photo through an imgproxy URL and the equivalent native URL gives
// the same bytes, ETag and cache entry; signing, errors and imgproxy's orientation of gravity over HTTP.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { signImgproxyPath } from '../../src/url/imgproxy/sign.ts';
import { corpus, decode, meanColour, tempDir, testServer } from '../helpers.ts';
import { problem } from './fakes.ts';

const PHOTO = 'photos/hato-pigeons.jpg';
const b64 = (s: string) => Buffer.from(s).toString('base64url');
// imgproxy's example key and salt (its examples/ folder)
const KEY = '943b421c9eb07c830af81030552c86009268de4e532ba2ee2eab8247c6da0881';
const SALT = '520f986b998545b4785e0defbc4f3c1203f22de2374a3d53cb7a7fe9fea309c5';

describe('imgproxy URL ≡ native URL: same bytes, ETag and cache entry', () => {
  const { app } = testServer({
    KINU_DIALECTS: 'native=/,imgproxy=/ip',
    KINU_IMGPROXY_WATERMARK: 'png/image-in-alpha.png',
    KINU_IMGPROXY_PRESETS: 'thumb=rs:fill-down:120:120/q:70',
  });
  after(() => app.close());

  const SAME: [string, string][] = [
    [
      `/ip/insecure/rs:fill-down:300:200/g:sm/plain/local:///${PHOTO}@webp`,
      // imgproxy writes WebP at 79 (its IMGPROXY_FORMAT_QUALITY default) where kinu's default is 80
      `/${PHOTO}?w=300&h=200&fit=cover&pos=attention&fmt=webp&q=79`,
    ],
    [`/ip/_/rs:fit:320:320/q:60/${b64(`local:///${PHOTO}`)}.jpg`, `/${PHOTO}?w=320&h=320&fit=inside&q=60&fmt=jpeg`],
    // Without q or a format an imgproxy URL carries imgproxy's per-format qualities: its own entry.
    [
      `/ip/_/rs:fit:200:120/rot:90/fl:1/q:80/plain/local:///${PHOTO}`,
      `/${PHOTO}?w=200&h=120&fit=inside&rot=90&flip=h&q=80`,
    ],
    [`/ip/_/pr:thumb/plain/local:///${PHOTO}`, `/${PHOTO}?w=120&h=120&fit=cover&q=70`],
    [`/ip/_/rs:fit:160:160/pd:4/plain/local:///${PHOTO}@png`, `/${PHOTO}?w=160&h=160&fit=inside&pad=4&fmt=png`],
  ];

  for (const [ip, native] of SAME) {
    test(`${ip}  ≡  ${native}`, async () => {
      const n = await app.inject({ url: native });
      const i = await app.inject({ url: ip });
      assert.equal(n.statusCode, 200, n.body);
      assert.equal(i.statusCode, 200, i.body);
      assert.equal(
        i.headers['x-kinu-cache'],
        'memory',
        'the imgproxy URL is answered from the entry the native URL made',
      );
      assert.equal(i.headers.etag, n.headers.etag);
      assert.equal(i.headers['content-type'], n.headers['content-type']);
      assert.ok(i.rawPayload.equals(n.rawPayload), 'identical bytes');
    });
  }

  test('bytes are identical on a cold cache too (a second server)', async () => {
    const other = testServer({ KINU_DIALECTS: 'native=/,imgproxy=/ip' }).app;
    const i = await other.inject({ url: SAME[0]![0] });
    assert.equal(i.headers['x-kinu-cache'], 'miss');
    assert.ok(i.rawPayload.equals((await app.inject({ url: SAME[0]![1] })).rawPayload));
    await other.close();
  });

  test('without options the image is still processed (as imgproxy does), never sent as the original bytes', async () => {
    const res = await app.inject({ url: `/ip/_/plain/local:///${PHOTO}` });
    assert.equal(res.statusCode, 200);
    assert.equal((await decode(res.rawPayload)).width, 3082);
    // a JPEG at imgproxy's quality 80, kinu's too: the bytes of the native identity transform
    assert.ok(res.rawPayload.equals((await app.inject({ url: `/${PHOTO}?enlarge=0` })).rawPayload));
  });

  test('malformed URLs are 400 problem+json naming the option; expired is 404; unknown keys are 404', async () => {
    assert.match(
      problem(await app.inject({ url: `/ip/_/foo:1/plain/local:///${PHOTO}` }), 400, 'invalid_param').detail,
      /^foo: unknown imgproxy option/,
    );
    assert.match(
      problem(await app.inject({ url: `/ip/_/rs:fill:300:abc/plain/local:///${PHOTO}` }), 400, 'invalid_param').detail,
      /^rs: height:/,
    );
    assert.match(
      problem(await app.inject({ url: `/ip/_/exp:1609448400/plain/local:///${PHOTO}` }), 404, 'not_found').detail,
      /^exp: this URL expired/,
    );
    assert.match(
      problem(await app.inject({ url: '/ip/_/plain/http://example.com/a.jpg' }), 404, 'not_found').detail,
      /^source: "http:\/\/example.com\/a.jpg" is not in kinu's source/,
    );
    assert.match(
      problem(await app.inject({ url: '/ip/_/plain/s3://bucket/a.jpg' }), 404, 'not_found').detail,
      /^source:/,
    );
    problem(await app.inject({ url: '/ip/_/w:100/plain/local:///no/such.jpg' }), 404, 'not_found');
    problem(await app.inject({ url: '/ip/_/w:100/plain/local:///../secret.jpg' }), 400, 'invalid_key');
    problem(await app.inject({ url: '/ip/_' }), 400, 'invalid_param');
  });
});

describe('imgproxy signing over HTTP', () => {
  const keys = { keys: [KEY], salts: [SALT], signatureSize: 32 };
  const { app } = testServer({ KINU_DIALECTS: 'imgproxy=/', KINU_IMGPROXY_KEY: KEY, KINU_IMGPROXY_SALT: SALT });
  after(() => app.close());
  const path = `/rs:fit:100:100/plain/local:///${PHOTO}@webp`;

  test('signed → 200', async () => {
    const res = await app.inject({ url: signImgproxyPath(keys, path) });
    assert.equal(res.statusCode, 200, res.body);
    const meta = await decode(res.rawPayload);
    assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 100, 66]);
  });

  test('insecure, _, tampered or foreign signatures → 403 bad_signature', async () => {
    const signed = signImgproxyPath(keys, path);
    for (const url of [
      `/insecure${path}`,
      `/_${path}`,
      signed.replace('100:100', '100:101'),
      signImgproxyPath({ ...keys, salts: ['00'] }, path),
      signImgproxyPath({ ...keys, signatureSize: 8 }, path),
    ]) {
      assert.match(problem(await app.inject({ url }), 403, 'bad_signature').detail, /^signature:/);
    }
  });

  test('a malformed option behind a good signature is a 400, not a 403', async () => {
    problem(await app.inject({ url: signImgproxyPath(keys, `/w:0.5/plain/local:///${PHOTO}`) }), 400, 'invalid_param');
  });
});

describe("gravity is placed in the output's orientation, as imgproxy does", () => {
  // 400×200: red left half, blue right half.
  const dir = tempDir();
  before(async () => {
    const half = (r: number, b: number) =>
      sharp({ create: { width: 200, height: 200, channels: 3, background: { r, g: 0, b } } })
        .png()
        .toBuffer();
    await sharp({ create: { width: 400, height: 200, channels: 3, background: { r: 0, g: 0, b: 0 } } })
      .composite([
        { input: await half(255, 0), left: 0, top: 0 },
        { input: await half(0, 255), left: 200, top: 0 },
      ])
      .png()
      .toFile(join(dir, 'halves.png'));
  });
  const { app } = testServer({ KINU_SOURCE: dir, KINU_DIALECTS: 'imgproxy=/' });
  after(() => app.close());

  const colour = async (options: string) => {
    const res = await app.inject({ url: `/_/${options}/plain/local:///halves.png` });
    assert.equal(res.statusCode, 200, res.body);
    const [r, , b] = await meanColour(res.rawPayload);
    return r > 200 && b < 50 ? 'red' : b > 200 && r < 50 ? 'blue' : `mixed ${r},${b}`;
  };

  test("rotated a quarter turn, the source's left is the output's top", async () => {
    assert.equal(await colour('rs:fill:100:100/rot:90/g:no'), 'red');
    assert.equal(await colour('rs:fill:100:100/rot:90/g:so'), 'blue');
    assert.equal(await colour('rs:fill:100:100/rot:270/g:no'), 'blue');
  });

  test("mirrored, the source's right is the output's left", async () => {
    assert.equal(await colour('rs:fill:100:100/fl:1/g:we'), 'blue');
    assert.equal(await colour('rs:fill:100:100/g:we'), 'red');
    assert.equal(await colour('rs:fill:100:100/fl:1/g:fp:0.1:0.5'), 'blue');
  });
});

// imgproxy's vips/vips.c vips_trim: the colour given (else the top-left pixel's), and equal_hor/equal_ver cutting
// both opposite sides by the smaller of their two cuts.
describe('trim colour and equal_hor/equal_ver, decoded', () => {
  // 120×80 white, a red block at x 10–99, y 5–64 (cuts: left 10, right 20, top 5, bottom 15), blue inside it.
  const dir = tempDir();
  before(async () => {
    const block = (w: number, h: number, r: number, b: number) =>
      sharp({ create: { width: w, height: h, channels: 3, background: { r, g: 0, b } } })
        .png()
        .toBuffer();
    await sharp({ create: { width: 120, height: 80, channels: 3, background: { r: 255, g: 255, b: 255 } } })
      .composite([
        { input: await block(90, 60, 255, 0), left: 10, top: 5 },
        { input: await block(30, 20, 0, 255), left: 40, top: 25 },
      ])
      .png()
      .toFile(join(dir, 'framed.png'));
  });
  const { app } = testServer({ KINU_SOURCE: dir, KINU_DIALECTS: 'imgproxy=/' });
  after(() => app.close());

  const get = async (options: string) => {
    const res = await app.inject({ url: `/_/${options}/plain/local:///framed.png@png` });
    assert.equal(res.statusCode, 200, res.body);
    const { data, info } = await sharp(res.rawPayload).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => {
      const i = (y * info.width + x) * 3;
      return [data[i], data[i + 1], data[i + 2]].join(',');
    };
    return { size: `${info.width}×${info.height}`, at };
  };
  const WHITE = '255,255,255';
  const RED = '255,0,0';

  test('a colour trims exactly that border; a colour that no border has cuts nothing', async () => {
    const white = await get('t:10:ffffff');
    assert.equal(white.size, '90×60');
    assert.deepEqual([white.at(0, 0), white.at(89, 59), white.at(45, 30)], [RED, RED, '0,0,255']);
    assert.equal((await get('t:10:fff')).size, '90×60');
    assert.equal((await get('t:10:0000ff')).size, '120×80', 'the border is not blue: nothing is cut');
    assert.equal((await get('t:10:00ff00')).size, '120×80');
  });

  test('equal_hor cuts left and right by the smaller cut (10), equal_ver top and bottom (5)', async () => {
    const hor = await get('t:10::1');
    assert.equal(hor.size, '100×60');
    assert.deepEqual([hor.at(0, 30), hor.at(89, 30), hor.at(90, 30), hor.at(99, 30)], [RED, RED, WHITE, WHITE]);
    const ver = await get('t:10:::1');
    assert.equal(ver.size, '90×70');
    assert.deepEqual([ver.at(45, 0), ver.at(45, 59), ver.at(45, 60), ver.at(45, 69)], [RED, RED, WHITE, WHITE]);
    const both = await get('t:10:ffffff:1:1');
    assert.equal(both.size, '100×70');
    assert.deepEqual([both.at(0, 0), both.at(99, 69)], [RED, WHITE]);
  });
});

// imgproxy's processing/save_fit_bytes.go, httpheaders/cdv.go (and cdv_test.go's strings), and skip_processing.
describe('mb, fq, fn/att, raw and skp over HTTP', () => {
  const { app } = testServer({ KINU_DIALECTS: 'native=/,imgproxy=/ip' });
  after(() => app.close());
  const ip = (options: string, file = PHOTO) => app.inject({ url: `/ip/_/${options}/plain/local:///${file}` });

  test('mb:20000 lowers the JPEG quality until the bytes fit, at the asked size', async () => {
    const plain = await ip('rs:fit:800:800');
    assert.ok(plain.rawPayload.length > 20000, 'the budget is below the default encode, so it has to act');
    const res = await ip('rs:fit:800:800/mb:20000');
    assert.equal(res.statusCode, 200, res.body);
    assert.ok(res.rawPayload.length <= 20000, `${res.rawPayload.length} bytes`);
    const m = await decode(res.rawPayload);
    assert.deepEqual([m.format, m.width, m.height], ['jpeg', 800, (await decode(plain.rawPayload)).height]);
    const q = Number(res.headers['x-kinu-quality']);
    assert.ok(q >= 1 && q < 80, `quality ${q} below the default 80`);
    assert.equal(plain.headers['x-kinu-quality'], undefined);
    // The same image at that quality through the native grammar is the same bytes.
    const native = await app.inject({ url: `/${PHOTO}?w=800&h=800&fit=inside&q=${q}` });
    assert.ok(native.rawPayload.equals(res.rawPayload));
  });

  test("mb that cannot be met serves the attempt at quality ≤ 10 (imgproxy's minimum); PNG is left alone", async () => {
    const res = await ip('rs:fit:400:400/mb:100');
    assert.equal(res.statusCode, 200);
    assert.ok(Number(res.headers['x-kinu-quality']) <= 10);
    assert.equal((await decode(res.rawPayload)).width, 400);
    const png = await ip('rs:fit:100:100/mb:100/f:png');
    assert.equal(png.headers['x-kinu-quality'], undefined);
    assert.ok(png.rawPayload.equals((await ip('rs:fit:100:100/f:png')).rawPayload));
  });

  test("fq applies the quality of the format chosen (the source's, here)", async () => {
    const res = await ip('fq:webp:90:jpeg:30/rs:fit:300:300');
    const native = await app.inject({ url: `/${PHOTO}?w=300&h=300&fit=inside&q=30` });
    assert.equal((await decode(res.rawPayload)).format, 'jpeg');
    assert.ok(res.rawPayload.equals(native.rawPayload));
    assert.notEqual(res.headers.etag, native.headers.etag, 'the list waits for the format: its own cache entry');
  });

  test("fn and att set Content-Disposition with the output's extension; the cached bytes are shared", async () => {
    const a = await ip('fn:holiday/att:1/rs:fit:120:120/f:webp');
    assert.equal(a.statusCode, 200, a.body);
    assert.equal(a.headers['content-disposition'], 'attachment; filename="holiday.webp"');
    const b = await ip('att:1/rs:fit:120:120/f:webp');
    assert.equal(b.headers['content-disposition'], 'attachment; filename="hato-pigeons.webp"');
    assert.equal(b.headers.etag, a.headers.etag);
    assert.equal(b.headers['x-kinu-cache'], 'memory');
    const c = await ip(`fn:${b64('café "été"')}:1/rs:fit:120:120`);
    assert.equal(
      c.headers['content-disposition'],
      `inline; filename="caf_ %22_t_%22.jpg"; filename*=UTF-8''caf%C3%A9%20%22%C3%A9t%C3%A9%22.jpg`,
    );
    assert.equal((await ip('rs:fit:120:120')).headers['content-disposition'], undefined);
  });

  test('skp:jpg and raw:1 serve the original bytes untouched, with its content type', async () => {
    const original = readFileSync(corpus(PHOTO));
    for (const options of ['skp:png:jpg/rs:fit:100:100', 'raw:1/rs:fit:100:100/f:webp']) {
      const res = await ip(options);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['content-type'], 'image/jpeg');
      assert.ok(res.rawPayload.equals(original), `${options}: byte-exact`);
    }
    const processed = await ip('skp:png/rs:fit:100:100');
    assert.equal((await decode(processed.rawPayload)).width, 100);
    const att = await ip('skp:jpg/att:1/fn:x');
    assert.equal(att.headers['content-disposition'], 'attachment; filename="x.jpg"');
  });

  test('raw:1 where originals are denied is 403', async () => {
    const deny = testServer({ KINU_DIALECTS: 'imgproxy=/ip', KINU_ORIGINALS: 'deny' }).app;
    problem(await deny.inject({ url: `/ip/_/raw:1/plain/local:///${PHOTO}` }), 403, 'originals_denied');
    await deny.close();
  });
});
