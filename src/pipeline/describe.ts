// `fmt=json`: what the same params would produce, as JSON, instead of the image itself — with a placeholder
// (ThumbHash and dominant colour) read from those very output pixels, padding and effects included.
import { FORMATS } from '../formats.ts';
import type { PipelineResult } from './pipeline.ts';
import { placeholder } from './placeholder.ts';

export interface OutputDescription {
  readonly width: number;
  readonly height: number;
  readonly format: string;
  readonly mime: string;
  readonly bytes: number;
  readonly frames: number;
  /** The quality `q=auto` chose; absent when `q` was a number or the default. */
  readonly quality?: number;
  readonly thumbhash: string;
  readonly dominant: string;
}

export async function describeOutput(out: PipelineResult): Promise<OutputDescription> {
  // The output is kinu's own, already within the pixel limit (and up to 16384² which sharp's default refuses).
  const { thumbhash, dominant } = await placeholder(out.data, { maxPixels: false });
  return {
    width: out.width,
    height: out.height,
    format: out.format,
    mime: FORMATS[out.format].mime,
    bytes: out.data.length,
    frames: out.frames,
    ...(out.quality !== undefined && { quality: out.quality }),
    thumbhash,
    dominant,
  };
}
