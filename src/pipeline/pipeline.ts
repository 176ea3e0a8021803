// Bytes of an original + a Transform → encoded bytes. Header first (limits, plan), then the steps in order,
// checking the deadline between them. Nothing here knows about HTTP.
import sharp, { type Metadata, type Sharp } from 'sharp';
import { KinuError } from '../errors.ts';
import { FORMAT_TABLE, formatOfMetadata, type OutputFormat } from '../formats.ts';
import type { Overlay, Transform } from '../transform.ts';
import type { AcceptClass } from './negotiate.ts';
import { animationTiming, checkLimits, makePlan, qualityFor, type Limits, type SourceInfo } from './plan.ts';
import { estimateCost, formatBytes } from './cost.ts';
import type { HeaderMemo } from './header-memo.ts';
import { checkPngCrc } from './png-crc.ts';
import { nextAnimated } from './next-animated.ts';
import { foreignEncode, foreignHeader, foreignSourceInfo, sniffForeign, toSharpInput } from './foreign/index.ts';
import { classify } from './sharp-errors.ts';
import { autoQualityOf, encodeAuto } from './quality/auto.ts';
import { type BestTrial, encodeBest } from './quality/best.ts';
import { encodeToFit } from './max-bytes.ts';
import { STEPS, type RawShape, type StepContext } from './steps/index.ts';
import { cropAfterTrim, trimImage } from './trim.ts';
import { readNinePatch } from './steps/frame.ts';
import { animationOf, encodeOptions } from './steps/encode.ts';

// libvips' operation cache keeps recent loads alive with what their decoders hold, which its memory cap does
// not see (a progressive 100 MP JPEG's coefficients: 600 MB per request, up to 100 operations). Every request
// brings a fresh buffer, so it never hits anyway; the variant caches are kinu's own.
sharp.cache(false);
// One libvips thread per image, whatever the allocator: parallelism comes from KINU_CONCURRENCY images on the
// libuv pool, and the memory budget's per-format costs were measured so. sharp 0.35 picks cores per image when
// MALLOC_ARENA_MAX is set (as deploy/ sets it) and 1 otherwise; this makes dev and production the same. Fixed, not
// raised while cores idle: libaom's AVIF bytes change with the thread count, and a URL's bytes must not follow load.
sharp.concurrency(1);

/** The overlay images the transform names (`overlayKeys`), fetched by the caller: `watermark`, `frame`. */
export interface PipelineOptions extends Readonly<Partial<Record<Overlay, Buffer>>> {
  readonly limits: Limits;
  readonly timeoutMs: number;
  readonly accept: AcceptClass;
  readonly signal?: AbortSignal;
  /** When the answer is due (epoch ms); default now + timeoutMs. Time spent before the pipeline counts. */
  readonly deadline?: number;
  /** Takes the plan's estimated peak from the memory budget, waiting while it is spent (the limiter's lease). */
  readonly reserve?: (bytes: number, signal?: AbortSignal) => Promise<void>;
  /** Headers already read, and this original's identity among them (its source key and version). */
  readonly header?: { readonly memo: HeaderMemo; readonly id: string };
}

export interface PipelineResult {
  readonly data: Buffer;
  readonly format: OutputFormat;
  readonly width: number;
  readonly height: number;
  readonly frames: number;
  /** The quality `q=auto` or `maxBytes` chose; undefined when neither ran (a number, a lossless format, …). */
  readonly quality: number | undefined;
  /** `fmt=best`: every format tried, in the plan's order (absent when one format was all there was to try). */
  readonly trials?: readonly BestTrial[];
  /** Milliseconds: header + plan + steps queued, then the libvips run and encode. */
  readonly timings: { readonly process: number; readonly encode: number };
}

