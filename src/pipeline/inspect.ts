// What an original is, proven by decoding it: for uploads (nothing is stored that kinu could not serve) and
// for /_kinu/info. The same limits as the pipeline apply, checked from the header before any decoding.
import sharp, { type Metadata } from 'sharp';
import { KinuError } from '../errors.ts';
import { FORMAT_TABLE, sourceFormat, type FormatName } from '../formats.ts';
import { estimateCost } from './cost.ts';
import { checkLimits, type Limits, type SourceInfo } from './plan.ts';
import { checkPngCrc } from './png-crc.ts';
import { foreignHeader, foreignSourceInfo, sniffForeign, toSharpInput } from './foreign/index.ts';
import { sourceInfo } from './pipeline.ts';
import { classify, fromSharpError } from './sharp-errors.ts';

export interface ImageInfo {
  /** After EXIF orientation, per frame. */
  readonly width: number;
  readonly height: number;
  /** jpeg, png, webp, gif, avif, tiff, svg, … (AVIF is not reported as sharp's "heif"). */
  readonly format: string;
  /** The file extension a content-addressed key gets. */
  readonly ext: string;
  readonly mime: string;
  readonly bytes: number;
  /** EXIF orientation 1–8 (1 when absent). */
  readonly orientation: number;
  readonly hasAlpha: boolean;
  readonly frames: number;
  /** libvips' interpretation: srgb, cmyk, b-w, rgb16, … */
  readonly space: string;
  readonly hasIcc: boolean;
  /** Bits per sample of the coded picture: 8, or 10/12 (HEIC, AVIF), 16 (PNG, TIFF). */
  readonly bitDepth: number;
}

/** The formats kinu accepts as originals: those it reads. */
const ACCEPTED = (Object.keys(FORMAT_TABLE) as FormatName[]).filter((n) => FORMAT_TABLE[n].read);

/** File extensions each accepted format may be stored under (the format table's). */
export const EXTENSIONS: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  ACCEPTED.map((n) => [n, FORMAT_TABLE[n].extensions]),
);

export async function inspectImage(
  input: Buffer,
  limits: Limits,
  opts: { timeoutSeconds?: number; reserve?: (bytes: number) => Promise<void> } = {},
): Promise<ImageInfo> {
  if (input.length === 0) throw new KinuError('unsupported_format', 'the body is empty');
  if (sniffForeign(input) !== undefined) return inspectForeign(input, limits, opts);
  let meta: Metadata;
  const header = () => sharp(input, { limitInputPixels: false }).metadata();
  try {
    meta = await header();
  } catch (err) {
    throw fromSharpError(await classify(err, header, input));
  }
  const src = sourceInfo(meta);
  const format = src.format;
  const name = sourceFormat(format);
  if (name === undefined || !FORMAT_TABLE[name].read) {
    const labels = ACCEPTED.map((n) => FORMAT_TABLE[n].label);
    throw new KinuError(
      'unsupported_format',
      `${format} originals are not accepted; send ${labels.slice(0, -1).join(', ')} or ${labels.at(-1)}`,
    );
  }
  const kind = FORMAT_TABLE[name];
  checkLimits(src, limits);
  await opts.reserve?.(proofCost(src, input.length));
  if (format === 'png') checkPngCrc(input);
  // Every row of every frame is decoded, as delivery would, so a truncated body fails here and not later;
  // shrunk as it streams, so memory stays small however large the original.
  const decodeAll = () =>
    sharp(input, {
      animated: src.frames > 1,
      failOn: 'warning',
      limitInputPixels: limits.maxPixels,
      sequentialRead: true,
    })
      .timeout({ seconds: opts.timeoutSeconds ?? 30 })
      .resize({ width: 64, height: 64, fit: 'inside', withoutEnlargement: true })
      .raw()
      .toBuffer();
  try {
    await decodeAll();
  } catch (err) {
    throw fromSharpError(await classify(err, decodeAll, input));
  }
  return {
    width: src.width,
    height: src.height,
    format,
    ext: kind.extensions[0]!,
    mime: kind.mime,
    bytes: input.length,
    orientation: meta.orientation ?? 1,
    hasAlpha: src.hasAlpha,
    frames: src.frames,
    space: meta.space ?? 'unknown',
    hasIcc: meta.icc !== undefined || meta.hasProfile === true,
    bitDepth: meta.bitsPerSample ?? (meta.depth === 'ushort' || meta.depth === 'short' ? 16 : 8),
  };
}

/** An original sharp cannot decode (foreign/): its header for the limits, then the whole decode as proof. */
async function inspectForeign(
  input: Buffer,
  limits: Limits,
  opts: { timeoutSeconds?: number; reserve?: (bytes: number) => Promise<void> },
): Promise<ImageInfo> {
  const fo = {
    maxPixels: limits.maxPixels,
    deadline: Date.now() + (opts.timeoutSeconds ?? 30) * 1000,
    settings: limits.foreign,
  };
  const header = await foreignHeader(input, fo);
  const src = foreignSourceInfo(header, input.length);
  checkLimits(src, limits);
  await opts.reserve?.(proofCost(src, input.length));
  const carrier = await toSharpInput(input, { ...fo, expect: src });
  const kind = FORMAT_TABLE[sourceFormat(src.format)!];
  return {
    width: src.width,
    height: src.height,
    format: src.format,
    ext: kind.extensions[0]!,
    mime: kind.mime,
    bytes: input.length,
    // The decoder applies the file's own rotation (HEIF irot/imir): the pixels are upright.
    orientation: 1,
    hasAlpha: src.hasAlpha,
    frames: src.frames,
    space: carrier.channels >= 3 ? (carrier.depth === 16 ? 'rgb16' : 'srgb') : carrier.depth === 16 ? 'grey16' : 'b-w',
    hasIcc: carrier.hasIcc,
    bitDepth: header.bitDepth,
  };
}

/** The proof decode holds what the source's decoder holds: uploads take their share of the memory budget too. */
function proofCost(src: SourceInfo, inputBytes: number): number {
  return estimateCost({
    sourceFormat: src.format,
    sourceWidth: src.width,
    sourceHeight: src.height,
    sourceLayout: src.layout,
    inputBytes,
    format: 'png',
    width: 64,
    height: 64,
    frames: src.frames,
    sourceFrames: src.frames,
    wholeImage: false,
  }).bytes;
}
