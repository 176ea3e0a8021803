// placeholder(): a ThumbHash that decodes to the image's colours and shape, and an alpha-aware dominant colour.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { thumbHashToApproximateAspectRatio, thumbHashToRGBA } from 'thumbhash';
import { dominantColour, placeholder } from '../../src/pipeline/placeholder.ts';
import { corpus, meanColour } from '../helpers.ts';

type Rgb = [number, number, number];

const solid = (width: number, height: number, [r, g, b]: Rgb, alpha = 1) =>
  sharp({ create: { width, height, channels: 4, background: { r, g, b, alpha } } })
    .png()
    .toBuffer();

/** Mean RGB of a decoded ThumbHash, alpha-weighted as thumbhash averages. */
function decodedMean(hash: string): Rgb {
  const { rgba } = thumbHashToRGBA(Buffer.from(hash, 'base64'));
  const sum = [0, 0, 0];
  let w = 0;
  for (let i = 0; i < rgba.length; i += 4) {
    const a = rgba[i + 3]!;
    for (let c = 0; c < 3; c++) sum[c]! += rgba[i + c]! * a;
    w += a;
  }
  return sum.map((s) => s / w) as Rgb;
}

const hex = (s: string): Rgb => [1, 3, 5].map((i) => parseInt(s.slice(i, i + 2), 16)) as Rgb;
const near = (a: readonly number[], b: readonly number[], tol: number, label: string) =>
  assert.ok(
    a.every((v, i) => Math.abs(v - b[i]!) <= tol),
    `${label}: ${a.map((v) => v.toFixed(1))} vs ${b.map((v) => v.toFixed(1))} (±${tol})`,
  );

describe('placeholder', () => {
  test('a flat colour: dominant is that colour exactly, and the ThumbHash decodes to it', async () => {
    for (const colour of [
      [200, 60, 30],
      [12, 140, 233],
      [250, 250, 250],
    ] as Rgb[]) {
      const p = await placeholder(await solid(64, 48, colour));
      assert.match(p.dominant, /^#[0-9a-f]{6}$/);
      assert.deepEqual(hex(p.dominant), colour);
      near(decodedMean(p.thumbhash), colour, 4, `thumbhash of ${colour}`);
    }
  });

  for (const file of [
    'photos/hato-pigeons.jpg',
    'photos/lunch-food.jpg',
    'png/palette-photo.png',
    'webp/lossy-photo.webp',
  ]) {
    test(`${file}: the decoded ThumbHash has the photo's mean colour and aspect ratio`, async () => {
      const input = readFileSync(corpus(file));
      const p = await placeholder(input);
      near(decodedMean(p.thumbhash), await meanColour(input), 10, file);
      const meta = await sharp(input).metadata();
      const ratio = thumbHashToApproximateAspectRatio(Buffer.from(p.thumbhash, 'base64'));
      assert.ok(
        Math.abs(ratio / (meta.width / meta.height) - 1) < 0.15,
        `${file}: ratio ${ratio} vs ${meta.width}/${meta.height}`,
      );
    });
  }

  test('EXIF orientation is applied first: a 1200×1800 file tagged 6 gives a landscape ThumbHash', async () => {
    const p = await placeholder(readFileSync(corpus('orientation/Landscape_6.jpg')));
    const ratio = thumbHashToApproximateAspectRatio(Buffer.from(p.thumbhash, 'base64'));
    assert.ok(ratio > 1.2, `ratio ${ratio}`);
  });

  test('dominant is the most common colour, not the mean', async () => {
    // 70 % red on the left, 30 % blue on the right: the mean would be purple.
    const img = await sharp(await solid(100, 50, [220, 20, 20]))
      .composite([{ input: await solid(30, 50, [20, 20, 220]), left: 70, top: 0 }])
      .png()
      .toBuffer();
    assert.deepEqual(hex((await placeholder(img)).dominant), [220, 20, 20]);
  });

  test('transparent pixels do not count towards dominant', async () => {
    // 80 % fully transparent white, one opaque green square.
    const img = await sharp(await solid(100, 100, [255, 255, 255], 0))
      .composite([{ input: await solid(45, 45, [30, 160, 60]), left: 10, top: 10 }])
      .png()
      .toBuffer();
    const p = await placeholder(img);
    assert.deepEqual(hex(p.dominant), [30, 160, 60]);
    const { rgba } = thumbHashToRGBA(Buffer.from(p.thumbhash, 'base64'));
    assert.ok(
      rgba.some((_, i) => i % 4 === 3 && rgba[i]! < 128),
      'the ThumbHash keeps transparency',
    );
  });

  test('greyscale and CMYK inputs are read as sRGB', async () => {
    for (const file of ['jpeg/grayscale-portrait.jpg', 'color/cmyk-swop-profile.jpg']) {
      const input = readFileSync(corpus(file));
      const p = await placeholder(input);
      // The reference is converted by sharp alone, as three sRGB channels.
      const reference = await sharp(input).toColourspace('srgb').png().toBuffer();
      assert.equal((await sharp(reference).metadata()).channels, 3);
      near(decodedMean(p.thumbhash), await meanColour(reference), 10, file);
    }
  });

  test('maxPixels refuses a larger input before decoding it', async () => {
    await assert.rejects(
      placeholder(readFileSync(corpus('photos/hato-pigeons.jpg')), { maxPixels: 1000 }),
      /pixel limit/,
    );
  });

  test('dominantColour: ties and an all-transparent buffer give a defined answer', () => {
    assert.equal(dominantColour(new Uint8Array([10, 20, 30, 0, 10, 20, 30, 0])), '#0a141e');
    assert.equal(dominantColour(new Uint8Array(0)), '#000000');
  });
});
