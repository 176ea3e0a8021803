// thumbor URLs over HTTP: the same photo through a peer URL and its nearest native URL gives the same size,
// Content-Type and (within resampling) pixels — thumbor's geometry is planned by thumbor's arithmetic, so bytes
// and ETags may differ; signatures are 403s, bad URLs 400s naming the part.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import sharp from 'sharp';
import { signThumbor } from '../../src/url/thumbor.ts';
import type { KinuServer } from '../../src/server.ts';
import { decode, tempDir, testServer } from '../helpers.ts';
import { problem } from './fakes.ts';

const PHOTO = 'photos/hato-pigeons.jpg'; // 3082×2048
const THUMBOR_KEY = 'MY_SECURE_KEY'; // thumbor's default; shorter than KINU_SECRET allows, accepted as it is
const DIALECTS = 'native=/,thumbor=/th';

/** Same status, type and size as the native URL, and nearly the same pixels (mean channel difference < 4). */
async function assertLikeNative(app: KinuServer, peer: string, nativeUrl: string, size?: [number, number]) {
  const a = await app.inject({ url: peer });
  const b = await app.inject({ url: nativeUrl });
  assert.equal(a.statusCode, 200, `${peer}: ${a.body}`);
  assert.equal(b.statusCode, 200, `${nativeUrl}: ${b.body}`);
  assert.equal(a.headers['content-type'], b.headers['content-type']);
  const [ra, rb] = await Promise.all(
    [a, b].map((r) => sharp(r.rawPayload).removeAlpha().raw().toBuffer({ resolveWithObject: true })),
  );
  assert.deepEqual([ra!.info.width, ra!.info.height], [rb!.info.width, rb!.info.height], 'size');
  if (size) assert.deepEqual([ra!.info.width, ra!.info.height], size);
  let sum = 0;
  for (let i = 0; i < ra!.data.length; i++) sum += Math.abs(ra!.data[i]! - rb!.data[i]!);
  assert.ok(sum / ra!.data.length < 4, `mean difference ${(sum / ra!.data.length).toFixed(2)}`);
}

