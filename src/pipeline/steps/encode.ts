import { FORMATS } from '../../formats.ts';
import type { Step } from './step.ts';

export const encode: Step = {
  name: 'encode',
  applies: () => true,
  apply: (img, plan) => FORMATS[plan.format].encode(img, plan.quality),
};
