// runPipeline on synthetic and corpus images; every result is decoded and checked by size, format and colour.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import sharp, { type Metadata } from 'sharp';
import { KinuError } from '../../src/errors.ts';
import { OUTPUT_FORMATS } from '../../src/formats.ts';
import { sniffForeign, toSharpInput } from '../../src/pipeline/foreign/index.ts';
import { runPipeline, type PipelineResult } from '../../src/pipeline/pipeline.ts';
import { classify } from '../../src/pipeline/sharp-errors.ts';
import { GRAVITIES, IDENTITY, type Gravity, type Position, type Transform } from '../../src/transform.ts';
import { corpus, tempDir } from '../helpers.ts';
import {
  BLUE,
  CYAN,
  GREEN,
  GRID,
  MAGENTA,
  PURPLE,
  QUADS,
  RED,
  WHITE,
  YELLOW,
  cells,
  near,
  pixels,
  solid,
  type RGB,
} from './images.ts';

const OPTS = {
  limits: { maxPixels: 100_000_000, maxFrames: 500 },
  timeoutMs: 20_000,
  accept: { jxl: false, avif: false, webp: false },
};

function run(input: Buffer, over: Partial<Transform>, watermark?: Buffer): Promise<PipelineResult> {
  return runPipeline(input, { ...IDENTITY, ...over }, { ...OPTS, watermark });
}
const file = (name: string) => readFileSync(corpus(name));
const size = (r: { width: number; height: number }) => `${r.width}x${r.height}`;
const gravity = (g: Gravity): Position => ({ kind: 'gravity', gravity: g });

/** Colours at the centres of the four quadrants: TL, TR, BL, BR. */
async function quadrants(out: Buffer): Promise<RGB[]> {
  const p = await pixels(out);
  const xs = [Math.floor(p.width / 4), Math.floor((3 * p.width) / 4)];
  const ys = [Math.floor(p.height / 4), Math.floor((3 * p.height) / 4)];
  return [p.at(xs[0]!, ys[0]!), p.at(xs[1]!, ys[0]!), p.at(xs[0]!, ys[1]!), p.at(xs[1]!, ys[1]!)].map(
    (c) => [c[0], c[1], c[2]] as RGB,
  );
}
function sameColours(actual: RGB[], expected: RGB[], tolerance = 8) {
  for (const [i, c] of actual.entries()) near(c, expected[i]!, tolerance, `quadrant ${i}`);
}

let grid: Buffer; // 300×300, 3×3 cells
let wide: Buffer; // 600×300, 3×3 cells
let quads: Buffer; // 200×100, 2×2 quadrants
before(async () => {
  grid = await cells(300, 300);
  wide = await cells(600, 300);
  quads = await cells(200, 100, QUADS);
});

describe('fit', () => {
  test('cover fills the box and keeps the centre', async () => {
    const r = await run(wide, { width: 100, height: 100, format: 'png' });
    assert.equal(size(r), '100x100');
    const p = await pixels(r.data);
    near(p.at(50, 50), [...MAGENTA, 255], 4, 'centre');
    near(p.at(2, 50), [...YELLOW, 255], 4, 'left edge is the left column');
    near(p.at(97, 50), [...CYAN, 255], 4, 'right edge is the right column');
  });

  test('contain letterboxes: transparent into PNG, white into JPEG', async () => {
    const r = await run(wide, { width: 100, height: 100, fit: 'contain', format: 'png' });
    assert.equal(size(r), '100x100');
    const p = await pixels(r.data);
    assert.equal(p.at(50, 5)[3], 0);
    assert.equal(p.at(50, 95)[3], 0);
    near(p.at(50, 50), [...MAGENTA, 255], 4, 'image');
    near(p.at(5, 30), [...RED, 255], 4, 'image top-left');
    const j = await pixels((await run(wide, { width: 100, height: 100, fit: 'contain', format: 'jpeg' })).data);
    near(j.at(50, 5), [...WHITE, 255], 3, 'jpeg pad');
  });

  test('fill stretches to the box', async () => {
    const r = await run(wide, { width: 90, height: 90, fit: 'fill', format: 'png' });
    assert.equal(size(r), '90x90');
    sameColours(await quadrants(r.data), [RED, BLUE, [255, 128, 0], [128, 128, 128]]);
  });

  test('inside and outside keep the aspect ratio', async () => {
    assert.equal(size(await run(wide, { width: 100, height: 100, fit: 'inside' })), '100x50');
    assert.equal(size(await run(wide, { width: 100, height: 100, fit: 'outside' })), '200x100');
    assert.equal(size(await run(wide, { width: 120 })), '120x60');
    assert.equal(size(await run(wide, { height: 60 })), '120x60');
  });

  test('enlarge=0 never enlarges and keeps the asked aspect ratio for cover and contain', async () => {
    const box = { width: 1200, height: 1200 };
    const rows: [Partial<Transform>, string][] = [
      [{ ...box }, '300x300'],
      [{ ...box, fit: 'contain' }, '600x600'],
      [{ ...box, fit: 'fill' }, '600x300'],
      [{ ...box, fit: 'inside' }, '600x300'],
      [{ ...box, fit: 'outside' }, '600x300'],
      [{ width: 1200 }, '600x300'],
      [{ ...box, enlarge: true }, '1200x1200'],
      [{ width: 1200, enlarge: true }, '1200x600'],
    ];
    for (const [t, want] of rows) {
      const r = await run(wide, { ...t, format: 'png' });
      assert.equal(size(r), want, JSON.stringify(t));
      const m = await sharp(r.data).metadata();
      assert.equal(`${m.width}x${m.height}`, want);
    }
    // contain without enlarge: the image at its own size, centred in the padded canvas.
    const p = await pixels((await run(wide, { ...box, fit: 'contain', format: 'png' })).data);
    assert.equal(p.at(300, 100)[3], 0);
    near(p.at(300, 300), [...MAGENTA, 255], 0, 'centre');
    near(p.at(1, 151), [...RED, 255], 0, 'image top-left at native size');
  });
});

