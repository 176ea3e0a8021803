// The order of operations, as one list. A step runs when `applies(plan)` says so.
import { adjust } from './adjust.ts';
import { clampEdges } from './clamp-edges.ts';
import { crop } from './crop.ts';
import { effects } from './effects.ts';
import { encode } from './encode.ts';
import { fillCanvas } from './fill-canvas.ts';
import { flatten } from './flatten.ts';
import { frame } from './frame.ts';
import { pad } from './pad.ts';
import { pixelate } from './pixelate.ts';
import { resize } from './resize.ts';
import { rotateFlip } from './rotate-flip.ts';
import { roundCorner } from './round-corner.ts';
import { sharpOps } from './sharp-ops.ts';
import type { Step } from './step.ts';
import { watermark } from './watermark.ts';
import { watermarkAt } from './watermark-at.ts';
import { watermarkImgproxy } from './watermark-imgproxy.ts';

export const STEPS: readonly Step[] = [
  crop,
  resize,
  clampEdges,
  rotateFlip,
  pixelate,
  effects,
  adjust,
  fillCanvas,
  pad,
  sharpOps,
  flatten,
  roundCorner,
  watermark,
  watermarkAt,
  watermarkImgproxy,
  frame,
  encode,
];

export type { RawShape, Step, StepContext } from './step.ts';
