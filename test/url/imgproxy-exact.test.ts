// What imgproxy does beyond its processing tests' geometry, through kinu's imgproxy dialect (issue 14): its
// default qualities (processing/config.go), flatten onto `bg` for every format (processing/flatten.go), its
// watermark placement (processing/watermark.go, calc_position.go, vips.c), geometry with rot/fl planned in the
// turned orientation (prepare.go, crop.go, gravity.go) and `sm` for crops (crop.go). Expected sizes and places
// are computed by hand from imgproxy's arithmetic in each comment, on the 200×100 spiral of imgproxy's testdata.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import sharp, { type Sharp } from 'sharp';
import { corpus, testServer } from '../helpers.ts';

const GEOMETRY = corpus('png/imgproxy-geometry.png');
const { app } = testServer({
  KINU_DIALECTS: 'native=/,imgproxy=/ip',
  KINU_IMGPROXY_WATERMARK: 'png/imgproxy-geometry.png',
});
after(() => app.close());

async function get(url: string): Promise<Buffer> {
  const res = await app.inject({ url });
  assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
  return res.rawPayload;
}
const ip = (options: string, source = 'png/imgproxy-geometry.png', ext = 'png') =>
  get(`/ip/_/${options}/plain/local:///${source}@${ext}`);

type Box = { left: number; top: number; width: number; height: number };

/** Mean |Δ| (0–255) between a region of `out` and the RGB pixels of `want` (of the region's size). */
async function regionDiff(out: Buffer, at: Box, want: Sharp): Promise<number> {
  const got = await sharp(out).removeAlpha().extract(at).raw().toBuffer();
  const exp = await want.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([exp.info.width, exp.info.height], [at.width, at.height], 'reference size');
  let d = 0;
  for (let i = 0; i < got.length; i++) d += Math.abs(got[i]! - exp.data[i]!);
  return d / got.length;
}
// The peer test's measure: the right region differs by under 0.2 (resampling), one pixel off by about 6.5.
const SAME = 3;

async function size(out: Buffer): Promise<[number, number]> {
  const m = await sharp(out).metadata();
  return [m.width!, m.height!];
}

describe("imgproxy's default qualities (processing/config.go: 80, WebP 79, AVIF 63, JPEG XL 77)", () => {
  test('without q, each format is written at imgproxy’s quality: the bytes of the native URL with that q', async () => {
    for (const [f, q] of [
      ['webp', 79],
      ['avif', 63],
      ['jpg', 80],
    ] as const) {
      const a = await get(`/ip/_/w:64/plain/local:///photos/hato-pigeons.jpg@${f}`);
      const b = await get(`/photos/hato-pigeons.jpg?w=64&fmt=${f === 'jpg' ? 'jpeg' : f}&q=${q}`);
      assert.ok(a.equals(b), `${f}: quality ${q}`);
    }
  });

  test('a WebP original kept as WebP, with fq overriding the default and q overriding both', async () => {
    const src = 'webp/lossy-photo.webp';
    assert.ok((await get(`/ip/_/w:64/plain/local:///${src}`)).equals(await get(`/${src}?w=64&q=79`)));
    assert.ok((await get(`/ip/_/w:64/fq:webp:50/plain/local:///${src}`)).equals(await get(`/${src}?w=64&q=50`)));
    assert.ok((await get(`/ip/_/w:64/fq:webp:50/q:30/plain/local:///${src}`)).equals(await get(`/${src}?w=64&q=30`)));
  });
});

describe('bg flattens every output format onto the colour (processing/flatten.go ShouldFlatten)', () => {
  for (const ext of ['png', 'webp']) {
    test(`${ext}: no transparency left, transparent pixels become the colour`, async () => {
      const out = await ip('bg:ff0000', 'png/rgba.png', ext);
      const { data, info } = await sharp(out).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      for (let i = 3; i < data.length; i += 4) assert.equal(data[i], 255, 'opaque');
      const want = sharp(corpus('png/rgba.png')).flatten({ background: '#ff0000' });
      assert.ok((await regionDiff(out, { left: 0, top: 0, width: info.width, height: info.height }, want)) < SAME);
    });
  }

  test('without bg, PNG keeps its transparency (imgproxy flattens only formats without alpha)', async () => {
    const out = await ip('w:64', 'png/rgba.png', 'png');
    assert.equal((await sharp(out).metadata()).hasAlpha, true);
  });
});

