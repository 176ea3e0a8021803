// AV1 frames through dav1d (BSD-2-Clause) compiled to WebAssembly by scripts/dav1d-wasm/build.sh and committed
// as vendor/dav1d/dav1d.wasm, so `npm ci` needs no compiler: no npm package decodes every frame of an AVIF
// sequence (libavif-wasm and @jsquash/avif read the first image only; dav1d.js takes 8-bit 4:2:0 alone, so no
// alpha track, no 4:4:4, no 10-bit). Runs inside a codec worker (pool.ts); YUV → RGB is done here, in JS.
import { readFileSync } from 'node:fs';
import { KinuError } from '../../errors.ts';
import type { Nclx } from './avis.ts';

interface Exports {
  readonly memory: WebAssembly.Memory;
  readonly _initialize?: () => void;
  readonly kd_malloc: (n: number) => number;
  readonly kd_free: (p: number) => void;
  readonly kd_open: (maxPixels: number) => number;
  readonly kd_close: (k: number) => void;
  readonly kd_decode: (k: number, buf: number, n: number) => number;
  readonly kd_info: (k: number) => number;
}

const WASM = new URL('../../../vendor/dav1d/dav1d.wasm', import.meta.url);
let instance: Exports | undefined;

/** The module, instantiated once per worker. Its imports are WASI calls dav1d never makes with logging off. */
function dav1d(): Exports {
  if (instance) return instance;
  const module = new WebAssembly.Module(readFileSync(WASM));
  const imports: Record<string, Record<string, () => number>> = {};
  for (const i of WebAssembly.Module.imports(module)) {
    imports[i.module] ??= {};
    imports[i.module]![i.name] = () => {
      if (i.name === 'proc_exit' || i.name === 'abort') throw new Error(`dav1d called ${i.name}`);
      return i.name === 'emscripten_notify_memory_growth' ? 0 : 52; // WASI ENOSYS
    };
  }
  const exp = new WebAssembly.Instance(module, imports).exports as unknown as Exports;
  exp._initialize?.();
  instance = exp;
  return exp;
}

/** Bytes the module's heap holds (it grows to the largest job and never shrinks). */
export function heapBytes(): number {
  return instance ? instance.memory.buffer.byteLength : 0;
}

/** One decoded picture, valid until the next decode or close. */
export interface Picture {
  readonly width: number;
  readonly height: number;
  /** dav1d's layout: 0 = 4:0:0, 1 = 4:2:0, 2 = 4:2:2, 3 = 4:4:4. */
  readonly layout: number;
  readonly bpc: number;
  readonly planes: readonly [Uint8Array | Uint16Array, Uint8Array | Uint16Array, Uint8Array | Uint16Array];
  /** Samples per row of the luma and chroma planes. */
  readonly strides: readonly [number, number];
  /** The sequence header's colour description, for a container without an nclx box. */
  readonly nclx: Nclx;
}

/** A decoder context: one per track, samples fed in decoding order. */
export class Av1Decoder {
  private readonly m = dav1d();
  private k: number;
  constructor(maxPixels: number) {
    this.k = this.m.kd_open(Math.min(maxPixels, 0xffffffff));
    if (!this.k) throw new Error('dav1d could not open a decoder');
  }

  decode(sample: Uint8Array): Picture {
    const m = this.m;
    const p = m.kd_malloc(sample.length);
    if (!p) throw new Error('dav1d: out of memory');
    new Uint8Array(m.memory.buffer, p, sample.length).set(sample);
    const r = m.kd_decode(this.k, p, sample.length); // takes ownership of p
    if (r < 0) {
      throw new KinuError('corrupt_image', `the AVIF sequence has a frame AV1 cannot decode (dav1d error ${-r})`);
    }
    const i = new Int32Array(m.memory.buffer, m.kd_info(this.k), 13);
    const [width, height, layout, bpc, s0, s1, y, u, v] = [...i] as number[];
    const wide = bpc! > 8;
    const chromaRows = layout === 1 ? (height! + 1) >> 1 : height!;
    const plane = (at: number, stride: number, rows: number) =>
      wide
        ? new Uint16Array(m.memory.buffer, at, (stride * rows) / 2)
        : new Uint8Array(m.memory.buffer, at, stride * rows);
    const none = new Uint8Array(0);
    return {
      width: width!,
      height: height!,
      layout: layout!,
      bpc: bpc!,
      planes: [
        plane(y!, s0!, height!),
        layout === 0 ? none : plane(u!, s1!, chromaRows),
        layout === 0 ? none : plane(v!, s1!, chromaRows),
      ],
      strides: [wide ? s0! / 2 : s0!, wide ? s1! / 2 : s1!],
      nclx: { matrix: i[9]!, fullRange: i[10] === 1, primaries: i[11]!, transfer: i[12]! },
    };
  }

