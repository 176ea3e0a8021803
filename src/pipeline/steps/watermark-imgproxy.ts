import type { ImgproxyWatermark } from '../../transform.ts';
import { calcPosition, roundToEven, scale, scaleToEven } from '../imgproxy-geometry.ts';
import type { Step } from './step.ts';
import { blit, readMark, rgbaMark, resizeMark } from './mark.ts';

// imgproxy's watermark (processing/watermark.go, vips.c vips_apply_watermark): the mark at its own size, or fit
// (enlarging too) into scale × the image; its alpha × opacity; placed by calc_position.go with the offsets ×
// imgproxy's dpr, free to stick out of the image, or with `re` tiled from the centre, the offsets as gaps.
export const watermarkImgproxy: Step = {
  name: 'watermark-imgproxy',
  applies: (plan) => plan.transform.watermark !== undefined && plan.transform.watermarkImgproxy !== undefined,
  async apply(img, plan, ctx) {
    const wm = plan.transform.watermarkImgproxy!;
    const { opacity, key } = plan.transform.watermark!;
    const W = plan.width;
    const H = plan.height;
    const dpr = plan.imgproxyDpr ?? 1;
    // imgproxy multiplies the alpha after its resize; thumbor lowers it before.
    const mark = await readMark(key, async () => {
      const decoded = await rgbaMark(ctx.watermark!);
      const sized = await resizeMark(decoded, ...markSize([W, H], [decoded.width, decoded.height], wm.scale));
      const { data } = sized;
      if (opacity < 1) for (let i = 3; i < data.length; i += 4) data[i] = Math.round(data[i]! * opacity);
      return sized;
    });
    // One image-sized layer holding every copy: sharp composites each layer within the image only.
    const layer = Buffer.alloc(W * H * 4);
    for (const [x, y] of positions([W, H], [mark.width, mark.height], wm, dpr)) blit(layer, W, H, mark, x, y);
    return img.composite([{ input: layer, raw: { width: W, height: H, channels: 4 } }]);
  },
};

/** The watermark pipeline's resize: rt:fit with enlarge into max(1, scaleToEven(side, scale)); 0 = as it is. */
export function markSize(image: [number, number], mark: [number, number], s: number): [number, number] {
  if (!(s > 0)) return mark;
  const box = [Math.max(1, scaleToEven(image[0], s)), Math.max(1, scaleToEven(image[1], s))];
  const shrink = Math.max(mark[0] / box[0]!, mark[1] / box[1]!);
  return [Math.max(1, scale(mark[0], 1 / shrink)), Math.max(1, scale(mark[1], 1 / shrink))];
}

/** The top-left corner of every copy of a mw×mh mark in the W×H image. */
export function positions(
  [W, H]: [number, number],
  [mw, mh]: [number, number],
  wm: ImgproxyWatermark,
  dpr: number,
): [number, number][] {
  if (wm.position !== 're') return [calcPosition(W, H, mw, mh, [wm.position, wm.x, wm.y], dpr, true)];
  // prepareWatermark: the offsets pad each copy (half before, the rest after), then vips_replicate_go tiles an
  // odd number of copies across and down and cuts the image's size from the middle.
  const gap = (o: number, side: number) => (Math.abs(o) >= 1 ? roundToEven(o * dpr) : scaleToEven(side, o));
  const [padX, padY] = [gap(wm.x, W), gap(wm.y, H)];
  const [tw, th] = [mw + padX, mh + padY];
  const odd = (n: number) => (n % 2 === 0 ? n + 1 : n);
  const [across, down] = [odd(Math.ceil(W / tw)), odd(Math.ceil(H / th))];
  const [left, top] = [Math.trunc((across * tw - W) / 2), Math.trunc((down * th - H) / 2)];
  const out: [number, number][] = [];
  for (let i = 0; i < across; i++)
    for (let j = 0; j < down; j++)
      out.push([i * tw - left + Math.trunc(padX / 2), j * th - top + Math.trunc(padY / 2)]);
  return out;
}