describe('position', () => {
  // A 50×150 box cuts a column out of the 150×150 scaled grid; a 150×50 box cuts a row.
  const column = (g: Gravity) => (g.endsWith('left') ? 0 : g.endsWith('right') ? 2 : 1);
  const row = (g: Gravity) => (g.startsWith('top') ? 0 : g.startsWith('bottom') ? 2 : 1);
  for (const g of GRAVITIES) {
    test(`pos=${g} keeps the ${g} part`, async () => {
      const tall = await pixels(
        (await run(grid, { width: 50, height: 150, position: gravity(g), format: 'png' })).data,
      );
      assert.equal(`${tall.width}x${tall.height}`, '50x150');
      near(tall.at(25, 75), [...GRID[1]![column(g)]!, 255], 4, 'column');
      const flat = await pixels(
        (await run(grid, { width: 150, height: 50, position: gravity(g), format: 'png' })).data,
      );
      near(flat.at(75, 25), [...GRID[row(g)]![1]!, 255], 4, 'row');
    });
  }

  test('contain places the image by gravity', async () => {
    const p = await pixels(
      (await run(wide, { width: 100, height: 100, fit: 'contain', position: gravity('top'), format: 'png' })).data,
    );
    near(p.at(5, 5), [...RED, 255], 4, 'image at the top');
    assert.equal(p.at(50, 95)[3], 0);
  });

  for (const kind of ['attention', 'entropy'] as const) {
    test(`pos=${kind} gives the asked size`, async () => {
      const r = await run(file('photos/hato-pigeons.jpg'), { width: 120, height: 200, position: { kind } });
      assert.equal(size(r), '120x200');
      const m = await sharp(r.data).metadata();
      assert.equal(`${m.format} ${m.width}x${m.height}`, 'jpeg 120x200');
    });
  }

  test('a focal point keeps the region around it', async () => {
    const rows: [number, number, number, number, number, number][] = [
      // box w, box h, x, y, expected cell row, column
      [50, 150, 0.1, 0.5, 1, 0],
      [50, 150, 0.5, 0.5, 1, 1],
      [50, 150, 0.9, 0.5, 1, 2],
      [50, 150, 1, 0, 1, 2],
      [150, 50, 0.5, 0.1, 0, 1],
      [150, 50, 0.5, 0.9, 2, 1],
    ];
    for (const [w, h, x, y, r, c] of rows) {
      const out = await run(grid, { width: w, height: h, position: { kind: 'focal', x, y }, format: 'png' });
      assert.equal(size(out), `${w}x${h}`);
      const p = await pixels(out.data);
      assert.equal(`${p.width}x${p.height}`, `${w}x${h}`);
      near(p.at(Math.floor(w / 2), Math.floor(h / 2)), [...GRID[r]![c]!, 255], 4, `focal ${x},${y}`);
    }
  });
});

