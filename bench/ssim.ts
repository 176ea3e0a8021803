// SSIM (Wang, Bovik, Sheikh, Simoncelli 2004, "Image quality assessment: from error visibility to structural
// similarity"), as their reference ssim.m computes it: luma (BT.601 from 8-bit sRGB), an 11×11 Gaussian window of
// σ 1.5, K1 0.01, K2 0.03, L 255, valid windows only, the mean over them. No downsampling (ssim.m's automatic
// scale factor is an optional step of its later version). For the quality bench; test/bench/ssim.test.ts checks it.
export interface Rgb8 {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
}

const RADIUS = 5;
const KERNEL = (() => {
  const k = Array.from({ length: 2 * RADIUS + 1 }, (_, i) => Math.exp(-((i - RADIUS) ** 2) / (2 * 1.5 ** 2)));
  const sum = k.reduce((a, b) => a + b, 0);
  return k.map((v) => v / sum);
})();

export function luma(img: Rgb8): Float64Array {
  const n = img.width * img.height;
  const out = new Float64Array(n);
  const c = img.channels;
  for (let i = 0; i < n; i++) {
    const j = i * c;
    out[i] = c < 3 ? img.data[j]! : 0.299 * img.data[j]! + 0.587 * img.data[j + 1]! + 0.114 * img.data[j + 2]!;
  }
  return out;
}

/** The Gaussian-weighted mean of `v` over each valid 11×11 window: (w−10)×(h−10) values. */
function filter(v: Float64Array, w: number, h: number): Float64Array {
  const ow = w - 2 * RADIUS;
  const oh = h - 2 * RADIUS;
  const rows = new Float64Array(ow * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let k = 0; k < KERNEL.length; k++) s += KERNEL[k]! * v[y * w + x + k]!;
      rows[y * ow + x] = s;
    }
  const out = new Float64Array(ow * oh);
  for (let y = 0; y < oh; y++)
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let k = 0; k < KERNEL.length; k++) s += KERNEL[k]! * rows[(y + k) * ow + x]!;
      out[y * ow + x] = s;
    }
  return out;
}

/** Mean SSIM of two images of the same size (at least 11×11), on luma. */
export function ssim(a: Rgb8, b: Rgb8): number {
  if (a.width !== b.width || a.height !== b.height) throw new RangeError('ssim: images differ in size');
  const { width: w, height: h } = a;
  if (w < 11 || h < 11) throw new RangeError('ssim: images must be at least 11×11');
  const x = luma(a);
  const y = luma(b);
  const n = w * h;
  const xx = new Float64Array(n);
  const yy = new Float64Array(n);
  const xy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    xx[i] = x[i]! * x[i]!;
    yy[i] = y[i]! * y[i]!;
    xy[i] = x[i]! * y[i]!;
  }
  const [mx, my, sxx, syy, sxy] = [x, y, xx, yy, xy].map((v) => filter(v, w, h)) as Float64Array[];
  const C1 = (0.01 * 255) ** 2;
  const C2 = (0.03 * 255) ** 2;
  let sum = 0;
  for (let i = 0; i < mx!.length; i++) {
    const ux = mx![i]!;
    const uy = my![i]!;
    const vx = sxx![i]! - ux * ux;
    const vy = syy![i]! - uy * uy;
    const cov = sxy![i]! - ux * uy;
    sum += ((2 * ux * uy + C1) * (2 * cov + C2)) / ((ux * ux + uy * uy + C1) * (vx + vy + C2));
  }
  return sum / mx!.length;
}
