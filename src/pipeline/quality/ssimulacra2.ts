// SSIMULACRA 2 (Jon Sneyers, Cloudinary, 2022; the April 2023 weights): the perceptual metric libjxl and
// libavif are tuned with, 100 = identical, ~90 visually lossless, ~70 high quality, ~50 medium, ≤ 30 low.
// Written from the published algorithm (libjxl tools/ssimulacra2.cc, the rust-av `ssimulacra2` crate): linear
// RGB halved 6 times; at each scale XYB, an SSIM map and two edge maps (ringing, blurring), each averaged
// with a 1-norm and a 4-norm per channel; a weighted sum of those 108 numbers through a final polynomial.
// No npm package implements it (checked December 2026); validated in test/pipeline/ssimulacra2.test.ts.

/** 8-bit sRGB pixels, 3 (RGB) or 4 (RGBA, alpha ignored: flatten first) channels. */
export interface RgbImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels: 3 | 4;
}

const NUM_SCALES = 6;
const C2 = 0.0009;

/** The SSIMULACRA 2 score of `distorted` against `original` (same size, at least 8×8). */
export function ssimulacra2(original: RgbImage, distorted: RgbImage): number {
  return new Ssimulacra2Reference(original).score(distorted);
}

type Planes = [Float32Array, Float32Array, Float32Array];

/** What the original contributes at one scale, computed once however many candidates are scored against it. */
interface ReferenceScale {
  readonly w: number;
  readonly h: number;
  readonly xyb: Planes;
  readonly mu: Planes;
  /** Per channel, whether its SSIM terms, or any of its terms, weigh anything at this scale (else skipped). */
  readonly ssim: readonly boolean[];
  readonly edge: readonly boolean[];
  readonly any: readonly boolean[];
  readonly sigma: Planes;
  /** Per channel with edge terms, the original's half of the edge ratio, 1 + |xyb − mu| (a division, not a
   *  product by its inverse, so that identical images score exactly 100). */
  readonly flat: readonly Float64Array[];
  /** The candidate's planes at this scale, allocated once and reused by every score() (q=auto's trials): spares
   *  about 3.5 MB of zeroed allocation per trial at 65K px (CPU within the machine's noise; less GC churn). */
  readonly scratch: Scratch;
}

interface Scratch {
  readonly lin: Float32Array;
  readonly xyb: Planes;
  readonly blur: RecursiveGaussian;
  readonly prod: Float32Array;
  readonly mu2: Float32Array;
  readonly s22: Float32Array;
  readonly s12: Float32Array;
}

function scratchOf(w: number, h: number): Scratch {
  const n = w * h;
  const plane = () => new Float32Array(n);
  return {
    lin: new Float32Array(n * 3),
    xyb: [plane(), plane(), plane()],
    blur: new RecursiveGaussian(w, h),
    prod: plane(),
    mu2: plane(),
    s22: plane(),
    s12: plane(),
  };
}

const EMPTY = new Float32Array(0);

/** How many scales an image of this size has: halved while both sides stay at least 8. */
function scaleCount(w: number, h: number): number {
  let n = 0;
  for (; n < NUM_SCALES && w >= 8 && h >= 8; n++) {
    w = (w + 1) >> 1;
    h = (h + 1) >> 1;
  }
  return n;
}

/** Whether channel `c` at `scale` weighs anything (its SSIM terms, any of its terms), indexed as in finalScore:
 *  weights at most `floor` count as none. */
function weighs(
  scales: number,
  c: number,
  scale: number,
  floor: number,
): { ssim: boolean; edge: boolean; any: boolean } {
  const w = WEIGHTS.slice((c * scales + scale) * 2 * 3, ((c * scales + scale) * 2 + 2) * 3);
  const ssim = w[0]! > floor || w[3]! > floor;
  const edge = [1, 2, 4, 5].some((i) => w[i]! > floor);
  return { ssim, edge, any: ssim || edge };
}

/**
 * An original prepared for scoring several encodings of it (q=auto's trials): its half of the work is done once.
 * `approximate` skips the terms weighted 0.01 or less (every norm is below 1, so together they move the sum by a
 * few hundredths of a point; see the test): at 1:1 only Y is left, which is most of the pixels, so about half the
 * work goes (and B's cube roots there, and the coarsest scale, where nothing is left). Exact (the default) skips
 * only the terms weighted 0.
 */
