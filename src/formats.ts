// Facts about output formats, as one table: no `if (format === 'jpeg')` anywhere else.
import type { Sharp } from 'sharp';

export const OUTPUT_FORMATS = ['jpeg', 'png', 'webp', 'avif', 'gif'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface FormatInfo {
  readonly mime: string;
  readonly ext: string;
  readonly alpha: boolean;
  readonly animation: boolean;
  /** Default quality when `q` is absent; undefined where the encoder is lossless or palette-based and ignores `q`. */
  readonly quality: number | undefined;
  /** Largest width or height the encoder can write. */
  readonly maxSide: number;
  /** What one output pixel (per frame) costs to write, peak bytes and single-thread nanoseconds: measured with
   *  sharp 0.34 on an x86-64 core (see pipeline/cost.ts); AVIF's encoder is the costly one. `stoppable`: libvips'
   *  timeout can stop the encoder midway (row-wise writers); the others run to the end once started. */
  readonly cost: { readonly bytesPerPixel: number; readonly nsPerPixel: number; readonly stoppable: boolean };
  readonly encode: (img: Sharp, quality: number | undefined, animation?: Animation) => Sharp;
}

/** Frame delays (ms) and play count (0 = forever) of an animated output; undefined keeps the decoder's. */
export interface Animation { delay: number[] | undefined; loop: number | undefined }

// Efforts are chosen for on-demand work: an image is encoded while a browser waits.
export const FORMATS: Readonly<Record<OutputFormat, FormatInfo>> = {
  jpeg: {
    mime: 'image/jpeg', ext: 'jpg', alpha: false, animation: false, quality: 80, maxSide: 65535, cost: { bytesPerPixel: 7, nsPerPixel: 70, stoppable: true },
    encode: (img, q) => img.jpeg({ quality: q, progressive: false, chromaSubsampling: '4:2:0' }),
  },
  png: {
    mime: 'image/png', ext: 'png', alpha: true, animation: false, quality: undefined, maxSide: 65535, cost: { bytesPerPixel: 3, nsPerPixel: 90, stoppable: true },
    encode: (img) => img.png({ compressionLevel: 6, adaptiveFiltering: false }),
  },
  webp: {
    mime: 'image/webp', ext: 'webp', alpha: true, animation: true, quality: 80, maxSide: 16383, cost: { bytesPerPixel: 8, nsPerPixel: 200, stoppable: false },
    encode: (img, q, anim) => img.webp({ quality: q, effort: 4, ...anim }),
  },
  avif: {
    mime: 'image/avif', ext: 'avif', alpha: true, animation: false, quality: 50, maxSide: 65535, cost: { bytesPerPixel: 36, nsPerPixel: 500, stoppable: false },
    encode: (img, q) => img.avif({ quality: q, effort: 2 }),
  },
  gif: {
    mime: 'image/gif', ext: 'gif', alpha: true, animation: true, quality: undefined, maxSide: 65535, cost: { bytesPerPixel: 14, nsPerPixel: 250, stoppable: false },
    encode: (img, _q, anim) => img.gif({ effort: 7, ...anim }),
  },
};

/** Input formats as sharp's metadata() names them, and the output a request without `fmt` gets. */
const DEFAULT_OUTPUT: Readonly<Record<string, OutputFormat>> = {
  jpeg: 'jpeg', png: 'png', webp: 'webp', gif: 'gif', heif: 'avif',
};

/** The source's own format where browsers can show it; otherwise JPEG, or PNG where alpha must survive. */
export function defaultOutputFormat(inputFormat: string, hasAlpha: boolean): OutputFormat {
  return DEFAULT_OUTPUT[inputFormat] ?? (hasAlpha ? 'png' : 'jpeg');
}

/** Content types of originals served unchanged, by file extension. */
const ORIGINAL_TYPES: Readonly<Record<string, string>> = {
  jpg: 'image/jpeg', jpeg: 'image/jpeg', jpe: 'image/jpeg', png: 'image/png', webp: 'image/webp',
  avif: 'image/avif', avifs: 'image/avif', gif: 'image/gif', svg: 'image/svg+xml', svgz: 'image/svg+xml',
  tif: 'image/tiff', tiff: 'image/tiff', heic: 'image/heic', heif: 'image/heif', jxl: 'image/jxl',
};

/** `.svgz` is gzip-compressed SVG: browsers need `Content-Encoding: gzip` to read it. */
export function originalContentEncoding(key: string): string | undefined {
  return key.toLowerCase().endsWith('.svgz') ? 'gzip' : undefined;
}

export function originalContentType(key: string): string {
  const dot = key.lastIndexOf('.');
  const ext = dot < 0 ? '' : key.slice(dot + 1).toLowerCase();
  return (Object.hasOwn(ORIGINAL_TYPES, ext) ? ORIGINAL_TYPES[ext] : undefined) ?? 'application/octet-stream';
}
