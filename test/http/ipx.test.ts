// ipx parity: each URL goes through ipx 3.1.1 itself, in process (its own server, createIPXWebServer, over the
// corpus: its path split, f_auto negotiation and sharp 0.34 calls) and through kinu's ipx dialect. Both answers
// must have the same size, format and frame count, and near-equal pixels (mean absolute difference of the
// decoded RGBA; sharp 0.34.5 and 0.35.6 encode differently, so bytes never match).
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createIPX, createIPXWebServer, ipxFSStorage } from 'ipx';
import sharp from 'sharp';
import { generate } from 'unpic/providers/ipx';
import { CORPUS, corpus, decode, tempDir, testServer } from '../helpers.ts';
import { problem } from './fakes.ts';

const L = 'orientation/Landscape_1.jpg'; // 1800×1200 landscape
const P = 'png/palette-photo.png'; // 290×442 portrait, opaque
const A = 'png/rgba.png'; // 128×128 with alpha
const G = 'gif/animated-loop-3.gif'; // 370×285, 10 frames
const E = 'orientation/Landscape_6.jpg'; // stored 1200×1800, EXIF orientation 6

// [modifiers, ids, tolerance (mean absolute difference, 0–255)]
const CASES: [string, string[], number?][] = [
  ['w_300', [L, P, A, G, E]],
  ['h_200', [L, P]],
  ['width_250', [P]],
  ['height_150', [L]],
  ['s_200x200', [L, P, A, E]],
  ['s_200', [L]],
  ['resize_240x120', [P]],
  ['s_300x100&fit_contain', [L, A]],
  ['s_300x100&fit_contain&b_ff0000', [P]],
  ['s_300x100&fit_contain&background_00f', [P]],
  ['s_200x300&fit_inside', [L]],
  ['s_200x300&fit_outside', [L]],
  ['s_200x100&fit_fill', [P]],
  ['s_200x200&pos_top', [P]],
  ['s_200x200&position_bottom', [P]],
  ['s_300x100&pos_right%20top', [L]],
  ['s_100x300&pos_west', [L]],
  ['s_200x100&pos_attention', [L]],
  ['s_3000x1000', [L]],
  ['s_3000x1000&fit_contain', [L]],
  ['s_2000x4000&fit_inside', [P]],
  ['s_300x200&enlarge', [A]],
  ['w_300&enlarge', [A]],
  ['w_2000', [P]],
  ['f_jpeg&w_150', [P]],
  ['w_200&h_50', [L]],
  ['h_50&s_100x100&w_80', [L]],
  ['crop_100_50_400_300&w_200', [L]],
  ['extract_10_10_60_60&s_100x100', [A]],
  ['extract_0_0_200_300&h_100', [P]],
  ['extend_10_20_30_40&w_100&b_00ff00', [L]],
  ['extend_10&w_100', [L]],
  ['extend_5_5_5_5&w_60', [A]],
  ['blur_3&w_200', [L]],
  ['sharpen_2&w_200', [P]],
  ['rotate_90&w_200', [L, P]],
  // Sizes whose cover margins are even: sharp cuts after rotating, kinu before, so an odd margin's middle row
  // rounds the other way under a half turn (one row apart).
  ['rotate_180&s_180x100', [L]],
  ['rotate_180&s_180x100&pos_top', [L]],
  ['rotate_90&s_100x100&pos_left', [L]],
  ['rotate_270&s_100x100&pos_right%20top', [L]],
  ['flip&s_180x100&pos_top', [L]],
  ['flop&rotate_90&s_100x60&fit_contain&pos_left', [P]],
  ['flip&rotate_270&s_60x100&fit_contain&pos_top', [L]],
  ['rotate_270&w_150', [P]],
  ['rotate_-90&w_150', [L]],
  ['flip&w_200', [L]],
  ['flop&w_200', [L]],
  ['flip&rotate_90&w_200', [L]],
  ['flop&rotate_270&s_100x200', [P]],
  ['flip&flop&rotate_90&w_120', [P]],
  ['grayscale&w_200', [L]],
  ['flatten&b_ff0000', [A]],
  ['flatten', [A]],
  ['f_jpeg', [A]],
  ['f_jpg&w_100', [A]],
  ['f_webp&w_200', [L, A]],
  ['f_avif&w_64', [P], 8],
  ['f_png&w_100', [L]],
  ['f_gif&w_100', [A]],
  ['q_30&w_200', [L]],
  ['f_webp&q_50&w_200', [L], 4],
  ['quality_90&format_webp&width_200', [P]],
  ['w_100&f_webp', [G]],
  ['w_100&f_webp&a', [G]],
  ['w_100&animated&f_webp', [G]],
  ['w_100,f_webp', [L]],
  ['w:100', [L]],
  ['w=100&h=40', [L]],
  ['foo_bar&w_100', [L]],
  ['f_foo&w_100', [L]],
  ['f_jxl&w_100', [L]],
  ['fit_contain&w_100', [L]],
  ['kernel_lanczos3&s_100x100', [L]],
  ['pos_top&w_100', [L]],
  ['_', [A]],
  // sharp's own operations (ipx handlers gamma, median, threshold, normalize, negate, tint, kernel), in URLs
  // that mix them with each other and with resize, extend, rotation, flatten and alpha.
  ['gamma_2.2&w_200', [L, P]],
  ['gamma_1.5_2.5&s_100x100', [P]],
  ['gamma_3&w_100', [A]],
  ['gamma_2&grayscale&w_200', [L]],
  ['median_5&w_200', [L]],
  ['median_3&w_100', [A]],
  ['threshold_100&w_200', [L]],
  ['threshold_128&w_100', [A]],
  ['grayscale&threshold_90&w_100', [P]],
  ['normalize&w_200', [L, P]],
  ['normalize&w_100', [A]],
  ['negate&w_200', [L]],
  ['negate&w_100', [A]],
  ['negate&f_jpeg&w_100', [A]],
  ['tint_red&f_jpeg&w_100', [A]],
  ['normalize&f_jpeg&w_100', [A]],
  ['threshold_128&median_3&f_jpeg&w_100', [A]],
  ['gamma_2&f_jpeg&w_100', [A]],
  ['extend_5&negate&f_jpeg&w_60', [A]],
  ['tint_%23ff8000&w_200', [L]],
  ['tint_red&w_100', [A]],
  ['tint_%23f00&w_100', [P]],
  ['tint_red&flatten&w_100', [A]],
  ['negate&flatten&b_00ff00&w_100', [A]],
  ['blur_2&median_3&negate&w_200', [L]],
  ['extend_10&negate&w_100', [L]],
  ['extend_10_0_0_10&threshold_128&b_ff0000&w_100', [P]],
  ['negate&rotate_90&w_150', [L]],
  ['threshold_90&flip&w_150', [P]],
  ['normalize&tint_blue&sharpen_1&w_150', [L]],
  ['median_3&w_100&f_webp&a', [G]],
  ['gamma_2.2&w_100&f_webp&a', [G]],
  ['kernel_nearest&s_100x100', [L]],
  ['kernel_cubic&s_150x100&fit_contain', [P]],
  ['kernel_mitchell&s_100x100&w_80', [L]],
  ['kernel_linear&s_2000x3000&enlarge', [P]],
];

