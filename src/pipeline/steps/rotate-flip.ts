import { materialise, type Step } from './step.ts';

// libvips would apply rotation and mirroring before the crop and resize; doing them on the resized pixels
// keeps the documented order (crop in source coordinates, box on the output). Within one sharp call the
// mirror always runs before the rotation, so "rotate r, then mirror" is sent as "mirror, then rotate −r"
// (a mirror conjugates a rotation into its inverse), and mirroring both ways is a half turn.
export const rotateFlip: Step = {
  name: 'rotate-flip',
  applies: (plan) => plan.transform.rotate !== 0 || plan.transform.flipH || plan.transform.flipV,
  async apply(img, plan, ctx) {
    const t = plan.transform;
    const both = t.flipH && t.flipV;
    const mirror = t.flipH !== t.flipV;
    const angle = ((((mirror ? -t.rotate : t.rotate) + (both ? 180 : 0)) % 360) + 360) % 360;
    let out = await materialise(img, ctx);
    if (mirror) out = t.flipH ? out.flop() : out.flip();
    if (angle !== 0) out = out.rotate(angle);
    return out;
  },
};
