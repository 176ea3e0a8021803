// Damaged sources are the source's fault (422), never kinu's (500); and no number read from a file reaches
// an encoder option unbounded. The damaged files are built here, from corpus files, byte by byte.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Metadata } from 'sharp';
import { KinuError } from '../../src/errors.ts';
import { decodeSource, sourceInfo } from '../../src/pipeline/pipeline.ts';
import { classify } from '../../src/pipeline/sharp-errors.ts';
import { corpus, decode, tempDir, testServer } from '../helpers.ts';

/** Where each frame's LZW data starts in a GIF (after its image descriptor, colour table and code size). */
function gifFrameData(b: Buffer): number[] {
  let at = 13;
  if (b[10]! & 0x80) at += 3 * (1 << ((b[10]! & 7) + 1));
  const starts: number[] = [];
  while (at < b.length && b[at] !== 0x3b) {
    if (b[at] === 0x21) {
      // extension: label, then sub-blocks
      at += 2;
      while (b[at]) at += b[at]! + 1;
      at++;
    } else if (b[at] === 0x2c) {
      // image: descriptor, local colour table, LZW code size, sub-blocks
      const flags = b[at + 9]!;
      at += 10 + (flags & 0x80 ? 3 * (1 << ((flags & 7) + 1)) : 0) + 1;
      starts.push(at);
      while (b[at]) at += b[at]! + 1;
      at++;
    } else throw new Error(`unexpected GIF block 0x${b[at]!.toString(16)} at ${at}`);
  }
  return starts;
}

/** The offset of each ANMF chunk's payload in an animated WebP. */
function webpFrames(b: Buffer): number[] {
  const out: number[] = [];
  for (let at = 12; at + 8 <= b.length; ) {
    const len = b.readUInt32LE(at + 4);
    if (b.toString('latin1', at, at + 4) === 'ANMF') out.push(at + 8);
    at += 8 + len + (len & 1);
  }
  return out;
}

/** animated-loop-3.gif with its second frame's image data damaged: the first frame alone decodes fine. */
function gifDamagedAfterFirstFrame(): Buffer {
  const b = Buffer.from(readFileSync(corpus('gif/animated-loop-3.gif')));
  const second = gifFrameData(b)[1]!;
  b[second] = b[second]! ^ 0x55;
  return b;
}

const SLOW = 1_048_676;

/** animated-rotating-squares.webp whose second frame lasts 1,048,676 ms (ANMF duration, 24 bits at +12). */
function webpWithSlowFrame(): Buffer {
  const b = Buffer.from(readFileSync(corpus('webp/animated-rotating-squares.webp')));
  b.writeUIntLE(SLOW, webpFrames(b)[1]! + 12, 3);
  return b;
}

function serverOver(files: Record<string, Buffer>) {
  const dir = tempDir();
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
  return testServer({ KINU_SOURCE: dir, KINU_MEMORY_CACHE_MB: '0' }).app;
}

test('the damaged GIF really is damaged after its first frame only', async () => {
  const bad = gifDamagedAfterFirstFrame();
  const limits = { maxPixels: 1e8, seconds: 10 };
  await decodeSource(bad, { animated: false, ...limits });
  await assert.rejects(decodeSource(bad, { animated: true, ...limits }));
});

test('a GIF damaged after its first frame is a 422 in every step that reads all frames, even many at once', async () => {
  const app = serverOver({ 'bad.gif': gifDamagedAfterFirstFrame() });
  // libvips keeps one error buffer for all threads: under concurrency a decoder's message is often lost and
  // sharp says only "Warning treated as error due to failOn setting", which kinu used to answer with a 500.
  const queries = [
    'w=500&blur=2&sharpen=1',
    'w=100',
    'fmt=json&w=90',
    'w=300&fmt=webp',
    'blur=1',
    'w=120&fmt=gif',
    'sharpen=2&w=50',
    'w=400&h=100&fit=fill',
  ];
  const statuses: Record<string, number> = {};
  for (let round = 0; round < 10; round++) {
    const answers = await Promise.all(queries.map((q) => app.inject({ url: `/bad.gif?${q}&q=${60 + round}` })));
    for (const r of answers) {
      statuses[r.statusCode] = (statuses[r.statusCode] ?? 0) + 1;
      if (r.statusCode === 422) assert.equal(r.json().code, 'corrupt_image');
    }
  }
  assert.deepEqual(statuses, { 422: 80 });
  // Its first frame alone is sound, so what reads only that frame is served.
  const first = await app.inject({ url: '/bad.gif?anim=0&w=100' });
  assert.equal(first.statusCode, 200, first.body);
  const meta = await decode(first.rawPayload);
  assert.deepEqual([meta.format, meta.width, meta.pages ?? 1], ['gif', 100, 1]);
});