describe('crop, rotate, flip', () => {
  test('crop cuts source pixels before the resize', async () => {
    const r = await run(grid, { crop: { x: 100, y: 100, width: 100, height: 100 }, format: 'png' });
    assert.equal(size(r), '100x100');
    near((await pixels(r.data)).at(50, 50), [...MAGENTA, 255], 0, 'centre cell');
    const s = await run(grid, { crop: { x: 200, y: 0, width: 500, height: 100 }, width: 50, format: 'png' });
    assert.equal(size(s), '50x50');
    near((await pixels(s.data)).at(25, 25), [...BLUE, 255], 2, 'clamped to the top-right cell');
  });

  test('crop happens in auto-oriented coordinates', async () => {
    const t = { crop: { x: 900, y: 200, width: 600, height: 600 }, width: 48, format: 'png' as const };
    const upright = await grey(await run(file('orientation/Landscape_1.jpg'), t));
    for (const n of [3, 6, 8]) {
      const rotated = await grey(await run(file(`orientation/Landscape_${n}.jpg`), t));
      assert.ok(meanAbsDiff(upright, rotated) < 12, `Landscape_${n}: differs by ${meanAbsDiff(upright, rotated)}`);
    }
    // A focal point and a gravity are in upright coordinates too.
    for (const position of [{ kind: 'focal', x: 0.8, y: 0.3 }, gravity('left')] as const) {
      const f = { width: 40, height: 60, position, format: 'png' as const };
      const a = await grey(await run(file('orientation/Landscape_1.jpg'), f));
      const b = await grey(await run(file('orientation/Landscape_6.jpg'), f));
      assert.ok(meanAbsDiff(a, b) < 12, `${JSON.stringify(position)}: differs by ${meanAbsDiff(a, b)}`);
    }
    // The test can fail: a crop elsewhere is clearly different.
    const elsewhere = await grey(
      await run(file('orientation/Landscape_1.jpg'), { ...t, crop: { x: 0, y: 0, width: 600, height: 600 } }),
    );
    assert.ok(meanAbsDiff(upright, elsewhere) > 12);
  });

  const turns: [Partial<Transform>, RGB[]][] = [
    [{ rotate: 90 }, [BLUE, RED, YELLOW, GREEN]],
    [{ rotate: 180 }, [YELLOW, BLUE, GREEN, RED]],
    [{ rotate: 270 }, [GREEN, YELLOW, RED, BLUE]],
    [{ flipH: true }, [GREEN, RED, YELLOW, BLUE]],
    [{ flipV: true }, [BLUE, YELLOW, RED, GREEN]],
    [{ flipH: true, flipV: true }, [YELLOW, BLUE, GREEN, RED]],
    [{ rotate: 90, flipH: true }, [RED, BLUE, GREEN, YELLOW]],
  ];
  for (const [t, want] of turns) {
    test(`rotate/flip ${JSON.stringify(t)} moves the quadrants`, async () => {
      const r = await run(quads, { ...t, format: 'png' });
      assert.equal(size(r), t.rotate === 90 || t.rotate === 270 ? '100x200' : '200x100');
      sameColours(await quadrants(r.data), want, 0);
    });
  }

  test('the box applies to the rotated output; the crop to the source', async () => {
    const r = await run(quads, { rotate: 90, width: 50, format: 'png' });
    assert.equal(size(r), '50x100');
    sameColours(await quadrants(r.data), [BLUE, RED, YELLOW, GREEN]);
    const c = await run(quads, { rotate: 90, width: 40, height: 40, format: 'png' });
    assert.equal(size(c), '40x40');
    const top = await run(quads, { rotate: 90, crop: { x: 0, y: 0, width: 200, height: 50 }, format: 'png' });
    assert.equal(size(top), '50x200');
    const p = await pixels(top.data);
    near(p.at(25, 50), [...RED, 255], 0, 'source left is the top after a quarter turn');
    near(p.at(25, 150), [...GREEN, 255], 0, 'source right is the bottom');
  });

  test('rotation of an oriented JPEG turns the upright picture', async () => {
    const a = await grey(await run(file('orientation/Landscape_1.jpg'), { rotate: 90, width: 40, format: 'png' }));
    const b = await grey(await run(file('orientation/Landscape_6.jpg'), { rotate: 90, width: 40, format: 'png' }));
    assert.equal(`${a.width}x${a.height}`, '40x60');
    assert.ok(meanAbsDiff(a, b) < 12);
  });
});

