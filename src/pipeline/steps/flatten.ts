import type { Step } from './step.ts';

// Into a format without alpha, transparency is flattened onto `bg` (white by default) on purpose,
// instead of whatever colour the hidden pixels happen to hold.
export const flatten: Step = {
  name: 'flatten',
  // Padding already uses the opaque flatten colour, so only a source with alpha has anything to flatten.
  applies: (plan) => plan.flatten !== undefined && plan.source.hasAlpha,
  apply: (img, plan) => img.flatten({ background: plan.flatten! }),
};