describe("imgproxy's watermark placement (processing/watermark.go), the mark being the 200×100 spiral", () => {
  // scale 0.25 of 200×100: fit into (scaleToEven(200·0.25), scaleToEven(100·0.25)) = 50×25
  const small = () => sharp(GEOMETRY).resize(50, 25, { fit: 'fill' });

  test('offsets from the edge: soea 10:5 → left 200 − 50 − 10 = 140, top 100 − 25 − 5 = 70', async () => {
    const out = await ip('wm:1:soea:10:5:0.25');
    assert.ok((await regionDiff(out, { left: 140, top: 70, width: 50, height: 25 }, small())) < SAME);
    // the rest is the image itself
    const rest = sharp(GEOMETRY).extract({ left: 0, top: 0, width: 140, height: 70 });
    assert.ok((await regionDiff(out, { left: 0, top: 0, width: 140, height: 70 }, rest)) < SAME);
  });

  test('relative offsets below 1: nowe 0.1:0.2 → left scaleToEven(200, 0.1) = 20, top 20', async () => {
    const out = await ip('wm:1:nowe:0.1:0.2:0.25');
    assert.ok((await regionDiff(out, { left: 20, top: 20, width: 50, height: 25 }, small())) < SAME);
  });

  test('offsets are × the dpr imgproxy uses: w:200/dpr:2/el:1 → 400×200, nowe 10:10 at 20, 20, mark 100×50', async () => {
    const out = await ip('w:200/dpr:2/el:1/wm:1:nowe:10:10:0.25');
    assert.deepEqual(await size(out), [400, 200]);
    const mark = sharp(GEOMETRY).resize(100, 50, { fit: 'fill' });
    assert.ok((await regionDiff(out, { left: 20, top: 20, width: 100, height: 50 }, mark)) < SAME);
  });

  test('the mark may stick out: ea −30 → left 200 − 50 + 30 = 180 (20 columns shown), top (100 − 25 + 1)/2 = 38', async () => {
    const out = await ip('wm:1:ea:-30:0:0.25');
    const shown = sharp(await small().png().toBuffer()).extract({ left: 0, top: 0, width: 20, height: 25 });
    assert.ok((await regionDiff(out, { left: 180, top: 38, width: 20, height: 25 }, shown)) < SAME);
  });

  test('scale above 1 fits the mark into 2 × the image: 400×200, centred at (−100, −50)', async () => {
    const out = await ip('wm:1:ce:0:0:2');
    const want = sharp(GEOMETRY)
      .resize(400, 200, { fit: 'fill' })
      .extract({ left: 100, top: 50, width: 200, height: 100 });
    assert.ok(
      (await regionDiff(out, { left: 0, top: 0, width: 200, height: 100 }, sharp(await want.png().toBuffer()))) < SAME,
    );
  });

  test('opacity multiplies the mark’s alpha: half the mark over half the image', async () => {
    const out = await ip('wm:0.5:nowe:0:0:0.25');
    const mark = await small().removeAlpha().raw().toBuffer();
    const under = await sharp(GEOMETRY)
      .extract({ left: 0, top: 0, width: 50, height: 25 })
      .removeAlpha()
      .raw()
      .toBuffer();
    const blend = Buffer.from(mark.map((v, i) => Math.round((v + under[i]!) / 2)));
    const want = sharp(blend, { raw: { width: 50, height: 25, channels: 3 } });
    assert.ok((await regionDiff(out, { left: 0, top: 0, width: 50, height: 25 }, want)) < SAME);
  });

  test('re tiles an odd number of copies from the centre: 5 × 5 tiles of 50×25 from (−25, −12)', async () => {
    const out = await ip('wm:1:re:0:0:0.25');
    for (const [left, top] of [
      [25, 13],
      [75, 38],
      [125, 63],
    ] as const)
      assert.ok(
        (await regionDiff(out, { left, top, width: 50, height: 25 }, small())) < SAME,
        `copy at ${left},${top}`,
      );
  });

  test('re with offsets: gaps of 10 px → tiles 60 wide, 5 across from −50, copies at 15, 75, 135; gaps show the image', async () => {
    const out = await ip('wm:1:re:10:0:0.25');
    for (const left of [15, 75, 135])
      assert.ok((await regionDiff(out, { left, top: 13, width: 50, height: 25 }, small())) < SAME, `copy at ${left}`);
    const gap = sharp(GEOMETRY).extract({ left: 65, top: 13, width: 10, height: 25 });
    assert.ok((await regionDiff(out, { left: 65, top: 13, width: 10, height: 25 }, gap)) < SAME);
  });
});

