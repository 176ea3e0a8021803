// `fmt=json`: what the same params would produce, as JSON, instead of the image itself.
import { FORMATS } from '../formats.ts';
import type { PipelineResult } from './pipeline.ts';

export interface OutputDescription {
  readonly width: number;
  readonly height: number;
  readonly format: string;
  readonly mime: string;
  readonly bytes: number;
  readonly frames: number;
}

export async function describeOutput(out: PipelineResult): Promise<OutputDescription> {
  return { width: out.width, height: out.height, format: out.format, mime: FORMATS[out.format].mime, bytes: out.data.length, frames: out.frames };
}
