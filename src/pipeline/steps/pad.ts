import type { Step } from './step.ts';

export const pad: Step = {
  name: 'pad',
  applies: (plan) => plan.transform.pad !== undefined,
  apply(img, plan) {
    const [top, right, bottom, left] = plan.transform.pad!;
    return img.extend({ top, right, bottom, left, background: plan.background });
  },
};