test("failOn's fixed text names nothing: the source alone is decoded to judge it", async () => {
  // sharp says it when libvips' shared error buffer was empty, which another thread's failure can cause.
  const lost = new Error('Warning treated as error due to failOn setting');
  const bad = gifDamagedAfterFirstFrame();
  const limits = { maxPixels: 1e8, seconds: 10 };
  const e = await classify(lost, () => decodeSource(bad, { animated: true, ...limits }), bad);
  assert.ok(e instanceof KinuError && e.code === 'corrupt_image', String(e));
  const good = readFileSync(corpus('gif/animated-loop-3.gif'));
  assert.equal(await classify(lost, () => decodeSource(good, { animated: true, ...limits }), good), lost);
});

test('an unnamed failure is judged against the frames the pipeline read, not the first alone', async () => {
  const bad = gifDamagedAfterFirstFrame();
  const unnamed = new Error('something libvips said');
  const limits = { maxPixels: 1e8, seconds: 10 };
  const all = await classify(unnamed, () => decodeSource(bad, { animated: true, ...limits }));
  assert.ok(all instanceof KinuError && all.code === 'corrupt_image', String(all));
  // Had only the first frame been read, the source is not to blame: the error stays kinu's (a 500).
  assert.equal(await classify(unnamed, () => decodeSource(bad, { animated: false, ...limits })), unnamed);
});

test('a frame delay beyond what encoders write is clamped, and the animation served', async () => {
  const app = serverOver({ 'slow.webp': webpWithSlowFrame() });
  const original = await decode(readFileSync(corpus('webp/animated-rotating-squares.webp')));
  for (const fmt of ['webp', 'gif']) {
    const r = await app.inject({ url: `/slow.webp?w=200&enlarge=1&fmt=${fmt}` });
    assert.equal(r.statusCode, 200, `${fmt}: ${r.body}`);
    const meta = await decode(r.rawPayload);
    assert.deepEqual([meta.format, meta.width, meta.pages], [fmt, 200, 9]);
    const delay = meta.delay!;
    // GIF counts in hundredths of a second, so 65535 ms comes back rounded to 65540.
    assert.ok(delay[1]! >= 65530 && delay[1]! <= 65540, `${fmt}: the long frame is clamped: ${delay[1]}`);
    assert.deepEqual(
      [delay[0], ...delay.slice(2)],
      [original.delay![0], ...original.delay!.slice(2)],
      `${fmt}: other frames keep their delays`,
    );
  }
});

test('sourceInfo bounds every number the encoders are given', () => {
  const meta = (m: Partial<Metadata>) => ({ format: 'webp', width: 10, height: 10, ...m }) as Metadata;
  const a = sourceInfo(meta({ pages: 4, delay: [SLOW, -5, Number.NaN], loop: 2 ** 32 - 1 }));
  assert.deepEqual(a.delay, [65535, 0, 0, 0], 'one delay per frame, each within 0–65535');
  assert.equal(a.loop, undefined, 'a play count no encoder option takes is dropped');
  assert.equal(a.frames, 4);
  const b = sourceInfo(meta({ pages: 0, delay: [100], loop: 3 }));
  assert.deepEqual([b.frames, b.delay, b.loop], [1, undefined, undefined], 'no animation, no timing');
  // Orientation outside EXIF's 1–8 does not turn the box (libvips does not turn the pixels either).
  const c = sourceInfo({ format: 'jpeg', width: 30, height: 10, orientation: 9 } as Metadata);
  assert.deepEqual([c.width, c.height], [30, 10]);
  const d = sourceInfo({ format: 'jpeg', width: 30, height: 10, orientation: 6 } as Metadata);
  assert.deepEqual([d.width, d.height], [10, 30]);
});