describe('effects', () => {
  test('blur and sharpen change pixels', async () => {
    const plain = await pixels((await run(quads, { format: 'png' })).data);
    const blurred = await pixels((await run(quads, { blur: 5, format: 'png' })).data);
    near(plain.at(99, 25), [...RED, 255], 0, 'sharp edge');
    const edge = blurred.at(99, 25);
    assert.ok(edge[0] < 240 && edge[1] > 15, `blurred edge mixes red and green: ${edge}`);
    near(blurred.at(50, 25), [...RED, 255], 2, 'far from the edge');
    const photo = file('jpeg/progressive-kimono.jpg');
    const a = (await run(photo, { width: 200, format: 'png' })).data;
    const b = (await run(photo, { width: 200, sharpen: 2, format: 'png' })).data;
    assert.notDeepEqual(a, b);
    assert.ok((await sharp(b).stats()).sharpness > (await sharp(a).stats()).sharpness);
  });

  test('gray gives grey pixels', async () => {
    for (const format of ['png', 'jpeg', 'webp'] as const) {
      const r = await run(quads, { gray: true, format });
      const p = await pixels(r.data);
      for (const [x, y] of [
        [50, 25],
        [150, 25],
        [50, 75],
        [150, 75],
      ] as const) {
        const [red, green, blue] = p.at(x, y);
        assert.ok(
          Math.abs(red - green) <= 2 && Math.abs(green - blue) <= 2,
          `${format} (${x},${y}) is grey: ${red},${green},${blue}`,
        );
      }
    }
  });

  test('pixelate gives uniform blocks and keeps the geometry', async () => {
    const gradient = await sharp(Buffer.from(Array.from({ length: 120 * 120 * 3 }, (_, i) => (i * 7) % 256)), {
      raw: { width: 120, height: 120, channels: 3 },
    })
      .png()
      .toBuffer();
    const r = await run(gradient, { pixelate: 10, format: 'png' });
    assert.equal(size(r), '120x120');
    const p = await pixels(r.data);
    for (const [bx, by] of [
      [0, 0],
      [5, 3],
      [11, 11],
    ] as const) {
      const c = p.at(bx * 10, by * 10);
      for (const [dx, dy] of [
        [9, 0],
        [0, 9],
        [9, 9],
        [4, 5],
      ] as const)
        near(p.at(bx * 10 + dx, by * 10 + dy), c, 0, `block ${bx},${by}`);
    }
    // cover with pos=left then pixelate: only the left column remains, nothing is squeezed in.
    const left = await run(wide, { width: 150, height: 150, position: gravity('left'), pixelate: 5, format: 'png' });
    assert.equal(size(left), '150x150');
    const q = await pixels(left.data);
    near(q.at(140, 75), [...MAGENTA, 255], 4, 'right edge of a left cover crop');
    near(q.at(10, 75), [...YELLOW, 255], 4, 'left edge');
    // pixelate after a quarter turn and with padding.
    const turned = await run(quads, {
      rotate: 90,
      pixelate: 4,
      pad: [5, 5, 5, 5],
      background: { r: 0, g: 0, b: 0, alpha: 1 },
      format: 'png',
    });
    assert.equal(size(turned), '110x210');
    near((await pixels(turned.data)).at(30, 55), [...BLUE, 255], 0, 'rotated quadrant');
  });
});

