// Synthetic images whose geometry can be read back by colour, and a small raw decoder for outputs.
import sharp from 'sharp';

export type RGB = readonly [number, number, number];

export const RED: RGB = [255, 0, 0];
export const GREEN: RGB = [0, 255, 0];
export const BLUE: RGB = [0, 0, 255];
export const YELLOW: RGB = [255, 255, 0];
export const MAGENTA: RGB = [255, 0, 255];
export const CYAN: RGB = [0, 255, 255];
export const ORANGE: RGB = [255, 128, 0];
export const PURPLE: RGB = [128, 0, 255];
export const GREY: RGB = [128, 128, 128];
export const WHITE: RGB = [255, 255, 255];

/** 3×3 cells, row by row: red green blue / yellow magenta cyan / orange purple grey. */
export const GRID: readonly (readonly RGB[])[] = [
  [RED, GREEN, BLUE],
  [YELLOW, MAGENTA, CYAN],
  [ORANGE, PURPLE, GREY],
];
/** 2×2 quadrants: red green / blue yellow. */
export const QUADS: readonly (readonly RGB[])[] = [
  [RED, GREEN],
  [BLUE, YELLOW],
];

/** A lossless PNG of `cells` stretched over width×height. */
export function cells(
  width: number,
  height: number,
  colours: readonly (readonly RGB[])[] = GRID,
  alpha?: (x: number, y: number) => number,
): Promise<Buffer> {
  const rows = colours.length;
  const cols = colours[0]!.length;
  const channels = alpha ? 4 : 3;
  const data = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const c = colours[Math.floor((y * rows) / height)]![Math.floor((x * cols) / width)]!;
      const i = (y * width + x) * channels;
      data[i] = c[0];
      data[i + 1] = c[1];
      data[i + 2] = c[2];
      if (alpha) data[i + 3] = alpha(x, y);
    }
  }
  return sharp(data, { raw: { width, height, channels } }).png().toBuffer();
}

export function solid(width: number, height: number, c: RGB, channels: 1 | 3 = 3): Promise<Buffer> {
  const img = sharp({ create: { width, height, channels: 3, background: { r: c[0], g: c[1], b: c[2] } } });
  return (channels === 1 ? img.greyscale() : img).png().toBuffer();
}

export interface Pixels {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  /** [r, g, b, a] at (x, y); alpha 255 where the image has none. */
  at(x: number, y: number): [number, number, number, number];
}

/** First frame of any encoded image, as sRGB + alpha. */
export async function pixels(encoded: Buffer): Promise<Pixels> {
  const meta = await sharp(encoded).metadata();
  const { data, info } = await sharp(encoded)
    .toColourspace('srgb')
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return {
    width: info.width,
    height: info.height,
    channels: meta.channels ?? 0,
    at(x, y) {
      const i = (y * info.width + x) * 4;
      return [data[i]!, data[i + 1]!, data[i + 2]!, data[i + 3]!];
    },
  };
}

export function near(actual: readonly number[], expected: readonly number[], tolerance: number, what = ''): void {
  const ok = expected.every((v, i) => Math.abs((actual[i] ?? NaN) - v) <= tolerance);
  if (!ok)
    throw new Error(`${what}: expected ≈${JSON.stringify(expected)} ±${tolerance}, got ${JSON.stringify(actual)}`);
}
