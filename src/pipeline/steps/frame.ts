// thumbor's frame() (thumbor/filters/frame.py, ext/filters/_nine_patch.c): the frame is an Android nine-patch.
// Its 1-pixel border marks in opaque black the rows and columns that stretch (left column, top row) and the
// content box (right column, bottom row). The image is merged onto white, padded by the frame's borders, and
// every cell of the frame is stretched bilinearly over it, as _nine_patch.c does, with its integer truncations.
import { KinuError } from '../../errors.ts';
import { readMark, rgbaMark, type RawMark } from './mark.ts';
import type { Step } from './step.ts';

/** The frame's RGBA pixels (its marker border included) and the borders it adds: top, right, bottom, left. */
export interface NinePatch extends RawMark {
  readonly pad: readonly [top: number, right: number, bottom: number, left: number];
}

/** Decodes the frame and reads its borders: read before the plan, since they change the output size. */
export function readNinePatch(key: string, bytes: Buffer | undefined): Promise<NinePatch> {
  if (!bytes) throw new KinuError('not_found', `frame ${key}: the image was not fetched`);
  return readMark(
    key,
    async () => {
      const m = await rgbaMark(bytes);
      return { ...m, pad: ninePatchPadding(m) };
    },
    'frame',
  );
}

/**
 * The nine-patch runs in JavaScript on the thread that serves requests (35–85 ms per MP, padding 30 more): a
 * stretching frame's output is kept to this size, so one request cannot stall the others long (4 MP: ≈0.35 s).
 */
export const FRAME_MAX_PIXELS = 4_000_000;

export const frame: Step = {
  name: 'frame',
  applies: (plan) => plan.frame !== undefined,
  async apply(img, plan, ctx) {
    const np = ctx.frame!;
    const [top, right, bottom, left] = np.pad;
    const fw = plan.width + left + right;
    const fh = plan.height + top + bottom;
    // A frame without stretch markers is pasted at its own size: only a stretching one costs per output pixel.
    if (fw * fh > FRAME_MAX_PIXELS && stretches(np))
      throw new KinuError(
        'output_too_large',
        `frame: the framed output would be ${fw}×${fh}; kinu frames at most ${FRAME_MAX_PIXELS / 1e6} MP (its nine-patch runs on the request thread): ask for a smaller size`,
      );
    const { data, info } = await img.toColourspace('srgb').ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    const framed = padOnWhite(data, info.width, info.height, np.pad);
    applyNinePatch(framed.data, framed.width, framed.height, np);
    return ctx.load(framed.data, { width: framed.width, height: framed.height, channels: 4 });
  },
};

/** Whether any row or column of the frame stretches (its top row or left column holds a marker). */
function stretches(np: RawMark): boolean {
  for (let x = 1; x < np.width - 1; x++) if (marked(np, x, 0)) return true;
  for (let y = 1; y < np.height - 1; y++) if (marked(np, 0, y)) return true;
  return false;
}

/** Opaque black: the nine-patch marker (is_stretchy). */
function marked(m: RawMark, x: number, y: number): boolean {
  const i = (y * m.width + x) * 4;
  return m.data[i] === 0 && m.data[i + 1] === 0 && m.data[i + 2] === 0 && m.data[i + 3] === 255;
}

/** _get_padding: pixels before the first and after the last marker of the bottom row and the right column. */
export function ninePatchPadding(m: RawMark): [number, number, number, number] {
  const { width: w, height: h } = m;
  // The first marked index from `from` toward `to`, both inside the border (C's loops, which may not run at all).
  const first = (from: number, to: number, step: 1 | -1, at: (i: number) => boolean): number | undefined => {
    for (let i = from; step > 0 ? i <= to : i >= to; i += step) if (at(i)) return i;
    return undefined;
  };
  const x0 = first(1, w - 2, 1, (x) => marked(m, x, h - 1));
  const x1 = first(w - 2, 1, -1, (x) => marked(m, x, h - 1));
  const y0 = first(1, h - 2, 1, (y) => marked(m, w - 1, y));
  const y1 = first(h - 2, 1, -1, (y) => marked(m, w - 1, y));
  const top = y0 === undefined ? 0 : y0 - 1;
  const right = x1 === undefined ? 0 : w - 2 - x1;
  const bottom = y1 === undefined ? 0 : h - 2 - y1;
  const left = x0 === undefined ? 0 : x0 - 1;
  return [top, right, bottom, left];
}

/** ADJUST_COLOR_DOUBLE: clamped, then truncated as C's (int) cast does. */
const adjust = (c: number) => (c > 255 ? 255 : c < 0 ? 0 : Math.trunc(c));

/**
 * handle_padding: a white opaque canvas larger by the borders, the image pasted with _composite.c's merge (its
 * transparency over white, truncated); every pixel comes out opaque.
 */