describe('ipx parity: ipx 3.1.1 and kinu answer the same URLs alike', () => {
  const { app } = testServer({ KINU_DIALECTS: 'native=/,ipx=/_ipx', KINU_MEMORY_CACHE_MB: '0' });
  let ipx: (req: Request) => Promise<Response>;
  before(async () => {
    // ipx never applies EXIF orientation; kinu always does. ipx reads an upright copy of E, so both show the
    // photo as the viewer sees it (README "Migrating from ipx").
    const dir = tempDir('kinu-ipx-');
    mkdirSync(join(dir, 'orientation'));
    writeFileSync(join(dir, E), await sharp(corpus(E)).rotate().jpeg({ quality: 95 }).toBuffer());
    ipx = createIPXWebServer(createIPX({ storage: ipxFSStorage({ dir: [dir, CORPUS] }) })) as typeof ipx;
  });
  after(() => app.close());

  for (const [modifiers, ids, tolerance = 3] of CASES) {
    for (const id of ids) {
      test(`/_ipx/${modifiers}/${id}`, async () => {
        const path = `/${modifiers}/${id}`;
        await same(path, tolerance);
      });
    }
  }

  for (const accept of [
    'image/avif,image/webp,*/*',
    'image/webp,*/*',
    'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8',
    '*/*',
    '',
  ]) {
    test(`f_auto with Accept: ${accept || '(none)'}`, async () => {
      const r = await same(`/f_auto&w_64/${L}`, 8, accept);
      assert.match(String(r.headers.vary), /accept/i);
    });
  }
  test('f_auto&animated negotiates WebP, else GIF, keeping the frames', async () => {
    await same(`/f_auto&a&w_100/${G}`, 3, 'image/avif,image/webp,*/*');
    await same(`/f_auto&a&w_100/${G}`, 3, '*/*');
  });

  // URLs as the real producers write them, under a browser's Accept.
  const CHROME = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8';
  test("unpic's ipx provider (unpic 4.2.2, providers/ipx.js): fixed, constrained and srcset widths, f_auto", async () => {
    const urls = [
      generate(`/${L}`, { width: 300, height: 200 }),
      generate(L, { width: 200, quality: 70, format: 'webp' }),
      ...[64, 128, 256].map((width) => generate(`/${P}`, { width })),
      generate(`/${A}`, { width: 100, height: 50 }),
    ];
    assert.deepEqual(urls.slice(0, 2), [`/_ipx/s_300x200,f_auto/${L}`, `/_ipx/w_200,q_70,f_webp/${L}`]);
    for (const url of urls) await same(url.slice('/_ipx'.length), 8, CHROME);
  });
  test("Nuxt Image's ipx provider (nuxt/image test/providers.ts: `_`, w_, h_, s_, fit_contain&s_, fit_contain&f_jpeg&s_)", async () => {
    for (const mods of ['_', 'w_200', 'h_200', 's_200x200', 'fit_contain&s_200x200', 'fit_contain&f_jpeg&s_200x200'])
      await same(`/${mods}/${P}`, 3);
    // Nuxt's operationsGenerator joins with `&`, keys mapped (position → pos, background → b), encodeParam'd
    await same(`/f_webp&q_80&s_120x80&pos_top&b_ff0000/${L}`, 3);
  });

  test('differences on purpose: EXIF orientation, and f_auto for a client naming neither AVIF nor WebP', async () => {
    // ipx never applies EXIF orientation (sharp without rotate()): the photo comes out sideways. kinu turns it.
    const raw = await createIPX({ storage: ipxFSStorage({ dir: CORPUS }) })(E, { w: '300' }).process();
    const theirs = await decode(raw.data as Buffer);
    const ours = await decode((await app.inject({ url: `/_ipx/w_300/${E}` })).rawPayload);
    assert.deepEqual([theirs.width, theirs.height, ours.width, ours.height], [300, 450, 300, 200]);
    // ipx answers JPEG (alpha flattened onto black); kinu keeps the original's PNG.
    const png = await app.inject({ url: `/_ipx/f_auto&w_64/${A}`, headers: { accept: '*/*' } });
    assert.equal((await decode(png.rawPayload)).format, 'png');
    assert.equal(
      (await decode((await app.inject({ url: `/_ipx/f_auto&w_64/${A}`, headers: { accept: CHROME } })).rawPayload))
        .format,
      'heif',
    );
  });

  test('refusals are problem+json naming the modifier', async () => {
    const r = await app.inject({ url: `/_ipx/w_100&gamma_2&rotate_90/${L}` });
    assert.match(problem(r, 400, 'invalid_param').detail, /^gamma:/);
  });
  test('what ipx itself fails on (500) is a 400 naming the modifier: modulate, hex without #, missing arguments', async () => {
    for (const [mods, name] of [
      ['modulate_1.5_1_0', 'modulate'],
      ['tint_ff0000', 'tint'],
      ['tint', 'tint'],
      ['median', 'median'],
      ['median_0', 'median'],
      ['threshold', 'threshold'],
      ['threshold_256', 'threshold'],
      ['gamma_0.5', 'gamma'],
      ['gamma_2_4', 'gamma'],
      ['kernel_box&s_100x100', 'kernel'],
    ]) {
      const theirs = await ipx(new Request(`http://ipx.test/w_50&${mods}/${L}`));
      assert.equal(theirs.status, 500, mods);
      const ours = await app.inject({ url: `/_ipx/w_50&${mods}/${L}` });
      assert.match(problem(ours, 400, 'invalid_param').detail, new RegExp(`^${name}:`), mods);
    }
  });

  async function same(path: string, tolerance: number, accept?: string) {
    const headers: Record<string, string> = accept === undefined ? {} : { accept };
    const theirs = await ipx(new Request(`http://ipx.test${path}`, { headers }));
    const ref = Buffer.from(await theirs.arrayBuffer());
    assert.equal(theirs.status, 200, `ipx: ${ref.toString().slice(0, 200)}`);
    const ours = await app.inject({ url: `/_ipx${path}`, headers });
    assert.equal(ours.statusCode, 200, ours.body);
    const [a, b] = [await decode(ref), await decode(ours.rawPayload)];
    assert.equal(b.format, a.format, 'format');
    assert.deepEqual(
      [b.width, b.pageHeight ?? b.height, b.pages ?? 1],
      [a.width, a.pageHeight ?? a.height, a.pages ?? 1],
    );
    const mad = await difference(ref, ours.rawPayload);
    assert.ok(mad <= tolerance, `mean absolute difference ${mad.toFixed(2)} > ${tolerance}`);
    return ours;
  }
});

/** Mean absolute difference of the first frames, as 8-bit sRGB with alpha. */
async function difference(a: Buffer, b: Buffer): Promise<number> {
  const raw = (x: Buffer) => sharp(x).toColourspace('srgb').ensureAlpha().raw().toBuffer();
  const [x, y] = [await raw(a), await raw(b)];
  assert.equal(x.length, y.length);
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += Math.abs(x[i]! - y[i]!);
  return sum / x.length;
}
