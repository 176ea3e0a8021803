import sharp from 'sharp';
import { materialise, type Step } from './step.ts';

export const crop: Step = {
  name: 'crop',
  applies: (plan) => plan.crop !== undefined,
  apply(img, plan, ctx) {
    if (!plan.smartCrop) return img.extract(plan.crop!);
    // imgproxy's SmartCrop: libvips' attention places a box of this size without scaling (a cover resize that
    // may not reduce is exactly vips_smartcrop); run first, as one sharp pipeline holds one resize.
    const { width, height } = plan.crop!;
    return materialise(
      img.resize({ width, height, fit: 'cover', position: sharp.strategy.attention, withoutReduction: true }),
      ctx,
    );
  },
};