describe('background, padding, alpha', () => {
  test('bg + contain pads with the colour', async () => {
    const magenta = { r: 255, g: 0, b: 255, alpha: 1 };
    for (const format of ['png', 'jpeg'] as const) {
      const p = await pixels(
        (await run(wide, { width: 100, height: 100, fit: 'contain', background: magenta, format })).data,
      );
      near(p.at(50, 5), [...MAGENTA, 255], 6, `${format} pad`);
      near(p.at(50, 50), [...MAGENTA, 255], 6, `${format} image centre`);
      near(p.at(5, 30), [...RED, 255], 12, `${format} image`);
    }
  });

  test('pad adds a border in bg', async () => {
    const r = await run(quads, {
      width: 100,
      pad: [10, 20, 30, 40],
      background: { r: 0, g: 255, b: 255, alpha: 1 },
      format: 'png',
    });
    assert.equal(size(r), '160x90');
    const p = await pixels(r.data);
    assert.equal(`${p.width}x${p.height}`, '160x90');
    near(p.at(5, 5), [...CYAN, 255], 0, 'corner');
    near(p.at(159, 89), [...CYAN, 255], 0, 'other corner');
    near(p.at(42, 12), [...RED, 255], 0, 'image starts at (40,10)');
    near(p.at(138, 58), [...YELLOW, 255], 0, 'image ends at (139,59)');
    near(p.at(141, 58), [...CYAN, 255], 0, 'right pad');
    const clear = await pixels((await run(quads, { pad: [4, 4, 4, 4], format: 'png' })).data);
    assert.equal(clear.at(1, 1)[3], 0, 'PNG pad is transparent by default');
    // A translucent bg stays translucent in PNG; JPEG pads with it opaque, as it flattens onto it.
    const halfRed = { r: 255, g: 0, b: 0, alpha: 0.5 };
    near(
      (await pixels((await run(quads, { pad: [4, 4, 4, 4], background: halfRed, format: 'png' })).data)).at(1, 1),
      [255, 0, 0, 128],
      1,
      'png',
    );
    near(
      (await pixels((await run(quads, { pad: [4, 4, 4, 4], background: halfRed, format: 'jpeg' })).data)).at(1, 1),
      [255, 0, 0, 255],
      12,
      'jpeg pad',
    );
    near(
      (
        await pixels(
          (
            await run(quads, { width: 100, height: 100, fit: 'contain', background: halfRed, format: 'jpeg' })
          ).data,
        )
      ).at(50, 5),
      [255, 0, 0, 255],
      12,
      'jpeg contain',
    );
  });

  test('alpha is flattened into JPEG onto white, or onto bg', async () => {
    const half = await cells(100, 100, [[RED, RED]], (x) => (x < 50 ? 255 : 0));
    const white = await pixels((await run(half, { format: 'jpeg' })).data);
    near(white.at(75, 50), [...WHITE, 255], 3, 'transparent → white');
    near(white.at(25, 50), [...RED, 255], 12, 'opaque stays');
    const blue = await pixels((await run(half, { format: 'jpeg', background: { r: 0, g: 0, b: 255, alpha: 1 } })).data);
    near(blue.at(75, 50), [...BLUE, 255], 8, 'transparent → bg');
    const semi = await pixels((await run(await cells(100, 100, [[RED]], () => 128), { format: 'jpeg' })).data);
    near(semi.at(50, 50), [255, 127, 127, 255], 8, 'half-transparent red over white is pink');
  });

  test('alpha survives into PNG, WebP, AVIF and GIF', async () => {
    const half = await cells(100, 100, [[RED, RED]], (x) => (x < 50 ? 255 : 0));
    for (const format of ['png', 'webp', 'avif', 'gif'] as const) {
      const r = await run(half, { width: 80, format });
      const m = await sharp(r.data).metadata();
      assert.equal(m.hasAlpha, true, format);
      const p = await pixels(r.data);
      assert.ok(p.at(70, 40)[3] < 10, `${format} transparent half`);
      assert.ok(p.at(10, 40)[3] > 245, `${format} opaque half`);
    }
  });

  test('trim removes a uniform border', async () => {
    const framed = await sharp({ create: { width: 100, height: 80, channels: 3, background: '#ffffff' } })
      .composite([{ input: await solid(60, 40, RED), left: 20, top: 20 }])
      .png()
      .toBuffer();
    const r = await run(framed, { trim: 10, format: 'png' });
    assert.equal(size(r), '60x40');
    near((await pixels(r.data)).at(0, 0), [...RED, 255], 0, 'border gone');
    const w = await run(framed, { trim: 10, width: 30, format: 'png' });
    assert.equal(size(w), '30x20');
  });
});