describe('rot/fl: imgproxy plans in the turned orientation (prepare.go, crop.go)', () => {
  /** The spiral as imgproxy's geometry sees it: turned (clockwise), then mirrored. */
  const turned = async (rotate: number, flop = false, flip = false) => {
    let img = sharp(GEOMETRY).rotate(rotate);
    if (flop) img = sharp(await img.png().toBuffer()).flop();
    if (flip) img = sharp(await img.png().toBuffer()).flip();
    return img.png().toBuffer();
  };
  const cases: [string, [number, number], (t: Buffer) => Sharp, number, boolean?, boolean?][] = [
    // mirrored 200×100; fill 50×50: shrink 2 → 100×50; window at we with x 10 → left 10
    [
      'rs:fill:50:50/fl:1/g:we:10',
      [50, 50],
      (t) => sharp(t).resize(100, 50).extract({ left: 10, top: 0, width: 50, height: 50 }),
      0,
      true,
    ],
    // turned 100×200, then mirrored both ways; fill 50×50 → 50×100; window at so with y 0.1 → top 100 − 50 − 10 = 40
    [
      'rs:fill:50:50/rot:90/fl:1:1/g:so:0:0.1',
      [50, 50],
      (t) => sharp(t).resize(50, 100).extract({ left: 0, top: 40, width: 50, height: 50 }),
      90,
      true,
      true,
    ],
    // turned 100×200; fill 50×50: shrink min(2, 4) = 2 → 50×100; window at the top (no)
    [
      'rs:fill:50:50/rot:90/g:no',
      [50, 50],
      (t) => sharp(t).resize(50, 100).extract({ left: 0, top: 0, width: 50, height: 50 }),
      90,
    ],
    // turned 100×200; fill 40×40: shrink 2.5 → 40×80; ea with x 5 → left clamped to 0; top roundToEven(41/2) = 20
    [
      'rs:fill:40:40/rot:270/g:ea:5',
      [40, 40],
      (t) => sharp(t).resize(40, 80).extract({ left: 0, top: 20, width: 40, height: 40 }),
      270,
    ],
    // crop 60×40 at nowe 10:5 of the turned 100×200
    ['c:60:40:nowe:10:5/rot:90', [60, 40], (t) => sharp(t).extract({ left: 10, top: 5, width: 60, height: 40 }), 90],
    // mirrored 200×100; crop 60×40 at soea → left 140, top 60
    ['c:60:40:soea/fl:1', [60, 40], (t) => sharp(t).extract({ left: 140, top: 60, width: 60, height: 40 }), 0, true],
    // relative crop 0.5 × 0.25 of the turned 100×200 → 50×50 at so, placed as crop.go does: in the unturned
    // 200×100 with the gravity turned back (so → ea), left 150, top roundToEven(51/2) = 26; turned, that is
    // left 100 − 26 − 50 = 24, top 150 (centred the other way round it would be 26)
    ['c:0.5:0.25:so/rot:90', [50, 50], (t) => sharp(t).extract({ left: 24, top: 150, width: 50, height: 50 }), 90],
  ];
  for (const [options, want, region, rotate, flop, flip] of cases) {
    test(`${options} → ${want.join('×')} and imgproxy's region`, async () => {
      const out = await ip(options);
      assert.deepEqual(await size(out), want);
      const ref = sharp(
        await region(await turned(rotate, flop, flip))
          .png()
          .toBuffer(),
      );
      assert.ok((await regionDiff(out, { left: 0, top: 0, width: want[0], height: want[1] }, ref)) < SAME);
    });
  }

  // sizes only: each refused before, each different from the unturned answer
  const sizes: [string, [number, number]][] = [
    // turned 100×200 is portrait, the box square: auto → fit, shrink max(2, 4) = 4 → 25×50 (unturned: fill, 50×50)
    ['rs:auto:50:50/rot:90', [25, 50]],
    // force with a width only: the turned height stays 200
    ['rt:force/w:50/rot:90', [50, 200]],
    // zoom halves the turned 100×200
    ['z:0.5/rot:270', [50, 100]],
    // min-width 150 of the turned 100 → × 1.5 = 150×300
    ['mw:150/rot:90', [150, 300]],
    // fill without enlarge: each side clamped to the turned source's (100×200), not the box's ratio
    ['rs:fill:300:150/rot:90', [100, 150]],
    // padding × the dpr imgproxy uses (capped at 1 here: nothing enlarges) around the turned 100×200
    ['pd:10/dpr:2/rot:90', [120, 220]],
  ];
  for (const [options, want] of sizes)
    test(`${options} → ${want.join('×')}`, async () => assert.deepEqual(await size(await ip(options)), want));
});

describe('sm gravity for crop (crop.go: libvips smartcrop, before the resize)', () => {
  // libvips' attention on the spiral puts a 50×50 box at (50, 0) (vips smartcrop --interesting attention agrees)
  test('c:50:50:sm → the 50×50 box libvips attention picks, unscaled', async () => {
    const out = await ip('c:50:50:sm');
    assert.deepEqual(await size(out), [50, 50]);
    const want = sharp(GEOMETRY).extract({ left: 50, top: 0, width: 50, height: 50 });
    assert.ok((await regionDiff(out, { left: 0, top: 0, width: 50, height: 50 }, want)) < SAME);
  });

  test('c:50:50/g:sm then a resize: the crop follows g, then the 50×50 is scaled to 25×25', async () => {
    const out = await ip('c:50:50/g:sm/w:25');
    assert.deepEqual(await size(out), [25, 25]);
    const want = sharp(GEOMETRY).extract({ left: 50, top: 0, width: 50, height: 50 }).resize(25, 25);
    assert.ok(
      (await regionDiff(out, { left: 0, top: 0, width: 25, height: 25 }, sharp(await want.png().toBuffer()))) < SAME,
    );
  });

  test('ex:1:sm stays a 400, as imgproxy refuses sm for extend (gravity_type.go ExtendGravityTypes)', async () => {
    const res = await app.inject({ url: '/ip/_/w:300/h:300/ex:1:sm/plain/local:///png/imgproxy-geometry.png' });
    assert.equal(res.statusCode, 400);
  });
});
