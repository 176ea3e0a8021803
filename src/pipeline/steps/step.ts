import type { Sharp } from 'sharp';
import type { Plan } from '../plan.ts';
import type { NinePatch } from './frame.ts';

/** Uncompressed pixels; `pageHeight` when they are the frames of an animation, one under the other. */
export interface RawShape {
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
  pageHeight?: number | undefined;
}

export interface StepContext {
  /** Watermark bytes, fetched by the caller when the transform names one. */
  readonly watermark: Buffer | undefined;
  /** thumbor's frame, decoded before the plan (its borders size the output). */
  readonly frame?: NinePatch | undefined;
  readonly load: (input: Buffer, raw?: RawShape) => Sharp;
}

/** One operation. Order lives in steps/index.ts, never in the URL. */
export interface Step {
  readonly name: string;
  applies(plan: Plan): boolean;
  apply(img: Sharp, plan: Plan, ctx: StepContext): Sharp | Promise<Sharp>;
}

/** Run what is queued so far and continue on a fresh instance: for operations libvips would otherwise reorder. */
export async function materialise(img: Sharp, ctx: StepContext): Promise<Sharp> {
  const { data, info } = await img.toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const pageHeight = info.pageHeight !== undefined && info.pageHeight < info.height ? info.pageHeight : undefined;
  return ctx.load(data, { width: info.width, height: info.height, channels: info.channels, pageHeight });
}
