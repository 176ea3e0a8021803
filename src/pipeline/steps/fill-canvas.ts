import type { Plan } from '../plan.ts';
import type { Step } from './step.ts';

// thumbor's fill(auto) and fill(blur) (thumbor/filters/fill.py): the canvas around the image is its mean colour
// (_fill.c: integer sums over every pixel, divided by the area), or the image itself blurred (blur radius 50,
// sigma 50) and stretched to the canvas. The plain-colour fill is the pad step's.
export const fillCanvas: Step = {
  name: 'fill-canvas',
  applies: paintsCanvas,
  async apply(img, plan, ctx) {
    const [top, right, bottom, left] = plan.pad!;
    const { data, info } = await img.toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    const { width, height, channels } = info;
    const shape = { width, height, channels };
    if (plan.transform.thumbor!.canvas === 'auto') {
      const sum = [0, 0, 0];
      for (let i = 0; i < data.length; i += channels) for (let c = 0; c < 3; c++) sum[c]! += data[i + c]!;
      const [r, g, b] = sum.map((v) => Math.floor(v / (width * height))) as [number, number, number];
      return ctx.load(data, shape).extend({ top, right, bottom, left, background: { r, g, b, alpha: 1 } });
    }
    const cw = width + left + right;
    const ch = height + top + bottom;
    const canvas = await ctx.load(data, shape).blur(BLUR_SIGMA).resize(cw, ch, { fit: 'fill' }).raw().toBuffer();
    // Run now: a later composite (watermark) would replace this one in the same sharp pipeline.
    const out = await ctx
      .load(canvas, { width: cw, height: ch, channels })
      .composite([{ input: data, raw: shape, left, top }])
      .raw()
      .toBuffer();
    return ctx.load(out, { width: cw, height: ch, channels });
  },
};

/** fill(auto|blur) with a canvas to paint; the pad step leaves it to this one. Animations get plain padding. */
export function paintsCanvas(plan: Plan): boolean {
  const canvas = plan.transform.thumbor?.canvas;
  return plan.pad !== undefined && !plan.animated && (canvas === 'auto' || canvas === 'blur');
}

// thumbor's blur(50): a Gaussian of sigma 50 cut at 50 pixels; libvips' untruncated Gaussian of the same spread.
const BLUR_SIGMA = (() => {
  let sum = 0;
  let second = 0;
  for (let x = -50; x <= 50; x++) {
    const g = Math.exp(-(x * x) / (2 * 50 * 50));
    sum += g;
    second += x * x * g;
  }
  return Math.sqrt(second / sum);
})();
