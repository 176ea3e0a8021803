// kinu's SSIMULACRA 2 against the published reference pair, and its behaviour where the answer is known.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sharp, { type Sharp } from 'sharp';
import { type RgbImage, Ssimulacra2Reference, ssimulacra2 } from '../../src/pipeline/quality/ssimulacra2.ts';
import { corpus } from '../helpers.ts';

async function rgb(img: Sharp): Promise<RgbImage> {
  const { data, info } = await img.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}

describe('ssimulacra2', () => {
  test('the reference pair scores as the rust-av crate expects (17.398505)', async () => {
    // The crate's own test allows ±0.25; our distorted file is its lossless JXL twin (manifest notes).
    const [a, b] = await Promise.all([
      rgb(sharp(corpus('quality/tank-source.png'))),
      rgb(sharp(corpus('quality/tank-distorted.png'))),
    ]);
    const score = ssimulacra2(a, b);
    assert.ok(Math.abs(score - 17.398505) < 0.25, `score ${score}`);
  });

  test('an image against itself scores 100; mismatched or tiny images are refused', async () => {
    const a = await rgb(sharp(corpus('photos/jolla-leaf.jpg')).resize({ width: 200 }));
    assert.equal(ssimulacra2(a, a), 100);
    const small = await rgb(sharp(corpus('photos/jolla-leaf.jpg')).resize({ width: 100 }));
    assert.throws(() => ssimulacra2(a, small), /differ in size/);
    assert.throws(() => ssimulacra2({ ...a, width: 7, height: 7 }, a), /at least 8/);
  });

  test('heavier JPEG compression scores lower, step by step', async () => {
    const ref = sharp(corpus('photos/hato-pigeons.jpg')).resize({ width: 400 });
    const original = await rgb(ref.clone());
    const prepared = new Ssimulacra2Reference(original);
    const scores: number[] = [];
    for (const quality of [95, 80, 60, 40, 20, 5]) {
      const jpeg = await ref.clone().jpeg({ quality }).toBuffer();
      scores.push(prepared.score(await rgb(sharp(jpeg))));
    }
    for (let i = 1; i < scores.length; i++) assert.ok(scores[i]! < scores[i - 1]!, `scores ${scores.join(', ')}`);
    assert.ok(scores[0]! > 80 && scores[0]! < 100, `q95 scores ${scores[0]}`);
    assert.ok(scores[5]! < 30, `q5 scores ${scores[5]}`);
  });

  test('a prepared reference scores exactly as the one-shot function', async () => {
    const a = await rgb(sharp(corpus('photos/lunch-food.jpg')).resize({ width: 300 }));
    const jpeg = await sharp(a.data, { raw: { width: a.width, height: a.height, channels: 3 } })
      .jpeg({ quality: 50 })
      .toBuffer();
    const b = await rgb(sharp(jpeg));
    assert.equal(new Ssimulacra2Reference(a).score(b), ssimulacra2(a, b));
  });
});
