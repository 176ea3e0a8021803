import type { Sharp } from 'sharp';
import type { Transform } from '../../transform.ts';
import type { Step, StepContext } from './step.ts';

export const effects: Step = {
  name: 'effects',
  applies: (plan) => plan.transform.blur !== undefined || plan.transform.sharpen !== undefined || plan.transform.gray,
  async apply(img, plan, ctx) {
    const t = plan.transform;
    const filtered =
      plan.animated && (t.blur !== undefined || t.sharpen !== undefined) ? await perFrame(img, t, ctx) : filter(img, t);
    return t.gray ? filtered.greyscale() : filtered;
  },
};

function filter(img: Sharp, t: Transform): Sharp {
  let out = img;
  if (t.blur !== undefined) out = out.blur(t.blur);
  if (t.sharpen !== undefined) out = out.sharpen({ sigma: t.sharpen });
  return out;
}

// libvips holds an animation as one tall image of frames, and a filter would bleed across frame edges.
async function perFrame(img: Sharp, t: Transform, ctx: StepContext): Promise<Sharp> {
  const { data, info } = await img.toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const { width, channels } = info;
  const pageHeight = info.pageHeight ?? info.height;
  const bytes = width * pageHeight * channels;
  const frames = await Promise.all(
    Array.from({ length: info.height / pageHeight }, (_, i) =>
      filter(ctx.load(data.subarray(i * bytes, (i + 1) * bytes), { width, height: pageHeight, channels }), t)
        .raw()
        .toBuffer(),
    ),
  );
  return ctx.load(Buffer.concat(frames), { width, height: info.height, channels, pageHeight });
}
