// `q=auto`: per image, the lowest quality whose output meets a SSIMULACRA 2 target. The search runs on a
// proxy of the output pixels (about 256² pixels, tiles at full density so the encoder sees what it will see at
// full size), with two trial encodes (one when the first lands close, three when the reading is far from both),
// then one real encode. Everything is a pure function of the pixels and the preset, so the choice is deterministic.
import sharp, { type OutputInfo, type Sharp } from 'sharp';
import { FORMATS, type OutputFormat } from '../../formats.ts';
import type { AutoQuality } from '../../transform.ts';
import type { Plan } from '../plan.ts';
import type { RawShape } from '../steps/step.ts';
import { type RgbImage, Ssimulacra2Reference } from './ssimulacra2.ts';

/** The SSIMULACRA 2 score each `q=auto…` preset aims at (README, "Quality": how they were chosen). */
export const AUTO_TARGETS: Readonly<Record<AutoQuality, number>> = { 'auto:low': 60, auto: 70, 'auto:high': 77 };

export interface AutoChoice {
  readonly quality: number;
  /** The proxy's score at the chosen quality, interpolated between trials. */
  readonly score: number;
  readonly trials: number;
}

/** Tile side and the proxy's least side (see proxyOf). */
const TILE = 128;
const PROXY_SIDE = 2 * TILE;
/** A first trial this close to the target (score points) is not followed by a second. */
const CLOSE = 1;
/** Quality steps from the nearest trial beyond which an estimate is checked with a third trial. */
const FAR = 3;
/**
 * Score points the proxy reads above the whole output, by the output's area (fmt=best's gate uses it too). The
 * tiles see 55 % of a 400 px output but 6 % of a 1200 px one, and SSIMULACRA 2's 4-norm pools the worst regions,
 * which a few tiles tend to miss: on the 8 corpus photos (proxyOf's ranked tiles) the proxy read about 1 point
 * high at 400 px and 2.6 (0.4–4.7) at 1200, JPEG, WebP and AVIF alike. So the margin grows with the log of the
 * area: 1.5 points at 400×300 (WebP's median landed under the target with 1), 3.4 at 1200×900, 4.6 at 2400×1800
 * (extrapolated).
 */
export function proxyMargin(p: { width: number; height: number }): number {
  return 1.5 + 0.6 * Math.max(0, Math.log2((p.width * p.height) / MARGIN_AREA));
}
const MARGIN_AREA = 400 * 300;
const MIN_SIDE = 16;

export interface RawPixels {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 2 | 3 | 4;
}

/**
 * Scores encodes of one image's proxy (see proxyOf) against its own pixels: built once per image, shared by the
 * formats `fmt=best` tries; each (format, quality) is encoded and scored once.
 */
