import { materialise, type Step } from './step.ts';

// Shrink, then enlarge with nearest-neighbour. sharp keeps one resize per pipeline, so the planned
// resize (and any crop) is run first; otherwise this resize would replace it.
export const pixelate: Step = {
  name: 'pixelate',
  applies: (plan) => plan.transform.pixelate !== undefined && !plan.animated,
  async apply(img, plan, ctx) {
    const n = plan.transform.pixelate!;
    const base = await materialise(img, ctx);
    const w = plan.width - (plan.pad ? plan.pad[1] + plan.pad[3] : 0);
    const h = plan.height - (plan.pad ? plan.pad[0] + plan.pad[2] : 0);
    const small = base.resize(Math.max(1, Math.round(w / n)), Math.max(1, Math.round(h / n)), { fit: 'fill' });
    return (await materialise(small, ctx)).resize(w, h, { fit: 'fill', kernel: 'nearest' });
  },
};