export async function runPipeline(input: Buffer, t: Transform, opts: PipelineOptions): Promise<PipelineResult> {
  const t0 = performance.now();
  const deadline = opts.deadline ?? Date.now() + opts.timeoutMs;
  // libvips' own timeout (checked as it computes) is what stops pixel work that has already started.
  const seconds = Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
  const check = () => {
    opts.signal?.throwIfAborted();
    if (Date.now() > deadline)
      throw new KinuError('processing_timeout', `processing took longer than ${opts.timeoutMs} ms`);
  };
  // Whether every frame of the source was read: a failure is then judged against all of them (classify).
  let readFrames = false;
  const load = (data: Buffer, animated: boolean, raw?: RawShape): Sharp => {
    if (!raw && animated) readFrames = true;
    return (
      raw
        ? sharp(data, { raw, limitInputPixels: opts.limits.maxPixels })
        : sharp(data, {
            autoOrient: true,
            animated,
            failOn: 'warning',
            limitInputPixels: opts.limits.maxPixels,
            sequentialRead: true,
          })
    ).timeout({ seconds });
  };

  // What sharp cannot decode (HEIC, …) is read from its own header here, and decoded off-thread into a carrier
  // sharp reads (foreign/) only once its memory is reserved; its format stays its own (default output JPEG).
  const foreign = sniffForeign(input) !== undefined;
  let carried: Buffer | undefined;
  try {
    const foreignOpts = {
      maxPixels: opts.limits.maxPixels,
      deadline,
      signal: opts.signal,
      settings: opts.limits.foreign,
    };
    // A foreign header is read in a codec thread: remembered like sharp's, it costs that round trip once.
    let src = opts.header?.memo.get(opts.header.id, input.length);
    if (!src) {
      const info: SourceInfo & { bytes: number } = foreign
        ? foreignSourceInfo(await foreignHeader(input, foreignOpts), input.length)
        : { ...sourceInfo(await sharp(input, { limitInputPixels: false }).metadata()), bytes: input.length };
      opts.header?.memo.set(opts.header.id, info);
      src = info;
    }
    if (src.format === 'png') checkPngCrc(input);
    if (t.nextjs) {
      // Next.js serves an animation unoptimized (no resize, no re-encode) and refuses SVG by default.
      if (t.nextjs === 'as-is' && nextAnimated(input, src)) {
        const { width, height, frames } = src;
        const format = src.format as 'gif' | 'png' | 'webp';
        const timings = { process: performance.now() - t0, encode: 0 };
        return { data: input, format, width, height, frames, quality: undefined, timings };
      }
      if (src.format === 'svg')
        throw new KinuError('invalid_param', 'url: "url" parameter is valid but image type is not allowed (SVG)');
    }
    checkLimits(src, opts.limits);

    let base = input;
    let decoded = !foreign;
    const carrier = async (): Promise<Buffer> => {
      if (!decoded) {
        base = carried = (await toSharpInput(input, { ...foreignOpts, expect: src })).data;
        decoded = true;
      }
      return base;
    };
    let baseRaw: RawShape | undefined;
    // libvips cannot trim below 3×3 pixels, and there is no border to cut from such an image anyway.
    if (t.trim !== undefined && src.width >= 3 && src.height >= 3) {
      // Trim changes the size the geometry depends on, so it runs first and the plan sees its result; it holds
      // the whole decoded image (4 bytes a pixel, and as much again while it is found) beside what the decoder holds.
      const trimBytes =
        estimateCost({
          sourceFormat: src.format,
          sourceWidth: src.width,
          sourceHeight: src.height,
          sourceLayout: src.layout,
          inputBytes: input.length,
          format: 'png',
          width: 1,
          height: 1,
          frames: 1,
          sourceFrames: src.frames,
          wholeImage: false,
        }).bytes +
        src.width * src.height * (t.trimCorner || t.trimEqual ? 12 : 8); // decoded once more to read a corner or to even the cuts
      if (trimBytes > (opts.limits.memoryBytes ?? Infinity)) {
        throw new KinuError(
          'too_many_pixels',
          `trimming this ${src.width}×${src.height} original needs about ${formatBytes(trimBytes)}; the memory budget (KINU_MEMORY_BUDGET) is ${formatBytes(opts.limits.memoryBytes!)}`,
        );
      }
      await opts.reserve?.(trimBytes, opts.signal);
      const { data, info, left, top } = await trimImage(load(await carrier(), false), t, (d, raw) =>
        load(d, false, raw),
      );
      // A crop measured on the untrimmed image (thumbor's) becomes one on the trimmed image, or none.
      if (t.cropUntrimmed && t.crop)
        t = { ...t, crop: cropAfterTrim(t.crop, { left, top, width: info.width, height: info.height }) };
      base = data;
      baseRaw = { width: info.width, height: info.height, channels: info.channels };
      src = {
        ...src,
        width: info.width,
        height: info.height,
        frames: 1,
        hasAlpha: info.channels === 4 || info.channels === 2,
        layout: undefined,
      };
      check();
    }

    // thumbor's frame pads the image by its borders: they are read first, so the plan knows the output's size.
    const frame = t.frame === undefined ? undefined : await readNinePatch(t.frame, opts.frame);
    const plan = makePlan(src, t, opts.accept, opts.limits, frame?.pad);
    await opts.reserve?.(plan.cost.bytes, opts.signal);
    check();
    const ctx: StepContext = { watermark: opts.watermark, frame, load: (d, raw) => load(d, false, raw) };
    let img = baseRaw ? load(base, false, baseRaw) : load(await carrier(), plan.animated);
    for (const step of STEPS) {
      if (!step.applies(plan)) continue;
      img = await step.apply(img, plan, ctx);
      check();
    }
    const t1 = performance.now();
    // A writer outside sharp (JPEG XL) gets sharp's raw pixels and encodes them in the codec pool.
    const external = FORMAT_TABLE[plan.format].write?.external;
    const fit = t.maxBytes !== undefined && plan.quality !== undefined && !external ? t.maxBytes : undefined;
    const auto = fit === undefined ? autoQualityOf(plan) : undefined;
    if (fit === undefined && plan.candidates) {
      const q = t.quality;
      const best = await encodeBest(
        img,
        plan.candidates,
        (f) => qualityFor(t, f),
        typeof q === 'string' ? q : undefined,
        ctx.load,
        check,
      );
      return {
        data: best.data,
        format: best.format,
        width: best.info.width,
        height: best.info.height,
        frames: 1,
        quality: best.quality,
        trials: best.trials,
        timings: { process: t1 - t0, encode: performance.now() - t1 },
      };
    }
    const { data, info, choice } =
      fit !== undefined
        ? await encodeToFit(img, plan.format, plan.quality!, fit, animationOf(plan), check, encodeOptions(plan)).then(
            (r) => ({
              ...r,
              choice: { quality: r.quality },
            }),
          )
        : auto
          ? await encodeAuto(img, plan.format, auto, ctx.load)
          : { ...(await img.toBuffer({ resolveWithObject: true })), choice: undefined };
    check();
    const out = external
      ? await foreignEncode(
          plan.format,
          data,
          { width: info.width, height: info.height, channels: info.channels, quality: plan.quality!, ...external },
          { deadline, signal: opts.signal, settings: opts.limits.foreign },
        )
      : data;
    return {
      data: out,
      format: plan.format,
      width: info.width,
      height: info.pageHeight ?? info.height,
      frames: plan.animated ? (info.pages ?? src.frames) : 1,
      quality: choice?.quality,
      timings: { process: t1 - t0, encode: performance.now() - t1 },
    };
  } catch (err) {
    if (opts.signal?.aborted && err === opts.signal.reason) throw err;
    // A foreign original is judged by its carrier (its decoder's own failures are typed already): sharp
    // cannot decode the original itself.
    const judged = foreign ? carried : input;
    throw await classify(
      err,
      async () => {
        if (judged) await decodeSource(judged, { animated: readFrames, maxPixels: opts.limits.maxPixels, seconds });
      },
      judged,
    );
  }
}