export class ProxyScorer {
  readonly #proxy: RawPixels;
  readonly #reference: Ssimulacra2Reference;
  readonly #tried = new Map<string, number>();
  constructor(pixels: RawPixels) {
    this.#proxy = proxyOf(pixels);
    this.#reference = new Ssimulacra2Reference(rgb(this.#proxy), { approximate: true });
  }
  async score(format: OutputFormat, q: number | undefined): Promise<number> {
    const key = `${format} ${q}`;
    let s = this.#tried.get(key);
    if (s === undefined) {
      // sharp's writers only (fmt=best leaves JPEG XL out: its output needs the codec pool to decode).
      const out = await FORMATS[format].encode(load(this.#proxy), q).toBuffer();
      s = this.#reference.score(await decode(out));
      this.#tried.set(key, s);
    }
    return s;
  }
}

/** Whether `pixels` is too small to measure: `q=auto` then keeps the format's usual quality. */
export const tooSmall = (p: { width: number; height: number }) => p.width < MIN_SIDE || p.height < MIN_SIDE;

/** The quality for `format` whose output of `pixels` meets the preset's target. */
export async function chooseQuality(
  pixels: RawPixels,
  format: OutputFormat,
  preset: AutoQuality,
  scorer?: ProxyScorer,
): Promise<AutoChoice> {
  const w = FORMATS[format];
  const search = w.auto;
  if (!search) throw new Error(`q=auto: ${format} has no quality search`);
  // The proxy reads above the whole output, more so the larger it is: aim that much higher.
  const target = AUTO_TARGETS[preset] + proxyMargin(pixels);
  // Nothing to measure in a few pixels: the format's usual quality.
  if (tooSmall(pixels)) return { quality: w.quality!, score: NaN, trials: 0 };
  const proxy = scorer ?? new ProxyScorer(pixels);
  const tried = new Map<number, number>();
  const trial = async (q: number) => {
    let s = tried.get(q);
    if (s === undefined) {
      s = await proxy.score(format, q);
      tried.set(q, s);
    }
    return s;
  };
  const clamp = (q: number) => Math.min(search.max, Math.max(search.min, Math.ceil(q - 1e-9)));

  // First trial where the target usually is; the second one slope's step towards it, unless the first was close
  // enough; the answer read off the tried points, checked by a third trial when it is far from both (the metric
  // costs more than a JPEG encode: two trials usually, three at most).
  const q = clamp(search.start + (AUTO_TARGETS[preset] - AUTO_TARGETS.auto) / search.slope);
  const s = await trial(q);
  const next = clamp(q + (target - s) / search.slope);
  if (Math.abs(target - s) <= CLOSE || next === q)
    return { quality: next, score: s + (next - q) * search.slope, trials: 1 };
  await trial(next);
  let quality = estimate(tried, target, clamp);
  // A reading far from both trials (a wide bracket, or a line extended past them) is where the score's curve
  // bends away from the line: 1200 px JPEG and WebP landed 3–5 points under the target. One more trial there.
  if (Math.min(...[...tried.keys()].map((x) => Math.abs(x - quality))) > FAR) {
    await trial(quality);
    quality = estimate(tried, target, clamp, false);
  }
  return { quality, score: interpolate(tried, quality), trials: tried.size };
}

/** The lowest quality meeting the target, read off the tried points: between the highest failing and the lowest
 *  passing one (rounded up), or extrapolated along the last two points beyond them, within the format's range
 *  (downwards only when `extendDown`). */
function estimate(tried: Map<number, number>, target: number, clamp: (q: number) => number, extendDown = true): number {
  const pts = [...tried].sort((a, b) => a[0] - b[0]);
  const pass = pts.find(([, s]) => s >= target);
  const fail = pts.filter(([, s]) => s < target).pop();
  let a: [number, number];
  let b: [number, number];
  if (pass && fail && fail[0] < pass[0]) [a, b] = [fail, pass];
  else if (pts.length < 2) return pts[0]![0];
  // After the last trial, no line is extended below a passing point that was never seen to fail.
  else if (!fail && !extendDown) return pass![0];
  else if (!pass) [a, b] = [pts[pts.length - 2]!, pts[pts.length - 1]!];
  else [a, b] = [pts[0]!, pts[1]!];
  const slope = (b[1] - a[1]) / (b[0] - a[0]);
  // A flat or inverted stretch (noise in the metric) gives no direction: keep the passing point, or go up.
  if (!(slope > 0)) return pass ? pass[0] : clamp(b[0] + 10);
  const q = Math.ceil(a[0] + (target - a[1]) / slope - 1e-9);
  if (pass && fail && fail[0] < pass[0]) return Math.min(pass[0], Math.max(fail[0] + 1, q));
  return clamp(q);
}

function interpolate(tried: Map<number, number>, q: number): number {
  const pts = [...tried].sort((a, b) => a[0] - b[0]);
  const exact = tried.get(q);
  if (exact !== undefined) return exact;
  const hi = pts.find(([x]) => x > q);
  const lo = pts.filter(([x]) => x < q).pop();
  if (!hi || !lo) return (hi ?? lo)![1];
  return lo[1] + ((hi[1] - lo[1]) * (q - lo[0])) / (hi[0] - lo[0]);
}

/**
 * The output itself when it is about the proxy's size; else a 2×2 mosaic of 128 px tiles cut from it. From an
 * output with room for 4 or more whole tiles, the tiles of a grid over it are ranked by detail (mean gradient) and
 * the ones at the 1/8, 3/8, 5/8 and 7/8 ranks are kept: a sample of the picture's flat and busy parts alike (fixed
 * positions missed a food photo's wood grain at 1200 px and read 9 points high for AVIF; the spread of the proxy's
 * error over the 8 corpus photos fell from 1.2–2.5 points to about 1). A smaller output is repeated. Tiles keep
 * the output's pixel density (a downscaled proxy is busier per block and would ask for more quality) and start on
 * multiples of 16, so JPEG's and AV1's block grids fall as in the real encode. A proxy is at least 256 px a side:
 * below 225 SSIMULACRA 2 has fewer than 6 scales and its weights fall out of step (the reference does the same).
 */
export function proxyOf(p: RawPixels): RawPixels {
  if (p.width >= PROXY_SIDE && p.height >= PROXY_SIDE && p.width <= PROXY_SIDE * 1.25 && p.height <= PROXY_SIDE * 1.25)
    return p;
  const gx = Math.floor(p.width / TILE);
  const gy = Math.floor(p.height / TILE);
  if (gx * gy >= 4) return mosaic(p, TILE, 2, 2, rankedTiles(p, gx, gy));
  const tw = Math.min(TILE, p.width);
  const th = Math.min(TILE, p.height);
  const nx = Math.ceil(PROXY_SIDE / tw);
  const ny = Math.ceil(PROXY_SIDE / th);
  const at: [number, number][] = [];
  for (let ty = 0; ty < ny; ty++) {
    const y0 = align(((2 * ty + 1) * p.height) / (2 * ny) - th / 2, p.height - th);
    for (let tx = 0; tx < nx; tx++) at.push([align(((2 * tx + 1) * p.width) / (2 * nx) - tw / 2, p.width - tw), y0]);
  }
  return mosaic(p, tw, nx, ny, at, th);
}

/** The top-left corners of 4 tiles of a centred gx × gy grid, at the 1/8…7/8 ranks of detail (ties: grid order). */
function rankedTiles(p: RawPixels, gx: number, gy: number): [number, number][] {
  const ox = align((p.width - gx * TILE) / 2, p.width - gx * TILE);
  const oy = align((p.height - gy * TILE) / 2, p.height - gy * TILE);
  const c = p.channels;
  const stride = p.width * c;
  // Green (or grey), every other pixel and row: cheap, and detail is what matters, not its colour.
  const g = c >= 3 ? 1 : 0;
  const tiles: { at: [number, number]; detail: number; i: number }[] = [];
  for (let ty = 0; ty < gy; ty++)
    for (let tx = 0; tx < gx; tx++) {
      const x0 = ox + tx * TILE;
      const y0 = oy + ty * TILE;
      let detail = 0;
      for (let y = y0; y < y0 + TILE - 1; y += 2)
        for (let i = (y * p.width + x0) * c + g, end = i + (TILE - 1) * c; i < end; i += 2 * c) {
          const v = p.data[i]!;
          detail += Math.abs(v - p.data[i + c]!) + Math.abs(v - p.data[i + stride]!);
        }
      tiles.push({ at: [x0, y0], detail, i: tiles.length });
    }
  tiles.sort((a, b) => a.detail - b.detail || a.i - b.i);
  return [1, 3, 5, 7].map((k) => tiles[Math.floor((k * tiles.length) / 8)]!.at);
}

/** Tiles of tw × th at the given corners, laid out nx by ny in order. */
function mosaic(p: RawPixels, tw: number, nx: number, ny: number, at: [number, number][], th = tw): RawPixels {
  const row = tw * nx * p.channels;
  const out = Buffer.alloc(row * th * ny);
  at.forEach(([x0, y0], k) => {
    const tx = k % nx;
    const ty = Math.floor(k / nx);
    for (let y = 0; y < th; y++) {
      const src = ((y0 + y) * p.width + x0) * p.channels;
      p.data.copy(out, (ty * th + y) * row + tx * tw * p.channels, src, src + tw * p.channels);
    }
  });
  return { data: out, width: tw * nx, height: th * ny, channels: p.channels };
}
const align = (v: number, max: number) => Math.max(0, Math.min(max, Math.floor(v / 16) * 16));

const load = (p: RawPixels): Sharp =>
  sharp(p.data, { raw: { width: p.width, height: p.height, channels: p.channels } });

async function decode(buf: Buffer): Promise<RgbImage> {
  const { data, info } = await sharp(buf)
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  return rgb({ data, width: info.width, height: info.height, channels: info.channels as RawPixels['channels'] });
}

/** RGB for the metric: grey expanded, alpha flattened onto mid-grey (transparent pixels' colour is not seen). */
function rgb(p: RawPixels): RgbImage {
  if (p.channels === 3) return { data: p.data, width: p.width, height: p.height, channels: 3 };
  const n = p.width * p.height;
  const out = new Uint8Array(n * 3);
  const grey = p.channels <= 2;
  const alpha = p.channels === 2 || p.channels === 4;
  for (let i = 0; i < n; i++) {
    const j = i * p.channels;
    const a = alpha ? p.data[j + p.channels - 1]! / 255 : 1;
    for (let c = 0; c < 3; c++) {
      const v = p.data[grey ? j : j + c]!;
      out[i * 3 + c] = Math.round(v * a + 128 * (1 - a));
    }
  }
  return { data: out, width: p.width, height: p.height, channels: 3 };
}

/** The preset to search for, where the plan's output can use one: a lossy format with a search, one frame. */
export function autoQualityOf(plan: Plan): AutoQuality | undefined {
  const q = plan.transform.quality;
  return typeof q === 'string' && !plan.animated && FORMATS[plan.format].auto ? q : undefined;
}

/**
 * Renders the steps' output to pixels once (sRGB, 8 bits, as `materialise` does), chooses the quality on them,
 * and encodes them at it; `load` is the pipeline's loader, with its timeout.
 */
export async function encodeAuto(
  img: Sharp,
  format: OutputFormat,
  preset: AutoQuality,
  load: (data: Buffer, raw: RawShape) => Sharp,
): Promise<{ data: Buffer; info: OutputInfo; choice: AutoChoice }> {
  const pixels = await renderPixels(img);
  const choice = await chooseQuality(pixels, format, preset);
  const out = await FORMATS[format]
    .encode(
      load(pixels.data, { width: pixels.width, height: pixels.height, channels: pixels.channels }),
      choice.quality,
    )
    .toBuffer({ resolveWithObject: true });
  return { ...out, choice };
}

/** The steps' output as 8-bit sRGB pixels, rendered once for every trial and the real encode(s). */
export async function renderPixels(img: Sharp): Promise<RawPixels> {
  const raw = await img.toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  return {
    data: raw.data,
    width: raw.info.width,
    height: raw.info.height,
    channels: raw.info.channels as RawPixels['channels'],
  };
}
