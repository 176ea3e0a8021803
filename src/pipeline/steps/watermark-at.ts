import type { WatermarkAt } from '../../transform.ts';
import { blit, readMark, rgbaMark, resizeMark } from './mark.ts';
import type { Step } from './step.ts';

// thumbor's watermark filter (thumbor/filters/watermark.py, _alpha.c): the mark's alpha lowered by
// 255·alpha/100 (integer), sized by w_ratio/h_ratio of the image (calc_watermark_size), then pasted at x, y
// (pixels, `-N` from the far edge, `Np` percent, `center`) or tiled (`repeat`), clipped to the image.
export const watermarkAt: Step = {
  name: 'watermark-at',
  applies: (plan) => plan.transform.watermark !== undefined && plan.transform.watermarkAt !== undefined,
  async apply(img, plan, ctx) {
    const at = plan.transform.watermarkAt!;
    const W = plan.width;
    const H = plan.height;
    const mark = await readMark(plan.transform.watermark!.key, async () => {
      const decoded = await rgbaMark(ctx.watermark!);
      const drop = Math.trunc((255 * at.alpha) / 100);
      for (let i = 3; i < decoded.data.length; i += 4) decoded.data[i] = Math.max(0, decoded.data[i]! - drop);
      return resizeMark(decoded, ...markSize([W, H], [decoded.width, decoded.height], at));
    });
    // One image-sized layer holding every copy: sharp composites each layer within the image only.
    const layer = Buffer.alloc(W * H * 4);
    for (const [x, y] of positions([W, H], [mark.width, mark.height], at)) blit(layer, W, H, mark, x, y);
    return img.composite([{ input: layer, raw: { width: W, height: H, channels: 4 } }]);
  },
};

/** calc_watermark_size: within w_ratio·width and h_ratio·height (either alone keeps the mark's ratio). */
export function markSize(image: [number, number], mark: [number, number], at: WatermarkAt): [number, number] {
  if (at.wRatio === undefined && at.hRatio === undefined) return mark;
  let maxW = at.wRatio === undefined ? 0 : (image[0] * at.wRatio) / 100;
  let maxH = at.hRatio === undefined ? 0 : (image[1] * at.hRatio) / 100;
  if (!maxW) maxW = (mark[0] * maxH) / mark[1];
  if (!maxH) maxH = (mark[1] * maxW) / mark[0];
  const size: [number, number] =
    mark[0] / maxW >= mark[1] / maxH
      ? [Math.round(maxW), Math.round((mark[1] * maxW) / mark[0])]
      : [Math.round((mark[0] * maxH) / mark[1]), Math.round(maxH)];
  return [Math.max(1, size[0]), Math.max(1, size[1])];
}

/** The top-left corner of every copy, as on_image_ready computes them. */
export function positions(image: [number, number], mark: [number, number], at: WatermarkAt): [number, number][] {
  const axis = (raw: string, length: number, m: number): number[] => {
    const pct = /^(-?)(\d+)p$/.exec(raw);
    const pos = pct ? `${pct[1]}${Math.round((length * Number(pct[2])) / 100 + 1e-5)}` : raw;
    if (pos === 'center') return [Math.trunc((length - m) / 2)];
    if (pos !== 'repeat') {
      const n = Number(pos);
      return [pos.startsWith('-') ? Math.trunc(length - m + n) : n];
    }
    let count = Math.floor(length / m);
    let rest = length % m;
    if (length / m < 2) [count, rest] = [Math.ceil(length / m), 10];
    return tile(count, rest, m);
  };
  const tile = (count: number, rest: number, m: number) => {
    const space = Math.floor(rest / (Math.max(count, 2) - 1));
    return Array.from({ length: count }, (_, i) => i * space + i * m);
  };
  let xs = axis(at.x, image[0], mark[0]);
  let ys = axis(at.y, image[1], mark[1]);
  // Tiled both ways past 100 copies: at most 6×6, spread over the image.
  if (at.x === 'repeat' && at.y === 'repeat' && xs.length * ys.length > 100) {
    const nx = Math.min(6, xs.length);
    const ny = Math.min(6, ys.length);
    xs = tile(nx, image[0] - nx * mark[0], mark[0]);
    ys = tile(ny, image[1] - ny * mark[1], mark[1]);
  }
  return xs.flatMap((x) => ys.map((y): [number, number] => [x, y]));
}