export class Ssimulacra2Reference {
  private readonly scales: ReferenceScale[] = [];
  readonly width: number;
  readonly height: number;

  constructor(original: RgbImage, opts: { approximate?: boolean } = {}) {
    if (original.width < 8 || original.height < 8) throw new RangeError('ssimulacra2: images must be at least 8×8');
    this.width = original.width;
    this.height = original.height;
    let lin = toLinear(original);
    let w = original.width;
    let h = original.height;
    const scales = scaleCount(w, h);
    for (let scale = 0; scale < scales; scale++) {
      if (scale > 0) {
        lin = halve(lin, w, h);
        w = (w + 1) >> 1;
        h = (h + 1) >> 1;
      }
      const floor = opts.approximate ? 0.01 : 0;
      const weight = [0, 1, 2].map((c) => weighs(scales, c, scale, floor));
      const ssim = weight.map((x) => x.ssim);
      const edge = weight.map((x) => x.edge);
      const any = weight.map((x) => x.any);
      const xyb = toXyb(lin, w * h, undefined, any[2]!);
      const blur = new RecursiveGaussian(w, h);
      const mu = xyb.map((p, c) => (any[c] ? blur.apply(p) : EMPTY)) as Planes;
      const sigma = xyb.map((p, c) => (ssim[c] ? blur.apply(square(p)) : EMPTY)) as Planes;
      const flat = xyb.map((p, c) => {
        if (!edge[c]) return new Float64Array(0);
        const m = mu[c]!;
        const f = new Float64Array(p.length);
        for (let i = 0; i < f.length; i++) f[i] = 1 + Math.abs(p[i]! - m[i]!);
        return f;
      });
      this.scales.push({ w, h, xyb, mu, sigma, flat, ssim, edge, any, scratch: scratchOf(w, h) });
    }
  }

  score(distorted: RgbImage): number {
    if (distorted.width !== this.width || distorted.height !== this.height)
      throw new RangeError('ssimulacra2: the images differ in size');
    const sums: number[][] = [];
    for (let i = 0; i < this.scales.length; i++) {
      const ref = this.scales[i]!;
      const { lin, xyb } = ref.scratch;
      if (i === 0) toLinear(distorted, lin);
      else halve(this.scales[i - 1]!.scratch.lin, this.scales[i - 1]!.w, this.scales[i - 1]!.h, lin);
      // A scale where nothing weighs (the coarsest, approximately) needs only its halving, for the next one.
      if (!ref.any.some(Boolean)) sums.push(new Array(18).fill(0));
      else sums.push(scaleScores(ref, toXyb(lin, ref.w * ref.h, xyb, ref.any[2]!)));
    }
    return finalScore(sums);
  }
}

function square(p: Float32Array): Float32Array {
  const out = new Float32Array(p.length);
  for (let i = 0; i < p.length; i++) out[i] = p[i]! * p[i]!;
  return out;
}

// sRGB → linear, one entry per 8-bit level.
const LINEAR = new Float32Array(256).map((_, i) => {
  const v = i / 255;
  return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
});

/** Interleaved linear RGB, 3 floats a pixel. */
function toLinear(img: RgbImage, out: Float32Array = new Float32Array(img.width * img.height * 3)): Float32Array {
  const n = img.width * img.height;
  const { data, channels } = img;
  for (let i = 0, j = 0; i < n; i++, j += channels) {
    out[i * 3] = LINEAR[data[j]!]!;
    out[i * 3 + 1] = LINEAR[data[j + 1]!]!;
    out[i * 3 + 2] = LINEAR[data[j + 2]!]!;
  }
  return out;
}

/** 2×2 box average; an odd last row or column averages with itself (edge replicated). */
function halve(
  src: Float32Array,
  w: number,
  h: number,
  out: Float32Array = new Float32Array(((w + 1) >> 1) * ((h + 1) >> 1) * 3),
): Float32Array {
  const ow = (w + 1) >> 1;
  const oh = (h + 1) >> 1;
  for (let oy = 0; oy < oh; oy++) {
    const y0 = oy * 2;
    const y1 = Math.min(y0 + 1, h - 1);
    for (let ox = 0; ox < ow; ox++) {
      const x0 = ox * 2;
      const x1 = Math.min(x0 + 1, w - 1);
      const a = (y0 * w + x0) * 3;
      const b = (y0 * w + x1) * 3;
      const c = (y1 * w + x0) * 3;
      const d = (y1 * w + x1) * 3;
      const o = (oy * ow + ox) * 3;
      out[o] = (src[a]! + src[b]! + src[c]! + src[d]!) * 0.25;
      out[o + 1] = (src[a + 1]! + src[b + 1]! + src[c + 1]! + src[d + 1]!) * 0.25;
      out[o + 2] = (src[a + 2]! + src[b + 2]! + src[c + 2]! + src[d + 2]!) * 0.25;
    }
  }
  return out;
}

