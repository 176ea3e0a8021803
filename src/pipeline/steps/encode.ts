import { FORMATS } from '../../formats.ts';
import type { Step } from './step.ts';

// Frame timing and loop are given explicitly: a step may have re-assembled the frames from raw pixels,
// which carry none. sourceInfo has already bounded both to what the encoders accept.
export const encode: Step = {
  name: 'encode',
  applies: () => true,
  apply(img, plan) {
    const { delay, loop } = plan.source;
    const animation = plan.animated ? { delay: delay ? [...delay] : undefined, loop } : undefined;
    return FORMATS[plan.format].encode(img, plan.quality, animation);
  },
};
