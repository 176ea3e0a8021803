import { FORMATS } from '../../formats.ts';
import type { Step } from './step.ts';

// Frame timing and loop are given explicitly: a step may have re-assembled the frames from raw pixels,
// which carry none. sharp takes at most 65535 plays; beyond that the decoder's own metadata stays.
export const encode: Step = {
  name: 'encode',
  applies: () => true,
  apply(img, plan) {
    const { delay, loop } = plan.source;
    const animation = plan.animated ? { delay: delay ? [...delay] : undefined, loop: loop !== undefined && loop <= 65535 ? loop : undefined } : undefined;
    return FORMATS[plan.format].encode(img, plan.quality, animation);
  },
};
