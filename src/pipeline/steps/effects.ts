import type { Step } from './step.ts';

export const effects: Step = {
  name: 'effects',
  applies: (plan) => plan.transform.blur !== undefined || plan.transform.sharpen !== undefined || plan.transform.gray,
  apply(img, plan) {
    const t = plan.transform;
    let out = img;
    if (t.blur !== undefined) out = out.blur(t.blur);
    if (t.sharpen !== undefined) out = out.sharpen({ sigma: t.sharpen });
    if (t.gray) out = out.greyscale();
    return out;
  },
};
