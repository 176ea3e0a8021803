// Bytes of an original + a Transform → encoded bytes. Header first (limits, plan), then the steps in order,
// checking the deadline between them. Nothing here knows about HTTP.
import sharp, { type Metadata, type Sharp } from 'sharp';
import { KinuError } from '../errors.ts';
import type { OutputFormat } from '../formats.ts';
import type { Transform } from '../transform.ts';
import type { AcceptClass } from './negotiate.ts';
import { checkLimits, makePlan, type Limits, type SourceInfo } from './plan.ts';
import { checkPngCrc } from './png-crc.ts';
import { fromSharpError, matchSharpError } from './sharp-errors.ts';
import { STEPS, type RawShape, type StepContext } from './steps/index.ts';

export interface PipelineOptions {
  readonly limits: Limits;
  readonly timeoutMs: number;
  readonly accept: AcceptClass;
  readonly signal?: AbortSignal;
  readonly watermark?: Buffer;
}

export interface PipelineResult {
  readonly data: Buffer;
  readonly format: OutputFormat;
  readonly width: number;
  readonly height: number;
  readonly frames: number;
  /** Milliseconds: header + plan + steps queued, then the libvips run and encode. */
  readonly timings: { readonly process: number; readonly encode: number };
}

export async function runPipeline(input: Buffer, t: Transform, opts: PipelineOptions): Promise<PipelineResult> {
  const t0 = performance.now();
  const deadline = Date.now() + opts.timeoutMs;
  const seconds = Math.max(1, Math.ceil(opts.timeoutMs / 1000));
  const check = () => {
    opts.signal?.throwIfAborted();
    if (Date.now() > deadline) throw new KinuError('processing_timeout', `processing took longer than ${opts.timeoutMs} ms`);
  };
  const load = (data: Buffer, animated: boolean, raw?: RawShape): Sharp =>
    (raw
      ? sharp(data, { raw, limitInputPixels: opts.limits.maxPixels })
      : sharp(data, { autoOrient: true, animated, failOn: 'warning', limitInputPixels: opts.limits.maxPixels, sequentialRead: true })
    ).timeout({ seconds });

  try {
    const meta = await sharp(input, { limitInputPixels: false }).metadata();
    let src = sourceInfo(meta);
    checkLimits(src, opts.limits);
    if (meta.format === 'png') checkPngCrc(input);

    let base = input;
    let baseRaw: RawShape | undefined;
    if (t.trim !== undefined) {
      // Trim changes the size the geometry depends on, so it runs first and the plan sees its result.
      const { data, info } = await load(input, false).trim({ threshold: t.trim }).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
      base = data;
      baseRaw = { width: info.width, height: info.height, channels: info.channels };
      src = { ...src, width: info.width, height: info.height, frames: 1, hasAlpha: info.channels === 4 || info.channels === 2 };
      check();
    }

    const plan = makePlan(src, t, opts.accept, opts.limits);
    const ctx: StepContext = { watermark: opts.watermark, load: (d, raw) => load(d, false, raw) };
    let img = baseRaw ? load(base, false, baseRaw) : load(base, plan.animated);
    for (const step of STEPS) {
      if (!step.applies(plan)) continue;
      img = await step.apply(img, plan, ctx);
      check();
    }
    const t1 = performance.now();
    const { data, info } = await img.toBuffer({ resolveWithObject: true });
    check();
    return {
      data, format: plan.format, width: info.width, height: info.pageHeight ?? info.height, frames: plan.animated ? info.pages ?? src.frames : 1,
      timings: { process: t1 - t0, encode: performance.now() - t1 },
    };
  } catch (err) {
    if (opts.signal?.aborted && err === opts.signal.reason) throw err;
    throw await classify(err, () => load(input, false).raw().toBuffer());
  }
}

/**
 * libvips decodes lazily, so a failure anywhere may come from the source's bytes or from kinu itself. An
 * error that names no known cause is blamed on the source (422) only if the source alone fails to decode;
 * otherwise it is ours and stays unclassified, for the error boundary to log as a 500.
 */
export async function classify(err: unknown, decode: () => Promise<unknown>): Promise<unknown> {
  const known = matchSharpError(err);
  if (known) return known;
  try {
    await decode();
  } catch (decodeErr) {
    return fromSharpError(decodeErr);
  }
  return err;
}

/** Size after auto-orient, per frame; HEVC is refused here, before libvips tries to decode it. */
export function sourceInfo(meta: Metadata): SourceInfo {
  if (meta.format === 'heif' && meta.compression === 'hevc') {
    throw new KinuError('unsupported_format', 'HEIC (HEVC) originals cannot be decoded by this build; convert them to JPEG or AVIF');
  }
  if (!meta.format || !meta.width || !meta.height) throw new KinuError('unsupported_format', 'the original is not an image kinu can read');
  // Only GIF and WebP pages are frames of an animation; other pages (TIFF, HEIF items) are separate
  // pictures, of which the first alone is read.
  const frames = meta.format === 'gif' || meta.format === 'webp' ? meta.pages ?? 1 : 1;
  const height = frames > 1 ? meta.pageHeight ?? meta.height : meta.height;
  const swap = (meta.orientation ?? 1) >= 5;
  return {
    format: meta.format,
    width: swap ? height : meta.width,
    height: swap ? meta.width : height,
    frames,
    hasAlpha: meta.hasAlpha ?? false,
    delay: meta.delay,
    loop: meta.loop,
  };
}