  close(): void {
    if (this.k) this.m.kd_close(this.k);
    this.k = 0;
  }
}

/** Kr and Kb of the matrix coefficients (ITU-T H.273); unspecified reads as BT.601, as libavif does. */
function coefficients(matrix: number): [number, number] | 'identity' {
  switch (matrix) {
    case 0:
      return 'identity';
    case 1:
      return [0.2126, 0.0722];
    case 2:
    case 5:
    case 6:
      return [0.299, 0.114];
    case 4:
      return [0.3, 0.11];
    case 7:
      return [0.212, 0.087];
    case 9:
    case 10:
      return [0.2627, 0.0593];
    default:
      throw new KinuError('unsupported_format', `AVIF sequences with matrix coefficients ${matrix} are not supported`);
  }
}

/**
 * Writes a picture as interleaved RGB(A) into `out` at `at` (channels 3 or 4; 8-bit, or 16-bit little-endian
 * when `depth` is 16), with the alpha track's picture if given. Chroma is taken from the nearest sample.
 */
export function toRgb(
  pic: Picture,
  colour: Nclx,
  alpha: { pic: Picture; fullRange: boolean } | undefined,
  out: Uint8Array,
  at: number,
  depth: 8 | 16,
): void {
  const { width: w, height: h, layout, bpc } = pic;
  const [Y, U, V] = pic.planes;
  const [ys, cs] = pic.strides;
  const max = (1 << bpc) - 1;
  const half = 1 << (bpc - 1);
  // Normalised: luma to 0..1, chroma to -0.5..0.5.
  const [yOff, yScale, cScale] = colour.fullRange
    ? [0, 1 / max, 1 / max]
    : [16 << (bpc - 8), 1 / (219 << (bpc - 8)), 1 / (224 << (bpc - 8))];
  const k = coefficients(colour.matrix);
  const [kr, kb] = k === 'identity' ? [0, 0] : k;
  const kg = 1 - kr - kb;
  const rv = 2 * (1 - kr);
  const bu = 2 * (1 - kb);
  const gu = (2 * kb * (1 - kb)) / kg;
  const gv = (2 * kr * (1 - kr)) / kg;
  const sx = layout === 1 || layout === 2 ? 1 : 0;
  const sy = layout === 1 ? 1 : 0;
  const ch = alpha ? 4 : 3;
  const top = depth === 16 ? 65535 : 255;
  const A = alpha?.pic.planes[0];
  const as = alpha?.pic.strides[0] ?? 0;
  const amax = alpha ? (1 << alpha.pic.bpc) - 1 : 1;
  const [aOff, aScale] =
    !alpha || alpha.fullRange ? [0, top / amax] : [16 << (alpha.pic.bpc - 8), top / (219 << (alpha.pic.bpc - 8))];
  // Scaled to the output's range up front; a clamped array rounds and clamps 8-bit output by itself, 16-bit
  // samples are written in the host's order (little-endian, as the carrier declares).
  const ly = yScale * top;
  const lc = cScale * top;
  const o8 = depth === 8 ? new Uint8ClampedArray(out.buffer, out.byteOffset, out.byteLength) : undefined;
  const o16 = depth === 16 ? new Uint16Array(out.buffer, out.byteOffset, out.byteLength >> 1) : undefined;
  const c16 = (x: number) => (x <= 0 ? 0 : x >= 65535 ? 65535 : (x + 0.5) | 0);
  let o = depth === 16 ? at / 2 : at;
  for (let y = 0; y < h; y++) {
    const yr = y * ys;
    const cr = (y >> sy) * cs;
    const ar = y * as;
    for (let x = 0; x < w; x++) {
      const l = (Y[yr + x]! - yOff) * ly;
      let r = l;
      let g = l;
      let b = l;
      if (layout !== 0) {
        const ci = cr + (x >> sx);
        const cb = (U[ci]! - half) * lc;
        const cv = (V[ci]! - half) * lc;
        if (k === 'identity') {
          r = cv + top / 2;
          b = cb + top / 2;
        } else {
          r = l + rv * cv;
          g = l - gu * cb - gv * cv;
          b = l + bu * cb;
        }
      }
      if (o8) {
        o8[o] = r;
        o8[o + 1] = g;
        o8[o + 2] = b;
        if (A) o8[o + 3] = (A[ar + x]! - aOff) * aScale;
      } else {
        o16![o] = c16(r);
        o16![o + 1] = c16(g);
        o16![o + 2] = c16(b);
        if (A) o16![o + 3] = c16((A[ar + x]! - aOff) * aScale);
      }
      o += ch;
    }
  }
}
