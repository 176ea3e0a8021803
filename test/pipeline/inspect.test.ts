// inspectImage, the gate every upload passes: every corpus file the manifest says kinu serves is accepted and
// described as the manifest measured it; every one it says kinu refuses is refused with that status.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import sharp from 'sharp';
import { KinuError } from '../../src/errors.ts';
import { FORMAT_TABLE } from '../../src/formats.ts';
import { EXTENSIONS, inspectImage } from '../../src/pipeline/inspect.ts';
import { CORPUS, corpus } from '../helpers.ts';

const LIMITS = { maxPixels: 100_000_000, maxFrames: 500 };

interface Entry {
  file: string;
  bytes?: number;
  format?: string;
  expect?: {
    status?: number | number[];
    displayWidth?: number;
    displayHeight?: number;
    hasAlpha?: boolean;
    exifOrientation?: number;
    frames?: number;
  };
  measured?: {
    format?: string;
    compression?: string;
    space?: string;
    pages?: number;
    hasProfile?: boolean;
    orientation?: number;
    autoOrient?: { width: number; height: number };
  };
}
const manifest = JSON.parse(readFileSync(`${CORPUS}/manifest.json`, 'utf8')) as Entry[];
const images = manifest.filter((e) => e.expect?.status !== undefined);

async function refusal(body: Buffer, limits = LIMITS): Promise<KinuError> {
  try {
    await inspectImage(body, limits, { timeoutSeconds: 30 });
  } catch (err) {
    assert.ok(err instanceof KinuError, `expected a KinuError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a refusal');
}

test('every corpus image kinu serves is accepted and described as measured', async () => {
  const served = images.filter((e) => e.expect!.status === 200);
  assert.ok(served.length > 100, `only ${served.length} images`);
  for (const e of served) {
    const body = readFileSync(corpus(e.file));
    const info = await inspectImage(body, LIMITS).catch((err: unknown) => assert.fail(`${e.file}: ${String(err)}`));
    // Files sharp cannot read (kinu's own decoders: BMP, ICO, JPEG XL) have no sharp reading in the manifest.
    const m = e.measured ?? { format: e.format! };
    const format = m.format === 'heif' ? (m.compression === 'hevc' ? 'heic' : 'avif') : m.format;
    assert.equal(info.format, format, e.file);
    assert.ok(EXTENSIONS[info.format]!.includes(info.ext), `${e.file}: ext ${info.ext}`);
    assert.equal(info.bytes, body.length, e.file);
    // Pages are frames only where the format table says so (GIF, WebP, JPEG XL); elsewhere the first is read.
    const animates = (FORMAT_TABLE as Record<string, { frames?: boolean }>)[info.format]?.frames === true;
    const frames = e.expect!.frames ?? (animates ? (m.pages ?? 1) : 1);
    assert.equal(info.frames, frames, `${e.file}: frames`);
    if (e.expect!.displayWidth !== undefined && frames === 1) {
      assert.deepEqual(
        [info.width, info.height],
        [e.expect!.displayWidth, e.expect!.displayHeight],
        `${e.file}: size after orientation`,
      );
    }
    if (e.expect!.hasAlpha !== undefined) assert.equal(info.hasAlpha, e.expect!.hasAlpha, `${e.file}: alpha`);
    assert.equal(info.orientation, m.orientation ?? 1, `${e.file}: orientation`);
    if (m.space !== undefined) assert.equal(info.space, m.space, `${e.file}: space`);
    if (m.hasProfile !== undefined) assert.equal(info.hasIcc, m.hasProfile, `${e.file}: ICC`);
  }
});

test('every corpus image kinu refuses is refused with the manifest status', async () => {
  const refused = images.filter((e) => e.expect!.status !== 200);
  assert.ok(refused.length > 20);
  for (const e of refused) {
    const err = await refusal(readFileSync(corpus(e.file)));
    const allowed = ([] as number[]).concat(e.expect!.status!);
    assert.ok(
      allowed.includes(err.status),
      `${e.file}: ${err.status} ${err.code} (${err.detail}), expected ${allowed.join(' or ')}`,
    );
  }
});

test('the pixel limit is checked from the header, frames counted; the frame limit too', async () => {
  const gif = readFileSync(corpus('gif/animated-loop-3.gif')); // 370×285×10
  assert.equal((await inspectImage(gif, { maxPixels: 370 * 285 * 10, maxFrames: 10 })).frames, 10);
  assert.equal((await refusal(gif, { maxPixels: 370 * 285 * 10 - 1, maxFrames: 10 })).code, 'too_many_pixels');
  assert.equal((await refusal(gif, { maxPixels: 1e9, maxFrames: 9 })).code, 'too_many_frames');
  // 268 Mpx declared in 33 kB: refused without decoding a row.
  assert.equal((await refusal(readFileSync(corpus('bombs/png-16384x16384.png')))).code, 'too_many_pixels');
});

test('bytes cut anywhere after the header are corrupt_image; empty and text are unsupported_format', async () => {
  const jpeg = readFileSync(corpus('metadata/gps-nikon.jpg'));
  const png = readFileSync(corpus('png/alpha-photo-blackbug.png'));
  const webp = readFileSync(corpus('webp/lossy-photo.webp'));
  for (const [name, body] of [
    ['jpeg', jpeg],
    ['png', png],
    ['webp', webp],
  ] as const) {
    for (const fraction of [0.25, 0.5, 0.9]) {
      const err = await refusal(body.subarray(0, Math.floor(body.length * fraction)));
      assert.equal(err.code, 'corrupt_image', `${name} cut at ${fraction}: ${err.code}`);
    }
  }
  assert.equal((await refusal(Buffer.alloc(0))).code, 'unsupported_format');
  assert.equal((await refusal(Buffer.from('just some text, not a picture'))).code, 'unsupported_format');
});

test('a generated image is described exactly', async () => {
  const body = await sharp({
    create: { width: 40, height: 30, channels: 4, background: { r: 10, g: 20, b: 30, alpha: 0.5 } },
  })
    .webp({ lossless: true })
    .toBuffer();
  const info = await inspectImage(body, LIMITS);
  assert.deepEqual(
    { ...info },
    {
      width: 40,
      height: 30,
      format: 'webp',
      ext: 'webp',
      mime: 'image/webp',
      bytes: body.length,
      orientation: 1,
      hasAlpha: true,
      frames: 1,
      space: 'srgb',
      hasIcc: false,
      bitDepth: 8,
    },
  );
  const rotated = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#808080' } })
    .jpeg()
    .withMetadata({ orientation: 8 })
    .toBuffer();
  const r = await inspectImage(rotated, LIMITS);
  assert.deepEqual([r.width, r.height, r.orientation, r.ext, r.mime], [30, 40, 8, 'jpg', 'image/jpeg']);
});
