import sharp from 'sharp';
import type { SharpPosition } from '../plan.ts';
import type { Step } from './step.ts';

const POSITIONS: Record<SharpPosition, string | number> = {
  center: 'centre',
  top: 'north',
  bottom: 'south',
  left: 'west',
  right: 'east',
  'top-left': 'northwest',
  'top-right': 'northeast',
  'bottom-left': 'southwest',
  'bottom-right': 'southeast',
  attention: sharp.strategy.attention,
  entropy: sharp.strategy.entropy,
};

export const resize: Step = {
  name: 'resize',
  applies: (plan) => plan.resize !== undefined,
  apply(img, plan) {
    const r = plan.resize!;
    // clamp-edges.ts adds the margins contain would paint
    const fit = r.fit === 'contain' && plan.transform.clampEdges ? 'inside' : r.fit;
    const out = img.resize({
      width: r.width,
      height: r.height,
      fit,
      position: POSITIONS[r.position],
      // Only contain paints it; sharp parses a colour given with the `color` module on every call (~0.1 ms).
      ...(fit === 'contain' && { background: plan.background }),
      kernel: plan.transform.kernel,
    });
    return plan.focalWindow ? out.extract(plan.focalWindow) : out;
  },
};

export { POSITIONS };