// libjxl's opsin absorbance matrix and bias (XYB as JPEG XL defines it).
const M = [
  [0.3, 0.622, 0.078],
  [0.23, 0.692, 0.078],
  [0.24342268924547819, 0.20476744424496821, 0.5518098665095535],
] as const;
const BIAS = 0.0037930732552754493;
const CBRT_BIAS = Math.cbrt(BIAS);

// Cube root from the float's bits and two Newton steps (relative error < 2e-6, under float32's own rounding of
// the planes): Math.cbrt was a fifth of the metric's time, three calls a pixel.
const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
function cbrt(x: number): number {
  F32[0] = x;
  U32[0] = Math.floor(U32[0]! / 3) + 709921077;
  let y = F32[0]!;
  y -= (y * y * y - x) / (3 * y * y);
  y -= (y * y * y - x) / (3 * y * y);
  return y;
}

/** Linear RGB → three planes of XYB, shifted and scaled into about 0..1 (X·14+0.42, Y+0.01, B−Y+0.55); without
 *  `withB` the B plane is left as it is, which spares a third of the cube roots where B weighs nothing (1:1). */
function toXyb(lin: Float32Array, n: number, out?: Planes, withB = true): Planes {
  const [X, Y, B] = out ?? [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  // The matrix as locals: read from the nested array in the loop, it cost a quarter more.
  const [[m00, m01, m02], [m10, m11, m12], [m20, m21, m22]] = M;
  for (let i = 0; i < n; i++) {
    const r = lin[i * 3]!;
    const g = lin[i * 3 + 1]!;
    const b = lin[i * 3 + 2]!;
    const l = cbrt(m00 * r + m01 * g + m02 * b + BIAS) - CBRT_BIAS;
    const m = cbrt(m10 * r + m11 * g + m12 * b + BIAS) - CBRT_BIAS;
    const y = 0.5 * (l + m);
    X[i] = 0.5 * (l - m) * 14 + 0.42;
    Y[i] = y + 0.01;
    if (withB) B[i] = cbrt(m20 * r + m21 * g + m22 * b + BIAS) - CBRT_BIAS - y + 0.55;
  }
  return [X, Y, B];
}

/** The 18 averages of one scale: per channel, SSIM (1-, 4-norm), ringing (1-, 4-norm), blurring (1-, 4-norm). */
function scaleScores(ref: ReferenceScale, b: Planes): number[] {
  const { w, h } = ref;
  const n = w * h;
  const { blur, prod } = ref.scratch;
  const out: number[] = [];
  for (let c = 0; c < 3; c++) {
    if (!ref.any[c]) {
      out.push(0, 0, 0, 0, 0, 0);
      continue;
    }
    const p1 = ref.xyb[c]!;
    const mu1 = ref.mu[c]!;
    const s11 = ref.sigma[c]!;
    const p2 = b[c]!;
    const mu2 = blur.apply(p2, ref.scratch.mu2);
    let ssim1 = 0;
    let ssim4 = 0;
    if (ref.ssim[c]) {
      for (let i = 0; i < n; i++) prod[i] = p2[i]! * p2[i]!;
      const s22 = blur.apply(prod, ref.scratch.s22);
      for (let i = 0; i < n; i++) prod[i] = p1[i]! * p2[i]!;
      const s12 = blur.apply(prod, ref.scratch.s12);
      for (let i = 0; i < n; i++) {
        const m1 = mu1[i]!;
        const m2 = mu2[i]!;
        const diff = m1 - m2;
        // SSIM without its luminance denominator: XYB is already perceptually scaled, so errors in the darks
        // need no extra weight; 1 − SSIM makes it an error, which a 4-norm can then emphasise.
        const numM = 1 - diff * diff;
        const numS = 2 * (s12[i]! - m1 * m2) + C2;
        const denS = s11[i]! - m1 * m1 + (s22[i]! - m2 * m2) + C2;
        const d = Math.max(0, 1 - (numM * numS) / denS);
        ssim1 += d;
        ssim4 += d * d * d * d;
      }
    }
    let ring1 = 0;
    let ring4 = 0;
    let blur1 = 0;
    let blur4 = 0;
    const flat = ref.flat[c]!;
    for (let i = 0; i < flat.length; i++) {
      // > 0: the distorted image has an edge where the original is smooth (ringing, blocking, banding);
      // < 0: the original has an edge the distorted one lost (blurring, smearing).
      const e = (1 + Math.abs(p2[i]! - mu2[i]!)) / flat[i]! - 1;
      if (e > 0) {
        ring1 += e;
        ring4 += e * e * e * e;
      } else {
        blur1 -= e;
        blur4 += e * e * e * e;
      }
    }
    out.push(ssim1 / n, Math.sqrt(Math.sqrt(ssim4 / n)));
    out.push(ring1 / n, Math.sqrt(Math.sqrt(ring4 / n)), blur1 / n, Math.sqrt(Math.sqrt(blur4 / n)));
  }
  return out;
}

// The published weights: index = ((channel × scales + scale) × 2 + norm) × 3 + map, map = SSIM, ringing,
// blurring. With fewer than 6 scales (a side under 256 px) the index runs on, as the reference does.
const WEIGHTS = [
  0.0, 0.0007376606707406586, 0.0, 0.0, 0.0007793481682867309, 0.0, 0.0, 0.0004371155730107379, 0.0, 1.1041726426657346,
  0.00066284834129271, 0.00015231632783718752, 0.0, 0.0016406437456599754, 0.0, 1.8422455520539298, 11.441172603757666,
  0.0, 0.0007989109436015163, 0.000176816438078653, 0.0, 1.8787594979546387, 10.94906990605142, 0.0,
  0.0007289346991508072, 0.9677937080626833, 0.0, 0.00014003424285435884, 0.9981766977854967, 0.00031949755934435053,
  0.0004550992113792063, 0.0, 0.0, 0.0013648766163243398, 0.0, 0.0, 0.0, 0.0, 0.0, 7.466890328078848, 0.0,
  17.445833984131262, 0.0006235601634041466, 0.0, 0.0, 6.683678146179332, 0.00037724407979611296, 1.027889937768264,
  225.20515300849274, 0.0, 0.0, 19.213238186143016, 0.0011401524586618361, 0.001237755635509985, 176.39317598450694,
  0.0, 0.0, 24.43300999870476, 0.28520802612117757, 0.0004485436923833408, 0.0, 0.0, 0.0, 34.77906344483772,
  44.835625328877896, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0008680556573291698, 0.0, 0.0, 0.0, 0.0, 0.0,
  0.0005313191874358747, 0.0, 0.00016533814161379112, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0004179171803251336,
  0.0017290828234722833, 0.0, 0.0020827005846636437, 0.0, 0.0, 8.826982764996862, 23.19243343998926, 0.0,
  95.1080498811086, 0.9863978034400682, 0.9834382792465353, 0.0012286405048278493, 171.2667255897307,
  0.9807858872435379, 0.0, 0.0, 0.0, 0.0005130064588990679, 0.0, 0.00010854057858411537,
];

function finalScore(scales: number[][]): number {
  let sum = 0;
  let i = 0;
  for (let c = 0; c < 3; c++) {
    for (const s of scales) {
      for (let norm = 0; norm < 2; norm++) {
        sum += WEIGHTS[i++]! * Math.abs(s[c * 6 + norm]!);
        sum += WEIGHTS[i++]! * Math.abs(s[c * 6 + 2 + norm]!);
        sum += WEIGHTS[i++]! * Math.abs(s[c * 6 + 4 + norm]!);
      }
    }
  }
  let x = sum * 0.9562382616834844;
  x = 2.326765642916932 * x - 0.020884521182843837 * x * x + 6.248496625763138e-5 * x * x * x;
  return x > 0 ? 100 - 10 * x ** 0.6276336467831387 : 100;
}

/**
 * Gaussian blur, sigma 1.5, as a recursive filter (Charalampidis 2016, "Recursive implementation of the
 * Gaussian filter using truncated cosine functions"): three second-order recursions per pass, cost
 * independent of sigma; outside the image counts as 0, as in the reference.
 */
class RecursiveGaussian {
  private readonly tmp: Float32Array;
  constructor(
    private readonly w: number,
    private readonly h: number,
  ) {
    this.tmp = new Float32Array(w * h);
  }

  /** Blurs `src` into `out` (a new plane unless given; not `src` itself). */
  apply(src: Float32Array, out: Float32Array = new Float32Array(this.w * this.h)): Float32Array {
    const { w, h, tmp } = this;
    for (let y = 0; y < h; y++) pass(src, tmp, y * w, 1, w);
    // Column by column: the planes q=auto scores (≤ 320² floats) stay in cache, and the filter's state stays in
    // registers, which a row-at-a-time vertical pass would keep in arrays.
    for (let x = 0; x < w; x++) pass(tmp, out, x, w, h);
    return out;
  }
}

/** One 1-D pass over `n` samples from `start`, `stride` apart: three second-order recursions summed. */
function pass(src: Float32Array, dst: Float32Array, start: number, stride: number, n: number): void {
  const [n1, n3, n5] = K.n;
  const [d1, d3, d5] = K.d;
  let p1 = 0;
  let p3 = 0;
  let p5 = 0;
  let q1 = 0;
  let q3 = 0;
  let q5 = 0;
  for (let i = -RADIUS + 1; i < n; i++) {
    const l = i - RADIUS - 1;
    const r = i + RADIUS - 1;
    const sum = (l >= 0 ? src[start + l * stride]! : 0) + (r < n ? src[start + r * stride]! : 0);
    const o1 = n1 * sum - d1 * p1 - q1;
    const o3 = n3 * sum - d3 * p3 - q3;
    const o5 = n5 * sum - d5 * p5 - q5;
    q1 = p1;
    q3 = p3;
    q5 = p5;
    p1 = o1;
    p3 = o3;
    p5 = o5;
    if (i >= 0) dst[start + i * stride] = o1 + o3 + o5;
  }
}

const SIGMA = 1.5;
const RADIUS = Math.round(3.2795 * SIGMA + 0.2546);

/** The filter's coefficients, derived as in the paper (equation numbers in comments). */
const K = (() => {
  const omega = [1, 3, 5].map((k) => (k * Math.PI) / (2 * RADIUS)) as [number, number, number];
  const p = [1 / Math.tan(0.5 * omega[0]), -1 / Math.tan(0.5 * omega[1]), 1 / Math.tan(0.5 * omega[2])] as const; // (37)
  const r = [
    (p[0] * p[0]) / Math.sin(omega[0]),
    (-p[1] * p[1]) / Math.sin(omega[1]),
    (p[2] * p[2]) / Math.sin(omega[2]),
  ]; // (44)
  const rho = omega.map((o) => Math.exp(-0.5 * SIGMA * SIGMA * o * o) / RADIUS); // (50)
  const d13 = p[0] * r[1]! - r[0]! * p[1];
  const d35 = p[1] * r[2]! - r[1]! * p[2];
  const d51 = p[2] * r[0]! - r[2]! * p[0];
  const zeta15 = d35 / d13;
  const zeta35 = d51 / d13;
  // (53)–(56): beta solves [p; r; zeta15 zeta35 1] · beta = [1, N² − σ², zeta15·rho1 + zeta35·rho3 + rho5].
  const beta = solve3(
    [
      [p[0], p[1], p[2]],
      [r[0]!, r[1]!, r[2]!],
      [zeta15, zeta35, 1],
    ],
    [1, RADIUS * RADIUS - SIGMA * SIGMA, zeta15 * rho[0]! + zeta35 * rho[1]! + rho[2]!],
  );
  return {
    n: beta.map((bk, i) => -bk * Math.cos(omega[i]! * (RADIUS + 1))) as [number, number, number], // (33)
    d: omega.map((o) => -2 * Math.cos(o)) as [number, number, number],
  };
})();

/** Cramer's rule for a 3×3 system. */
function solve3(a: number[][], v: number[]): [number, number, number] {
  const det = (m: number[][]) =>
    m[0]![0]! * (m[1]![1]! * m[2]![2]! - m[1]![2]! * m[2]![1]!) -
    m[0]![1]! * (m[1]![0]! * m[2]![2]! - m[1]![2]! * m[2]![0]!) +
    m[0]![2]! * (m[1]![0]! * m[2]![1]! - m[1]![1]! * m[2]![0]!);
  const d = det(a);
  const col = (k: number) => a.map((row, i) => row.map((x, j) => (j === k ? v[i]! : x)));
  return [det(col(0)) / d, det(col(1)) / d, det(col(2)) / d];
}