test("a source failing without a named cause is decoded again: libvips' process-wide error buffer can lose the name", async () => {
  // What a concurrent failure does to sharp's message: emptied ('Unknown error') or another file's text.
  const ojpeg = new Error('tiff2vips: Old-style JPEG compression support is not configured');
  const answers = [new Error('Unknown error'), ojpeg, ojpeg];
  let calls = 0;
  const named = await classify(
    new Error('Unknown error'),
    async () => {
      throw answers[calls++]!;
    },
    readFileSync(corpus('tiff/old-style-jpeg.tif')),
  );
  assert.ok(named instanceof KinuError && named.code === 'unsupported_format', String(named));
  assert.equal(calls, 3, 'a cause heard once is confirmed by a second reading');
  // A source that never says why is damaged, after three decodes.
  calls = 0;
  const damaged = await classify(new Error('Unknown error'), async () => {
    calls++;
    throw new Error('Unknown error');
  });
  assert.ok(damaged instanceof KinuError && damaged.code === 'corrupt_image', String(damaged));
  assert.equal(calls, 3);
  // A source that decodes at once is not to blame, and is decoded once.
  calls = 0;
  const odd = new Error('something libvips said');
  assert.equal(
    await classify(odd, async () => {
      calls++;
    }),
    odd,
  );
  assert.equal(calls, 1);
});

test("another file's words in libvips' shared error buffer do not decide: two readings must agree", async () => {
  const tiff = readFileSync(corpus('tiff/old-style-jpeg.tif'));
  const png = readFileSync(corpus('corrupt/truncated.png'));
  const ojpeg = new Error('tiff2vips: Old-style JPEG compression support is not configured');
  const pngSays = new Error('vipspng: libpng read error');
  const counted = (answer: Error) => {
    const d = { calls: 0, decode: async () => {} };
    d.decode = async () => {
      d.calls++;
      throw answer;
    };
    return d;
  };
  // The TIFF's pipeline heard a PNG's failure: a line another decoder signed is not read at all.
  let d = counted(ojpeg);
  const stolen = await classify(pngSays, d.decode, tiff);
  assert.ok(stolen instanceof KinuError && stolen.code === 'unsupported_format', String(stolen));
  assert.equal(d.calls, 2, "two decodes of the TIFF alone agree; the PNG's words counted for nothing");
  // The other way round: the PNG's message mixed with the TIFF's is still the PNG's.
  d = counted(pngSays);
  const mixed = await classify(new Error(`${ojpeg.message}\n${pngSays.message}`), d.decode, png);
  assert.ok(mixed instanceof KinuError && mixed.code === 'corrupt_image', String(mixed));
  assert.equal(d.calls, 1);
  // Words no decoder signed settle a cause only when three readings agree, and lose to one signed reading.
  d = counted(new Error('Input buffer has corrupt header: '));
  const unsigned = await classify(new Error('Input buffer has corrupt header: '), d.decode, tiff);
  assert.ok(unsigned instanceof KinuError && unsigned.code === 'corrupt_image', String(unsigned));
  assert.equal(d.calls, 2);
  const answers = [new Error('premature end of data'), ojpeg, new Error('premature end of data')];
  let calls = 0;
  const outweighed = await classify(
    new Error('premature end of data'),
    async () => {
      throw answers[calls++]!;
    },
    tiff,
  );
  assert.ok(outweighed instanceof KinuError && outweighed.code === 'unsupported_format', String(outweighed));
  assert.equal(calls, 3);
});

test('the corpus refusals keep their status with many pipelines failing at once', async () => {
  // Run with more pipelines than cores so their failures overlap in libvips' shared error buffer.
  const { app } = testServer({ KINU_CONCURRENCY: '8', KINU_TIMEOUT: '60' });
  try {
    const files: [string, number][] = [
      ['tiff/old-style-jpeg.tif', 415],
      ['corrupt/truncated.png', 422],
      ['corrupt/corrupt-header.jpg', 422],
      ['corrupt/truncated.gif', 422],
      ['png/pngsuite/xd0n2c08.png', 422],
      ['png/pngsuite/xcsn0g01.png', 422],
      ['corrupt/camera-jpeg-corrupt-data.jpg', 422],
      ['corrupt/truncated-bluesquare.jpg', 422],
    ];
    for (let round = 0; round < 6; round++) {
      const got = await Promise.all(
        files.map(async ([f, want]) => {
          const r = await app.inject({ url: `/${f}?w=${90 + round}` });
          return `${f} ${r.statusCode === want ? 'ok' : r.statusCode}`;
        }),
      );
      assert.deepEqual(
        got,
        files.map(([f]) => `${f} ok`),
      );
    }
  } finally {
    await app.close();
  }
});