/**
 * Decodes every row of the source (of every frame when `animated`) with the pipeline's load options, keeping
 * none of it: shrunk as it streams, with shrink-on-load off so the decoder reads what a full-size request would.
 */
export async function decodeSource(
  input: Buffer,
  o: { animated: boolean; maxPixels: number; seconds: number },
): Promise<void> {
  await sharp(input, { animated: o.animated, failOn: 'warning', limitInputPixels: o.maxPixels, sequentialRead: true })
    .timeout({ seconds: o.seconds })
    .resize({ width: 16, height: 16, fit: 'inside', withoutEnlargement: true, fastShrinkOnLoad: false })
    .raw()
    .toBuffer();
}

/**
 * Format (the table's name; sharp's for formats outside it), size after auto-orient, per frame, and the
 * animation's timing; what the table marks unread (HEVC) is refused here, before libvips tries to decode it.
 * Every number read from the file is bounded here, before any of it reaches an encoder option.
 */
export function sourceInfo(meta: Metadata): SourceInfo {
  const name = formatOfMetadata(meta);
  const row = name === undefined ? undefined : FORMAT_TABLE[name];
  if (row && !row.read) {
    throw new KinuError(
      'unsupported_format',
      `${row.label} originals cannot be decoded by this build; convert them to JPEG or AVIF`,
    );
  }
  if (!meta.format || !positive(meta.width) || !positive(meta.height))
    throw new KinuError('unsupported_format', 'the original is not an image kinu can read');
  // Only GIF and WebP pages are frames of an animation; other pages (TIFF, HEIF items) are separate
  // pictures, of which the first alone is read.
  const frames = row?.frames === true && positive(meta.pages) ? meta.pages : 1;
  const height =
    frames > 1 && positive(meta.pageHeight) && meta.pageHeight <= meta.height ? meta.pageHeight : meta.height;
  const orientation = meta.orientation ?? 1;
  const swap = orientation >= 5 && orientation <= 8;
  return {
    format: name ?? meta.format,
    width: swap ? height : meta.width,
    height: swap ? meta.width : height,
    frames,
    hasAlpha: meta.hasAlpha ?? false,
    ...animationTiming(frames, meta.delay, meta.loop),
    layout: {
      progressive: meta.isProgressive === true,
      channels: positive(meta.channels) ? meta.channels : 4,
      sampleBytes: meta.depth === 'ushort' || meta.depth === 'short' ? 2 : 1,
      chroma: meta.chromaSubsampling,
    },
  };
}

const positive = (v: number | undefined): v is number => Number.isInteger(v) && v! > 0;