export function padOnWhite(
  rgba: Buffer,
  w: number,
  h: number,
  [top, right, bottom, left]: NinePatch['pad'],
): { data: Buffer; width: number; height: number } {
  const width = w + left + right;
  const height = h + top + bottom;
  const data = Buffer.alloc(width * height * 4, 255);
  for (let y = 0; y < h; y++) {
    let o = ((y + top) * width + left) * 4;
    for (let i = y * w * 4, end = i + w * 4; i < end; i += 4, o += 4) {
      const clear = 255 - rgba[i + 3]!;
      for (let s = 0; s < 3; s++)
        data[o + s] = adjust((1.0 - clear / 255.0) * rgba[i + s]! + 1.0 * 255 * (clear / 255.0));
    }
  }
  return { data, width, height };
}

/** _nine_patch_apply: the frame's cells, fixed or stretched, composited over the RGBA target in place. */
export function applyNinePatch(target: Buffer, tw: number, th: number, np: RawMark): void {
  const { width: nw, height: nh } = np;
  let stretchyW = 0;
  let stretchyH = 0;
  for (let x = 1; x < nw - 1; x++) if (marked(np, x, 0)) stretchyW++;
  for (let y = 1; y < nh - 1; y++) if (marked(np, 0, y)) stretchyH++;
  const targetStretchyW = Math.max(0, tw - (nw - 2 - stretchyW));
  const targetStretchyH = Math.max(0, th - (nh - 2 - stretchyH));
  // next_row / next_column: where the stretchiness changes, the border pixel excluded.
  const nextRow = (y: number) => {
    const s = marked(np, 0, y);
    let n = y + 1;
    while (n < nh - 1 && marked(np, 0, n) === s) n++;
    return n;
  };
  const nextColumn = (x: number) => {
    const s = marked(np, x, 0);
    let n = x + 1;
    while (n < nw - 1 && marked(np, n, 0) === s) n++;
    return n;
  };
  for (let sy = 1, ty = 0; sy < nh - 1; ) {
    const sh = nextRow(sy) - sy;
    const cellH = marked(np, 0, sy) ? Math.trunc((sh / stretchyH) * targetStretchyH + 0.5) : sh;
    for (let sx = 1, tx = 0; sx < nw - 1; ) {
      const sw = nextColumn(sx) - sx;
      const cellW = marked(np, sx, 0) ? Math.trunc((sw / stretchyW) * targetStretchyW + 0.5) : sw;
      pasteRectangle(np, sx, sy, sw, sh, target, tw, th, tx, ty, cellW, cellH);
      tx += cellW;
      sx += sw;
    }
    ty += cellH;
    sy += sh;
  }
}

/** paste_rectangle: one cell stretched bilinearly onto the target; a cell that would not fit is skipped. */
function pasteRectangle(
  src: RawMark,
  sx: number,
  sy: number,
  sw: number,
  sh: number,
  target: Buffer,
  tw: number,
  th: number,
  tx: number,
  ty: number,
  w: number,
  h: number,
): void {
  if (tx + w > tw || ty + h > th) return;
  const d = src.data;
  const row = src.width * 4;
  // A cell transparent throughout changes nothing (every interpolated alpha is 0): skip it, as most of a
  // frame's middle is.
  let clear = true;
  for (let y = sy; y < sy + sh; y++) for (let x = sx; x < sx + sw; x++) if (d[y * row + x * 4 + 3] !== 0) clear = false;
  if (clear) return;
  const xRatio = (sw - 1) / w;
  const yRatio = (sh - 1) / h;
  const cols = new Int32Array(w);
  const xfs = new Float64Array(w);
  for (let x = 0; x < w; x++) {
    cols[x] = Math.trunc(xRatio * x);
    xfs[x] = xRatio * x - cols[x]!;
  }
  for (let y = 0; y < h; y++) {
    const srcY = Math.trunc(yRatio * y);
    const yf = yRatio * y - srcY;
    const line = (sy + srcY) * row + sx * 4;
    let o = ((ty + y) * tw + tx) * 4;
    for (let x = 0; x < w; x++, o += 4) {
      const p = line + cols[x]! * 4;
      const xf = xfs[x]!;
      const srcClear = 255 - interpolate(d, p, row, xf, yf, 3);
      // A fully transparent frame pixel leaves the (opaque) target as it is: the sum below gives it back exactly.
      if (srcClear === 255) continue;
      const tgtClear = 255 - target[o + 3]!;
      for (let s = 0; s < 3; s++) {
        const v = interpolate(d, p, row, xf, yf, s);
        target[o + s] = adjust(
          (1.0 - srcClear / 255.0) * v + (1.0 - tgtClear / 255.0) * target[o + s]! * (srcClear / 255.0),
        );
      }
    }
  }
}

/** interpolate_subpixel: exact when the four neighbours agree, else weighted and truncated. */
function interpolate(d: Buffer, p: number, row: number, xf: number, yf: number, s: number): number {
  const a = d[p + s]!;
  const b = d[p + 4 + s]!;
  const c = d[p + row + s]!;
  const e = d[p + row + 4 + s]!;
  if (a === b && a === c && a === e) return a;
  return adjust(a * (1 - xf) * (1 - yf) + b * (0 + xf) * (1 - yf) + c * (1 - xf) * (0 + yf) + e * (0 + xf) * (0 + yf));
}
