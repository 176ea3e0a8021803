// What a pipeline will cost, estimated from its plan before any pixel is decoded: peak bytes (for the
// limiter's memory budget) and single-thread encode time (to refuse what can never finish in KINU_TIMEOUT).
// Figures are peaks measured with sharp 0.34 (VmHWM of a fresh process, bench/hostile.ts prints estimate
// against measurement); they err on the high side, since an underestimate is what lets a process be killed.
import { FORMAT_TABLE, FORMATS, sourceFormat, type OutputFormat } from '../formats.ts';

export interface Cost {
  readonly bytes: number;
  readonly ms: number;
}

/** libvips, codec contexts and thread stacks of one pipeline, whatever its size. */
const FIXED_BYTES = 24 * 1024 * 1024;

/**
 * Bytes per decoded source pixel for decoders that hold the whole image, from the format table (libheif for
 * AVIF: 18, libwebp decodes to RGBA: 8). JPEG, PNG, GIF and TIFF are read row by row (sequentialRead), so their
 * decode cost is the rows the resize needs, covered by FIXED_BYTES, except progressive JPEG and interlaced PNG
 * (see wholeDecodeBytesPerPixel).
 */
function decodeOf(format: string): {
  bytesPerPixel: number;
  shrinks: boolean;
  highDepthBytesPerPixel?: number;
  allFrames?: true;
} {
  const n = sourceFormat(format);
  return (n === undefined ? undefined : FORMAT_TABLE[n].decode) ?? { bytesPerPixel: 0, shrinks: false };
}

/** What the header says about how the pixels are laid out: whether a row-wise decoder must hold them all. */
export interface SourceLayout {
  /** Progressive JPEG or interlaced (Adam7) PNG. */
  readonly progressive: boolean;
  readonly channels: number;
  /** Bytes per sample as decoded (a 16-bit PNG: 2). */
  readonly sampleBytes: number;
  /** JPEG chroma subsampling as sharp names it (`4:2:0`, `4:4:4`, …). */
  readonly chroma?: string | undefined;
}

/**
 * A progressive JPEG keeps every DCT coefficient until the last scan (2 B per sample of each component, chroma
 * at its subsampled share: 2.9 B/px measured for 4:2:0, 5.8 for 4:4:4, even when shrunk on load); an
 * interlaced PNG is decoded whole before its first row is out (7.8 B/px measured for 16-bit RGBA).
 */
function wholeDecodeBytesPerPixel(format: string, l: SourceLayout | undefined): number {
  if (!l?.progressive) return 0;
  if (format === 'png') return l.channels * l.sampleBytes;
  if (format !== 'jpeg') return 0;
  const share = l.chroma?.startsWith('4:2:0')
    ? 0.25
    : l.chroma?.startsWith('4:2:2') || l.chroma?.startsWith('4:4:0')
      ? 0.5
      : 1;
  const components = l.channels >= 3 ? 1 + 2 * share + (l.channels - 3) : l.channels;
  return 2 * components;
}

/** Each further frame a whole-animation decoder holds: its RGBA pixels and their copy in the carrier (8-bit). */
const HELD_FRAME_BYTES = 8;

/** Steps that need the whole output in memory at once (libvips cannot stream a quarter turn or a trim). */
const WHOLE_IMAGE_BYTES_PER_PIXEL = 4;

export interface CostInput {
  readonly sourceFormat: string;
  readonly sourceWidth: number;
  readonly sourceHeight: number;
  readonly sourceLayout?: SourceLayout | undefined;
  readonly inputBytes: number;
  readonly format: OutputFormat;
  readonly width: number;
  readonly height: number;
  readonly frames: number;
  /** sharp decodes at full size whatever the output (its gamma() turns shrink-on-load off). */
  readonly fullDecode?: boolean;
  /** Frames of the original (1 for a still): what a decoder that holds them all (`decode.allFrames`) keeps. */
  readonly sourceFrames?: number;
  /** A step that materialises the whole image (rotate, flip, trim, watermark, per-frame effects). */
  readonly wholeImage: boolean;
}

export function estimateCost(c: CostInput): Cost {
  const outPixels = c.width * c.height * c.frames;
  const decode = decodeOf(c.sourceFormat);
  // libwebp and libjpeg decode at a reduced scale when the output is much smaller; libheif never does.
  const shrink =
    decode.shrinks && !c.fullDecode
      ? Math.max(1, Math.floor(Math.min(c.sourceWidth / c.width, c.sourceHeight / c.height)))
      : 1;
  const decoded = (c.sourceWidth * c.sourceHeight) / (shrink * shrink);
  const { bytesPerPixel, nsPerPixel } = FORMATS[c.format].cost;
  const heldFrames = decode.allFrames ? Math.max(0, (c.sourceFrames ?? 1) - 1) : 0;
  const whole = c.sourceWidth * c.sourceHeight * wholeDecodeBytesPerPixel(c.sourceFormat, c.sourceLayout);
  const bytes =
    FIXED_BYTES +
    c.inputBytes +
    decoded *
      (c.sourceLayout?.sampleBytes === 2
        ? (decode.highDepthBytesPerPixel ?? decode.bytesPerPixel)
        : decode.bytesPerPixel) +
    whole +
    heldFrames * c.sourceWidth * c.sourceHeight * (c.sourceLayout?.sampleBytes === 2 ? 2 : 1) * HELD_FRAME_BYTES +
    outPixels * bytesPerPixel +
    (c.wholeImage ? outPixels * WHOLE_IMAGE_BYTES_PER_PIXEL : 0);
  return { bytes: Math.ceil(bytes), ms: (outPixels * nsPerPixel) / 1e6 };
}

export function formatBytes(n: number): string {
  return n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GiB` : `${Math.round(n / 1024 ** 2)} MiB`;
}