describe('watermark', () => {
  const wm = (over: Partial<NonNullable<Transform['watermark']>> = {}) => ({
    watermark: { key: 'wm.png', gravity: 'bottom-right' as Gravity, opacity: 1, scale: undefined, ...over },
    format: 'png' as const,
  });

  test('composites at wm_pos with wm_opacity, from RGB, grey and RGBA marks', async () => {
    const base = await solid(200, 200, WHITE);
    const marks: [string, Buffer, RGB][] = [
      ['rgb', await solid(40, 40, RED), RED],
      ['grey', await solid(40, 40, [0, 0, 0], 1), [0, 0, 0]],
      ['rgba', await cells(40, 40, [[BLUE]], () => 255), BLUE],
    ];
    for (const [name, mark, colour] of marks) {
      const full = await pixels((await run(base, wm(), mark)).data);
      near(full.at(190, 190), [...colour, 255], 2, `${name} bottom-right`);
      near(full.at(150, 150), [...WHITE, 255], 0, `${name} only 40 px`);
      const faint = await pixels((await run(base, wm({ opacity: 0.5, gravity: 'top-left' }), mark)).data);
      near(faint.at(10, 10), [...colour.map((c) => Math.round((c + 255) / 2)), 255], 3, `${name} half opacity`);
      near(faint.at(190, 190), [...WHITE, 255], 0, `${name} moved`);
    }
  });

  test('wm_scale is a fraction of the output width; a large mark is shrunk to fit', async () => {
    const base = await solid(200, 100, WHITE);
    const mark = await solid(40, 20, GREEN);
    const scaled = await pixels((await run(base, wm({ scale: 0.5, gravity: 'top-left' }), mark)).data);
    near(scaled.at(95, 45), [...GREEN, 255], 2, 'scaled to 100×50');
    near(scaled.at(105, 55), [...WHITE, 255], 0, 'not beyond');
    const big = await run(base, wm({ gravity: 'center' }), await solid(800, 800, GREEN));
    assert.equal(size(big), '200x100');
    const p = await pixels(big.data);
    near(p.at(100, 50), [...GREEN, 255], 0, 'centre');
    near(p.at(10, 50), [...WHITE, 255], 0, 'square mark fits the height');
  });

  test('a transparent mark keeps the image under its clear parts, also into JPEG', async () => {
    const mark = await cells(40, 40, [[PURPLE, PURPLE]], (x) => (x < 20 ? 255 : 0));
    const p = await pixels((await run(await solid(100, 100, YELLOW), { ...wm(), format: 'jpeg' }, mark)).data);
    near(p.at(70, 90), [...PURPLE, 255], 20, 'opaque half');
    near(p.at(95, 90), [...YELLOW, 255], 12, 'clear half');
  });
});

