import type { Adjustment } from '../../transform.ts';
import { curveTable } from './curve.ts';
import { equalize } from './equalize.ts';
import { noise } from './noise.ts';
import type { Step } from './step.ts';

// thumbor's pixel filters (thumbor/ext/filters/_brightness.c, _contrast.c, _rgb.c, _saturation.c, _convolution.c,
// _colorize.c; _equalize.c, _noise.c and _curve.c in equalize.ts, noise.ts and curve.ts) on the resized pixels, in the URL's order, with their C
// arithmetic: integer deltas truncated toward zero, results clamped to 0–255, saturation in single precision.
// Alpha is left alone but by convolution.
export const adjust: Step = {
  name: 'adjust',
  applies: (plan) => plan.transform.adjust !== undefined,
  async apply(img, plan, ctx) {
    const { data, info } = await img.toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    const ch = info.channels;
    const pageHeight = info.pageHeight !== undefined && info.pageHeight < info.height ? info.pageHeight : undefined;
    // thumbor runs a filter on each frame of an animation by itself.
    const fh = pageHeight ?? info.height;
    const bytes = info.width * fh * ch;
    const frames = (run: (frame: Buffer) => void) => {
      for (let o = 0; o < data.length; o += bytes) run(data.subarray(o, o + bytes));
    };
    for (const a of plan.transform.adjust!) {
      // Edges repeat the border pixel, per frame.
      if (a.op === 'convolution') frames((d) => convolve(d, info.width, fh, ch, a));
      else if (a.op === 'equalize') frames((d) => equalize(d, ch));
      // Each frame starts from srandom(seed) again, as thumbor reseeds for each frame engine.
      else if (a.op === 'noise') frames((d) => noise(d, ch, a.amount, a.seed));
      else apply(data, ch, a);
    }
    return ctx.load(data, { width: info.width, height: info.height, channels: ch, pageHeight });
  },
};

const clamp = (c: number) => Math.min(255, Math.max(0, c));

function apply(data: Buffer, ch: number, a: Exclude<Adjustment, { op: 'convolution' | 'equalize' | 'noise' }>): void {
  if (a.op === 'saturation') {
    const change = Math.fround(a.value);
    for (let i = 0; i + 2 < data.length; i += ch) {
      const r = data[i]!;
      const g = data[i + 1]!;
      const b = data[i + 2]!;
      const p = Math.fround(Math.sqrt(r * r * 0.299 + g * g * 0.587 + b * b * 0.114));
      data[i] = clamp(Math.trunc(Math.fround(p + Math.fround((r - p) * change))));
      data[i + 1] = clamp(Math.trunc(Math.fround(p + Math.fround((g - p) * change))));
      data[i + 2] = clamp(Math.trunc(Math.fround(p + Math.fround((b - p) * change))));
    }
    return;
  }
  // Every other filter maps each channel value through a table.
  const tables =
    a.op === 'curve'
      ? curveTables(a.curves)
      : [0, 1, 2].map((c) => {
          const t = new Uint8Array(256);
          for (let v = 0; v < 256; v++) t[v] = clamp(channel(a, c, v));
          return t;
        });
  for (let i = 0; i + 2 < data.length; i += ch) {
    data[i] = tables[0]![data[i]!]!;
    data[i + 1] = tables[1]![data[i + 1]!]!;
    data[i + 2] = tables[2]![data[i + 2]!]!;
  }
}

function convolve(
  data: Buffer,
  width: number,
  height: number,
  ch: number,
  a: Extract<Adjustment, { op: 'convolution' }>,
): void {
  const src = Buffer.from(data);
  const cols = a.columns;
  const rows = a.kernel.length / cols;
  const mx = cols >> 1;
  const my = rows >> 1;
  const sums = new Float64Array(ch);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      sums.fill(0);
      for (let ky = 0; ky < rows; ky++) {
        const sy = Math.min(Math.max(y + ky - my, 0), height - 1);
        for (let kx = 0; kx < cols; kx++) {
          const sx = Math.min(Math.max(x + kx - mx, 0), width - 1);
          const k = a.kernel[ky * cols + kx]!;
          const i = (sy * width + sx) * ch;
          for (let c = 0; c < ch; c++) sums[c]! += src[i + c]! * k;
        }
      }
      const o = (y * width + x) * ch;
      for (let c = 0; c < ch; c++) data[o + c] = clamp(Math.trunc(sums[c]!));
    }
  }
}

/** _curve.c: a channel's own curve, then the curve of all channels. */
function curveTables(curves: Extract<Adjustment, { op: 'curve' }>['curves']): Uint8Array[] {
  const all = curveTable(curves[0]);
  return [1, 2, 3].map((c) => curveTable(curves[c]!).map((v) => all[v]!));
}

function channel(
  a: Exclude<Adjustment, { op: 'saturation' | 'convolution' | 'equalize' | 'noise' | 'curve' }>,
  c: number,
  v: number,
): number {
  switch (a.op) {
    case 'brightness':
      return v + Math.trunc((255 * a.value) / 100);
    case 'contrast': {
      const k = Math.trunc(((a.value + 100) * (a.value + 100)) / 100);
      return Math.trunc((k * (v - 128)) / 100) + 128;
    }
    case 'rgb':
      return v + Math.trunc((255 * [a.r, a.g, a.b][c]!) / 100);
    case 'colorize': {
      // (pixel × (100.0 − pct) + fill × pct) / 100.0 in double, truncated to int.
      const pct = a.pct[c]!;
      return Math.trunc((v * (100 - pct) + a.fill[c]! * pct) / 100);
    }
  }
}
