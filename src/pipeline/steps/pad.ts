import { paintsCanvas } from './fill-canvas.ts';
import type { Step } from './step.ts';

export const pad: Step = {
  name: 'pad',
  applies: (plan) => plan.pad !== undefined && !paintsCanvas(plan),
  apply(img, plan) {
    const [top, right, bottom, left] = plan.pad!;
    return img.extend({ top, right, bottom, left, background: plan.background });
  },
};
