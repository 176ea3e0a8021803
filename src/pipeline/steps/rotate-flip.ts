import { materialise, type Step } from './step.ts';

// libvips would apply rotation and mirroring before the crop and resize; doing them on the resized pixels
// keeps the documented order (crop in source coordinates, box on the output).
export const rotateFlip: Step = {
  name: 'rotate-flip',
  applies: (plan) => plan.transform.rotate !== 0 || plan.transform.flipH || plan.transform.flipV,
  async apply(img, plan, ctx) {
    const t = plan.transform;
    let out = await materialise(img, ctx);
    if (t.rotate !== 0) out = out.rotate(t.rotate);
    if (t.flipH) out = out.flop();
    if (t.flipV) out = out.flip();
    return out;
  },
};
