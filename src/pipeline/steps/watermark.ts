import sharp from 'sharp';
import { POSITIONS } from './resize.ts';
import type { Step } from './step.ts';

export const watermark: Step = {
  name: 'watermark',
  applies: (plan) => plan.transform.watermark !== undefined,
  async apply(img, plan, ctx) {
    const wm = plan.transform.watermark!;
    const width = wm.scale === undefined ? plan.width : Math.max(1, Math.round(plan.width * wm.scale));
    // Never larger than the output: libvips refuses to composite an overlay bigger than the image.
    let mark = sharp(ctx.watermark!, { failOn: 'warning', limitInputPixels: 25_000_000 })
      .resize({ width: Math.min(width, plan.width), height: plan.height, fit: 'inside', withoutEnlargement: wm.scale === undefined })
      .ensureAlpha();
    if (wm.opacity < 1) mark = mark.linear([1, 1, 1, wm.opacity], [0, 0, 0, 0]);
    const input = await mark.png({ compressionLevel: 0 }).toBuffer();
    return img.composite([{ input, gravity: POSITIONS[wm.gravity] as string }]);
  },
};
