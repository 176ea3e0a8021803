// Steps that materialise the whole output (pixelate runs the resize to raw pixels, then shrinks and enlarges
// them) hold it in memory at once: the plan's estimate must count that copy, as it does for rotate.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makePlan, type SourceInfo } from '../../src/pipeline/plan.ts';
import { IDENTITY, type Transform } from '../../src/transform.ts';

const LIMITS = { maxPixels: 100_000_000, maxFrames: 500, memoryBytes: 2 ** 40, timeoutMs: 10_000 };
const PHOTO: SourceInfo = { format: 'jpeg', width: 3082, height: 2048, frames: 1, hasAlpha: false, bytes: 2_000_000 };
const cost = (over: Partial<Transform>) =>
  makePlan(
    PHOTO,
    { ...IDENTITY, width: 8000, height: 8000, enlarge: true, format: 'jpeg', ...over },
    { jxl: false, avif: true, webp: true },
    LIMITS,
  ).cost.bytes;

test('pixelate costs a whole copy of the output, like a rotation', () => {
  const plain = cost({});
  assert.ok(cost({ pixelate: 50 }) - plain >= 4 * 8000 * 8000, `${cost({ pixelate: 50 }) - plain}`);
  assert.equal(cost({ pixelate: 50 }), cost({ rotate: 180 }));
});
