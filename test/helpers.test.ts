// The test helpers measure what they say: a helper that measured the wrong thing would make other tests vacuous.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { meanColour } from './helpers.ts';

test("meanColour of a region is that region's colour, not the whole image's", async () => {
  const red = await sharp({ create: { width: 10, height: 10, channels: 3, background: '#ff0000' } })
    .png()
    .toBuffer();
  const img = await sharp({ create: { width: 20, height: 10, channels: 3, background: '#0000ff' } })
    .composite([{ input: red, left: 0, top: 0 }])
    .png()
    .toBuffer();
  const [r, g, b] = await meanColour(img, { left: 0, top: 0, width: 10, height: 10 });
  assert.ok(r > 250 && g < 5 && b < 5, `left half: ${r} ${g} ${b}`);
  const whole = await meanColour(img);
  assert.ok(Math.abs(whole[0] - 127.5) < 2 && Math.abs(whole[2] - 127.5) < 2, `whole: ${whole.join(' ')}`);
});
