import { FORMATS, type Animation } from '../../formats.ts';
import type { Plan } from '../plan.ts';
import type { Step } from './step.ts';

// Frame timing and loop are given explicitly: a step may have re-assembled the frames from raw pixels,
// which carry none. sourceInfo has already bounded both to what the encoders accept.
export function animationOf(plan: Plan): Animation | undefined {
  const { delay, loop } = plan.source;
  return plan.animated ? { delay: delay ? [...delay] : undefined, loop } : undefined;
}

/** Per-request encoder options a dialect asks for (progressive JPEG). */
export function encodeOptions(plan: Plan): { progressive?: boolean } | undefined {
  return plan.transform.progressive ? { progressive: true } : undefined;
}

export const encode: Step = {
  name: 'encode',
  applies: () => true,
  apply(img, plan) {
    return FORMATS[plan.format].encode(img, plan.quality, animationOf(plan), encodeOptions(plan));
  },
};
