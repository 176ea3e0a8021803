import { materialise, type Step } from './step.ts';

export const pixelate: Step = {
  name: 'pixelate',
  applies: (plan) => plan.transform.pixelate !== undefined && !plan.animated,
  async apply(img, plan, ctx) {
    const n = plan.transform.pixelate!;
    const w = plan.width - (plan.transform.pad ? plan.transform.pad[1] + plan.transform.pad[3] : 0);
    const h = plan.height - (plan.transform.pad ? plan.transform.pad[0] + plan.transform.pad[2] : 0);
    const small = img.resize(Math.max(1, Math.round(w / n)), Math.max(1, Math.round(h / n)), { fit: 'fill' });
    return (await materialise(small, ctx)).resize(w, h, { fit: 'fill', kernel: 'nearest' });
  },
};