describe('thumbor over HTTP, unsigned (no KINU_THUMBOR_KEY)', () => {
  const { app } = testServer({ KINU_DIALECTS: DIALECTS, KINU_MEMORY_CACHE_MB: '0' });
  after(() => app.close());

  const PAIRS: [string, string, [number, number]?][] = [
    [`/th/unsafe/300x200/smart/${PHOTO}`, `/${PHOTO}?w=300&h=200&pos=attention&enlarge=1`, [300, 200]],
    // 3082×2048 is 1.50 to two decimals, as 300×200 is: thumbor's auto_crop cuts nothing and stretches (fit=fill).
    [`/th/unsafe/300x200/left/top/${PHOTO}`, `/${PHOTO}?w=300&h=200&fit=fill&enlarge=1`, [300, 200]],
    [
      `/th/unsafe/fit-in/300x300/filters:fill(blue):format(webp):quality(70)/${PHOTO}`,
      `/${PHOTO}?w=300&h=300&fit=contain&bg=0000ff&fmt=webp&q=70`,
      [300, 300],
    ],
    [`/th/unsafe/full-fit-in/300x300/${PHOTO}`, `/${PHOTO}?w=300&h=300&fit=outside&enlarge=1`, [451, 300]],
    // thumbor resizes to 300×200, mirrors, then rotates (a filter): a 200×300 portrait
    [
      `/th/unsafe/-300x200/filters:rotate(90):grayscale()/${PHOTO}`,
      `/${PHOTO}?w=200&h=300&fit=fill&rot=270&flip=v&gray=1&enlarge=1`,
      [200, 300],
    ],
    [`/th/unsafe/100x100:900x700/fit-in/200x0/${PHOTO}`, `/${PHOTO}?crop=100,100,800,600&w=200`, [200, 150]],
    [
      `/th/unsafe/400x0/filters:watermark(png/rgba.png,-0,-0,50,25):blur(2)/${PHOTO}`,
      `/${PHOTO}?w=400&enlarge=1&wm=png/rgba.png&wm_pos=bottom-right&wm_opacity=0.5&wm_scale=0.25&blur=1.29`,
    ],
    [
      `/th/unsafe/fit-in/200x200/filters:format(png)/png/alpha-photo-blackbug.png`,
      '/png/alpha-photo-blackbug.png?w=200&h=200&fit=inside&fmt=png',
      [200, 150],
    ],
    [`/th/unsafe/filters:strip_exif()/${PHOTO}`, `/${PHOTO}?enlarge=1`, [3082, 2048]],
  ];
  for (const [peer, nativeUrl, size] of PAIRS) {
    test(`${peer} ≈ ${nativeUrl}`, () => assertLikeNative(app, peer, nativeUrl, size));
  }

  test('crop mode upscales, as thumbor does; fit-in does not', async () => {
    const up = await decode((await app.inject({ url: '/th/unsafe/4000x0/png/rgba.png' })).rawPayload);
    assert.equal(up.width, 4000);
    const fit = await app.inject({ url: '/th/unsafe/fit-in/4000x4000/png/rgba.png' });
    const orig = await decode((await app.inject({ url: '/png/rgba.png' })).rawPayload);
    assert.equal((await decode(fit.rawPayload)).width, orig.width);
  });

  test('a signature is accepted unchecked while no key is set', async () => {
    assert.equal((await app.inject({ url: `/th${signThumbor('any', `300x200/${PHOTO}`)}` })).statusCode, 200);
  });

  test('malformed URLs are 400 problem+json naming the part', async () => {
    const cases: [string, string][] = [
      [`/th/unsafe/filters:brightness(x)/${PHOTO}`, 'filter brightness:'],
      [`/th/unsafe/filters:max_bytes(-1)/${PHOTO}`, 'filter max_bytes:'],
      [`/th/unsafe/smart/300x200/${PHOTO}`, '300x200:'],
      [`/th/unsafe/meta/${PHOTO}`, 'meta:'],
      [`/th/${PHOTO}`, 'signature:'],
    ];
    for (const [url, part] of cases) {
      const p = problem(await app.inject({ url }), 400, 'invalid_param');
      assert.ok(p.detail.startsWith(part), `${url}: ${p.detail}`);
    }
  });

  test("absolute http(s) images outside kinu's source are a 404 naming what it reads", async () => {
    const p = problem(
      await app.inject({
        url: '/th/unsafe/filters:blur(7)/https%3A%2F%2Fgithub.com%2Fthumbor%2Fthumbor%2Fraw%2Fmaster%2Fexample.jpg',
      }),
      404,
      'not_found',
    );
    assert.match(p.detail, /^image: "https:\/\/github.com\/.*" is not in kinu's source, which reads only keys/);
  });

  test('a missing image is a 404', async () => {
    problem(await app.inject({ url: '/th/unsafe/300x200/my.server.com/some/path/to/image.jpg' }), 404, 'not_found');
  });
});

describe('thumbor over HTTP, signed (KINU_THUMBOR_KEY)', () => {
  const { app } = testServer({
    KINU_DIALECTS: DIALECTS,
    KINU_THUMBOR_KEY: `new-thumbor-key,${THUMBOR_KEY}`,
    KINU_UNSIGNED_DIALECTS: 'native',
  });
  after(() => app.close());
  const path = `fit-in/300x300/filters:format(webp)/${PHOTO}`;

  test('signed as libthumbor signs → 200, with either key', async () => {
    for (const key of ['new-thumbor-key', THUMBOR_KEY]) {
      const res = await app.inject({ url: `/th${signThumbor(key, path)}` });
      assert.equal(res.statusCode, 200, res.body);
      const meta = await decode(res.rawPayload);
      assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 300, 199]);
    }
  });

  test('unsafe, missing, wrong or tampered → 403 problem+json', async () => {
    const signed = `/th${signThumbor(THUMBOR_KEY, path)}`;
    const bad = [
      `/th/unsafe/${path}`,
      `/th/${path}`,
      signed.replace('300x300', '300x301'),
      `/th${signThumbor('not-the-key', path)}`,
    ];
    for (const url of bad) problem(await app.inject({ url }), 403, 'bad_signature');
  });

  test('the native dialect keeps its own signing (none here)', async () => {
    assert.equal((await app.inject({ url: `/${PHOTO}?w=50` })).statusCode, 200);
  });
});

describe("thumbor's order of mirror and rotation, pixel for pixel", () => {
  // A 4×2 image of 8 distinct colours; thumbor mirrors (-W, -H) while resizing, then rotate(n) turns it
  // counter-clockwise (PIL's ROTATE_90): replayed here with sharp on the original, compared to kinu's output.
  const dir = tempDir();
  const { app } = testServer({ KINU_SOURCE: dir, KINU_DIALECTS: DIALECTS });
  after(() => app.close());
  const pixels = Buffer.from(Array.from({ length: 8 }, (_, i) => [i * 30, 255 - i * 30, (i * 70) % 256]).flat());
  const original = join(dir, 'grid.png');

  for (const [flips, angle] of [
    ['-0x0', 90],
    ['0x-0', 90],
    ['-0x-0', 90],
    ['-0x0', 270],
    ['0x-0', 180],
    ['-0x0', 0],
    ['0x0', 90],
  ] as const) {
    test(`/${flips}/filters:rotate(${angle})`, async () => {
      writeFileSync(
        original,
        await sharp(pixels, { raw: { width: 4, height: 2, channels: 3 } })
          .png()
          .toBuffer(),
      );
      const res = await app.inject({ url: `/th/unsafe/${flips}/filters:rotate(${angle}):format(png)/grid.png` });
      assert.equal(res.statusCode, 200, res.body);
      let expected = await sharp(original).toBuffer();
      if (flips.startsWith('-')) expected = await sharp(expected).flop().toBuffer();
      if (flips.includes('x-')) expected = await sharp(expected).flip().toBuffer();
      if (angle !== 0)
        expected = await sharp(expected)
          .rotate(360 - angle)
          .toBuffer();
      const raw = (b: Buffer) => sharp(b).removeAlpha().raw().toBuffer();
      assert.ok((await raw(res.rawPayload)).equals(await raw(expected)));
    });
  }
});
