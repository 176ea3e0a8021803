import type { Step } from './step.ts';

export const crop: Step = {
  name: 'crop',
  applies: (plan) => plan.crop !== undefined,
  apply: (img, plan) => img.extract(plan.crop!),
};
