import { openMark, readMark } from './mark.ts';
import { POSITIONS } from './resize.ts';
import type { Step } from './step.ts';

export const watermark: Step = {
  name: 'watermark',
  applies: (plan) =>
    plan.transform.watermark !== undefined &&
    plan.transform.watermarkAt === undefined &&
    plan.transform.watermarkImgproxy === undefined,
  async apply(img, plan, ctx) {
    const wm = plan.transform.watermark!;
    const width = wm.scale === undefined ? plan.width : Math.max(1, Math.round(plan.width * wm.scale));
    // Never larger than the output: libvips refuses to composite an overlay bigger than the image.
    // Decoded to sRGB + alpha, so opacity is one multiply of the alpha bytes whatever the mark's bands.
    const mark = await readMark(wm.key, () =>
      openMark(ctx.watermark!)
        .resize({
          width: Math.min(width, plan.width),
          height: plan.height,
          fit: 'inside',
          withoutEnlargement: wm.scale === undefined,
        })
        .toColourspace('srgb')
        .ensureAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true }),
    );
    const { data, info } = mark;
    if (wm.opacity < 1) for (let i = 3; i < data.length; i += 4) data[i] = Math.round(data[i]! * wm.opacity);
    return img.composite([
      {
        input: data,
        raw: { width: info.width, height: info.height, channels: 4 },
        gravity: POSITIONS[wm.gravity] as string,
      },
    ]);
  },
};