describe('animation and formats', () => {
  const gif = () => file('gif/animated-loop-3.gif');
  const duration = (m: Metadata) => (m.delay ?? []).reduce((a, b) => a + b, 0);

  test('anim=0 gives one frame', async () => {
    const r = await run(gif(), { width: 100, animated: false });
    assert.equal(r.frames, 1);
    const m = await sharp(r.data, { animated: true }).metadata();
    assert.equal(m.format, 'gif');
    assert.equal(m.pages ?? 1, 1);
  });

  test('an animated GIF into WebP stays animated: frames, timing, loop, size', async () => {
    const src = await sharp(gif(), { animated: true }).metadata();
    const r = await run(gif(), { width: 100, format: 'webp' });
    const m = await sharp(r.data, { animated: true }).metadata();
    assert.equal(m.format, 'webp');
    assert.equal(m.pages, src.pages);
    assert.equal(m.loop, 3);
    assert.equal(duration(m), duration(src));
    assert.equal(`${m.width}x${m.pageHeight}`, `100x${Math.round((285 * 100) / 370)}`);
    assert.equal(size(r), `${m.width}x${m.pageHeight}`);
    assert.equal(r.frames, src.pages);
  });

  test('geometry works per frame: cover, contain, focal point, crop, pad', async () => {
    const rows: [Partial<Transform>, string][] = [
      [{ width: 60, height: 60 }, '60x60'],
      [{ width: 60, height: 60, fit: 'contain' }, '60x60'],
      [{ width: 60, height: 60, position: { kind: 'focal', x: 0.2, y: 0.2 } }, '60x60'],
      [{ crop: { x: 100, y: 100, width: 150, height: 100 } }, '150x100'],
      [{ width: 50, pad: [5, 5, 5, 5] }, '60x49'],
    ];
    const src = await sharp(gif(), { animated: true }).metadata();
    for (const [t, want] of rows) {
      const r = await run(gif(), t);
      const m = await sharp(r.data, { animated: true }).metadata();
      // libvips merges identical consecutive frames (adding their delays), so compare the running time.
      assert.ok((m.pages ?? 1) > 1 && (m.pages ?? 1) <= 10, `${JSON.stringify(t)}: ${m.pages} frames`);
      assert.equal(
        `${m.width}x${m.pageHeight} ${duration(m)} ${m.loop}`,
        `${want} ${duration(src)} 3`,
        JSON.stringify(t),
      );
      assert.equal(size(r), want);
    }
  });

  test('blur and sharpen work frame by frame: nothing bleeds between frames, timing and loop stay', async () => {
    const raw = Buffer.alloc(20 * 40 * 3);
    raw.fill(255, 20 * 20 * 3);
    const blackThenWhite = await sharp(raw, { raw: { width: 20, height: 40, channels: 3, pageHeight: 20 } })
      .webp({ lossless: true, delay: [100, 300], loop: 2 })
      .toBuffer();
    for (const [t, format] of [
      [{ blur: 3 }, 'webp'],
      [{ sharpen: 3 }, 'gif'],
      [{ blur: 2, gray: true }, 'webp'],
    ] as const) {
      const r = await run(blackThenWhite, { ...t, format });
      const m = await sharp(r.data, { animated: true }).metadata();
      assert.deepEqual([m.pages, m.pageHeight, m.delay, m.loop], [2, 20, [100, 300], 2], JSON.stringify(t));
      const { data, info } = await sharp(r.data, { animated: true })
        .removeAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      const row = (y: number) => data[y * 20 * info.channels + 10 * info.channels]!;
      assert.ok(row(19) < 12 && row(20) > 243, `${JSON.stringify(t)}: frame edges ${row(19)} / ${row(20)}`);
    }
  });

  test('every output format decodes as that format', async () => {
    const names: Record<string, string> = { jpeg: 'jpeg', png: 'png', webp: 'webp', avif: 'heif', gif: 'gif' };
    for (const format of OUTPUT_FORMATS) {
      const r = await run(quads, { width: 64, format });
      assert.equal(r.format, format);
      // sharp cannot read JPEG XL: kinu's own decoder proves it (its sniffer, then its pixels through sharp).
      if (format === 'jxl') assert.equal(sniffForeign(r.data), 'jxl');
      const data =
        format === 'jxl'
          ? (await toSharpInput(r.data, { maxPixels: 1e6, deadline: Date.now() + 60_000 })).data
          : r.data;
      const m = await sharp(data).metadata();
      if (format !== 'jxl') assert.equal(m.format, names[format]);
      if (format === 'avif') assert.equal(m.compression, 'av1');
      assert.equal(`${m.width}x${m.height}`, '64x32');
      sameColours(await quadrants(data), [RED, GREEN, BLUE, YELLOW], format === 'gif' || format === 'png' ? 4 : 40);
    }
  });

  test('q changes the bytes for lossy formats', async () => {
    const photo = file('jpeg/progressive-kimono.jpg');
    for (const format of ['jpeg', 'webp', 'avif'] as const) {
      const low = await run(photo, { width: 200, format, quality: 10 });
      const high = await run(photo, { width: 200, format, quality: 90 });
      assert.ok(
        high.data.length > low.data.length * 1.5,
        `${format}: q=90 ${high.data.length} B vs q=10 ${low.data.length} B`,
      );
    }
  });

  test('SVG rasterises to PNG by default; TIFF gives JPEG, or PNG with alpha', async () => {
    const svg = await run(file('svg/viewbox-only.svg'), { width: 50 });
    assert.equal(svg.format, 'png');
    assert.equal((await sharp(svg.data).metadata()).format, 'png');
    const tiff = await run(file('tiff/cmyk-fogra39.tif'), { width: 50 });
    assert.equal(tiff.format, 'jpeg');
    near((await pixels(tiff.data)).at(25, 25), [227, 7, 20, 255], 12, 'CMYK red is red');
    const tiffAlpha = await run(file('tiff/jpeg-ycbcr-subsampled.tif'), { width: 50 });
    assert.equal(tiffAlpha.format, 'png');
    assert.equal((await sharp(tiffAlpha.data).metadata()).hasAlpha, true);
  });

  test('SVG rasterises without reading files it references; inline data: images still render', async () => {
    const dir = tempDir();
    const red = await solid(100, 100, RED);
    writeFileSync(join(dir, 'red.png'), red);
    const svg = (href: string) =>
      Buffer.from(
        `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="100" height="100"><image x="0" y="0" width="100" height="100" xlink:href="${href}"/></svg>`,
      );
    for (const href of [`file://${join(dir, 'red.png')}`, join(dir, 'red.png'), 'red.png']) {
      const r = await run(svg(href), { format: 'png' });
      assert.equal(size(r), '100x100');
      assert.equal((await pixels(r.data)).at(50, 50)[3], 0, `${href} was not loaded`);
    }
    const inline = await run(svg(`data:image/png;base64,${red.toString('base64')}`), { format: 'png' });
    near((await pixels(inline.data)).at(50, 50), [...RED, 255], 0, 'data: image');
  });

  test('a multi-page TIFF is a document, not an animation: its first page, also into GIF and WebP', async () => {
    for (const format of ['gif', 'webp', 'png'] as const) {
      const r = await run(file('tiff/multipage-2-pages.tif'), { width: 100, format });
      const m = await sharp(r.data, { animated: true }).metadata();
      assert.equal(
        `${m.format} ${m.pages ?? 1} ${m.width}x${m.pageHeight ?? m.height}`,
        `${format} 1 100x${Math.round((3248 * 100) / 2464)}`,
      );
    }
  });

  test('16-bit and grey PNGs come out as 8-bit images that decode', async () => {
    for (const name of [
      'png/rgb16-photo.png',
      'png/pngsuite/basn0g16.png',
      'png/pngsuite/basn4a16.png',
      'png/pngsuite/basn0g01.png',
    ]) {
      const r = await run(file(name), { width: 20 });
      const m = await sharp(r.data).metadata();
      assert.equal(m.format, 'png', name);
      assert.equal(m.depth, 'uchar', name);
      assert.ok(m.space === 'srgb' || m.space === 'b-w', `${name}: ${m.space}`);
    }
  });
});

