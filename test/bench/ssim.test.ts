// The quality bench's SSIM against values known in closed form: the formula of Wang et al. 2004 evaluated by hand
// on pairs whose windowed means and variances are known exactly.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ssim } from '../../bench/ssim.ts';

const C1 = (0.01 * 255) ** 2;
const C2 = (0.03 * 255) ** 2;

function image(w: number, h: number, f: (x: number, y: number) => number) {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.fill(f(x, y), (y * w + x) * 3, (y * w + x) * 3 + 3);
  return { data, width: w, height: h, channels: 3 };
}

test('an image against itself scores 1', () => {
  const a = image(64, 48, (x, y) => (x * 7 + y * 13) % 256);
  assert.equal(ssim(a, a), 1);
});

test('two flat greys: (2ab + C1) / (a² + b² + C1), the variance terms cancel', () => {
  const got = ssim(
    image(32, 32, () => 100),
    image(32, 32, () => 140),
  );
  assert.ok(Math.abs(got - (2 * 100 * 140 + C1) / (100 ** 2 + 140 ** 2 + C1)) < 1e-12, String(got));
});

test('stripes against inverted stripes about the same mean: luminance 1, structure (C2 − 2σ²) / (2σ² + C2)', () => {
  // Vertical stripes of period 2 (value m ± d): every window's weights are symmetric, so its mean sits at m
  // up to the odd column (exactly computed below) — an 11-tap window over period 2 puts 6 columns on one phase.
  const m = 128;
  const d = 40;
  const a = image(40, 40, (x) => (x % 2 ? m + d : m - d));
  const b = image(40, 40, (x) => (x % 2 ? m - d : m + d));
  // The Gaussian's weights on odd and even offsets, for the windowed mean of a phase.
  const k = Array.from({ length: 11 }, (_, i) => Math.exp(-((i - 5) ** 2) / 4.5));
  const s = k.reduce((p, q) => p + q, 0);
  const even = k.filter((_, i) => i % 2 === 0).reduce((p, q) => p + q, 0) / s; // the centre column's phase
  // Windows centred on an odd or even column alternate; each side's mean and variance in closed form.
  let sum = 0;
  for (const centreOdd of [true, false]) {
    const ua = centreOdd ? m + d * (2 * even - 1) : m - d * (2 * even - 1);
    const ub = 2 * m - ua;
    const va = d * d - (ua - m) ** 2;
    const cov = -va;
    sum += ((2 * ua * ub + C1) * (2 * cov + C2)) / ((ua * ua + ub * ub + C1) * (2 * va + C2));
  }
  const got = ssim(a, b);
  // 30 valid columns: half of each phase.
  assert.ok(Math.abs(got - sum / 2) < 1e-9, `${got} vs ${sum / 2}`);
  assert.ok(got < 0, 'inverted structure scores below 0');
});