describe('errors', () => {
  test('source damage is corrupt_image; a bug in kinu is not blamed on the source', async () => {
    await assert.rejects(
      run(file('corrupt/truncated.png'), { width: 10 }),
      (e: unknown) => e instanceof KinuError && e.code === 'corrupt_image',
    );
    await assert.rejects(
      run(file('corrupt/one-byte.jpg'), { width: 10 }),
      (e: unknown) => e instanceof KinuError && e.code === 'unsupported_format',
    );
    const odd = new Error('vips_something: bad argument');
    assert.equal(await classify(odd, async () => undefined), odd, 'the source decodes: the failure is ours (500)');
    const blamed = await classify(odd, () => Promise.reject(new Error('VipsJpeg: premature end')));
    assert.ok(blamed instanceof KinuError && blamed.code === 'corrupt_image');
    let decodes = 0;
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0]);
    const decoder = await classify(
      new Error('VipsJpeg: premature end of JPEG image'),
      () => {
        decodes++;
        return Promise.reject(new Error('VipsJpeg: premature end of JPEG image'));
      },
      jpeg,
    );
    assert.ok(decoder instanceof KinuError && decoder.code === 'corrupt_image');
    assert.equal(decodes, 1, "a decoder's message is confirmed by one decode of the source alone");
    const limit = await classify(new Error('Input image exceeds pixel limit'), () =>
      assert.fail("sharp's own words need no second decode"),
    );
    assert.ok(limit instanceof KinuError && limit.code === 'too_many_pixels');
  });

  test('a damaged watermark is corrupt_image naming the watermark', async () => {
    const t = { watermark: { key: 'wm.png', gravity: 'center' as Gravity, opacity: 1, scale: undefined } };
    await assert.rejects(
      run(quads, t, file('corrupt/truncated.png')),
      (e: unknown) => e instanceof KinuError && e.code === 'corrupt_image' && e.detail.includes('wm.png'),
    );
  });

  test('an output wider than WebP allows is output_too_large, not a libvips failure', async () => {
    const strip = await sharp({ create: { width: 16384, height: 2, channels: 3, background: '#000' } })
      .png()
      .toBuffer();
    await assert.rejects(
      run(strip, { format: 'webp' }),
      (e: unknown) => e instanceof KinuError && e.code === 'output_too_large',
    );
    assert.equal((await run(strip, { format: 'png' })).width, 16384);
  });

  test('a bad PNG chunk CRC is corrupt_image', async () => {
    await assert.rejects(
      run(file('png/pngsuite/xcsn0g01.png'), { width: 10 }),
      (e: unknown) => e instanceof KinuError && e.code === 'corrupt_image',
    );
    const good = await run(file('png/pngsuite/basn0g01.png'), { width: 10 });
    assert.equal(good.width, 10);
  });
});

async function grey(r: PipelineResult) {
  const { data, info } = await sharp(r.data).greyscale().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

function meanAbsDiff(a: { data: Buffer }, b: { data: Buffer }): number {
  assert.equal(a.data.length, b.data.length);
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += Math.abs(a.data[i]! - b.data[i]!);
  return sum / a.data.length;
}
