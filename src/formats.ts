// Every image format kinu knows, input and output, as one table: its names, how sharp reports it, its mime
// and extensions, what kinu does with it, its limits and costs. No `if (format === 'jpeg')` anywhere else:
// adding a format is adding a row (ARCHITECTURE.md, checklist "A format").
import type { Sharp } from 'sharp';

/** Frame delays (ms) and play count (0 = forever) of an animated output; undefined keeps the decoder's. */
export interface Animation {
  delay: number[] | undefined;
  loop: number | undefined;
}

/** What writing a format takes and allows. */
export interface Writer {
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
  readonly encode: (
    img: Sharp,
    quality: number | undefined,
    animation?: Animation,
    opts?: { readonly progressive?: boolean },
  ) => Sharp;
  /** Encoded outside sharp, by a WebAssembly codec in the codec pool (pipeline/foreign/): `encode` then gives 8-bit
   *  sRGB raw pixels, which the pipeline hands to that codec with this effort and the quality. */
  readonly external?: { readonly effort: number };
  /** How `q=auto` searches this encoder's quality scale (pipeline/quality/auto.ts): the quality that meets the
   *  `auto` target on a typical photo, score points per quality step there, the range. Absent: `q=auto` is ignored. */
  readonly auto?: { readonly start: number; readonly slope: number; readonly min: number; readonly max: number };
}

export interface FormatRow {
  /** How messages name it. */
  readonly label: string;
  /** Other spellings users and dialects may use (the row's key is the canonical name); unique across the table. */
  readonly aliases: readonly string[];
  /** How sharp's metadata() reports it. sharp names AVIF and HEIC both `heif`, told apart by `compression`. */
  readonly sharp?: { readonly format: string; readonly compression?: string };
  /** Content-Type of the format, and of an image sequence in it where that has its own. */
  readonly mime: string;
  readonly sequenceMime?: string;
  /** File extensions, lower case; the first is the one kinu gives a key. Unique across the table. */
  readonly extensions: readonly string[];
  /** kinu decodes it (with the prebuilt sharp); unread formats are still served as originals. */
  readonly read: boolean;
  /** Its pages are the frames of one animation (elsewhere pages are separate pictures: the first is read). */
  readonly frames?: boolean;
  /** Peak bytes per source pixel of a decoder that holds the whole image, and whether it decodes at a reduced
   *  scale when the output is much smaller (see pipeline/cost.ts). Absent: read row by row, in FIXED_BYTES. */
  readonly decode?: {
    readonly bytesPerPixel: number;
    readonly shrinks: boolean;
    /** When its samples are over 8 bits (a 10- or 12-bit AVIF decodes to 16-bit planes: 23.5 B/px measured). */
    readonly highDepthBytesPerPixel?: number;
    /** Every frame of an animation is decoded before sharp reads any (the decoders outside sharp: an animated
     *  JPEG XL, an AVIF sequence), and held with its carrier copy: each frame past the first costs that too. */
    readonly allFrames?: true;
  };
  /** Which browsers show it: every one (a safe fallback), or those whose Accept names its mime, `rank` ordering
   *  what `fmt=auto` offers (smaller first). Absent: none, or too few to send it unasked. */
  readonly browsers?: 'all' | { readonly accept: number };
  /** The output a request without `fmt` gets from it; absent: JPEG, or PNG where alpha must survive. */
  readonly defaultOutput?: string;
  /** The output a request without `fmt` gets when it keeps the animation of an original whose `defaultOutput`
   *  cannot animate (an AVIF sequence: libvips cannot write one). */
  readonly animatedOutput?: string;
  readonly write?: Writer;
}

// Efforts are chosen for on-demand work: an image is encoded while a browser waits. The output formats come
// first, in the order `fmt` lists them.
const TABLE = {
  jpeg: {
    label: 'JPEG',
    aliases: ['jpg', 'jpe'],
    sharp: { format: 'jpeg' },
    mime: 'image/jpeg',
    extensions: ['jpg', 'jpeg', 'jpe'],
    read: true,
    browsers: 'all',
    defaultOutput: 'jpeg',
    write: {
      alpha: false,
      animation: false,
      quality: 80,
      maxSide: 65535,
      cost: { bytesPerPixel: 7, nsPerPixel: 70, stoppable: true },
      encode: (img, q, _anim, o) =>
        img.jpeg({ quality: q, progressive: o?.progressive ?? false, chromaSubsampling: '4:2:0' }),
      auto: { start: 60, slope: 0.45, min: 20, max: 95 },
    },
  },
  png: {
    label: 'PNG',
    aliases: [],
    sharp: { format: 'png' },
    mime: 'image/png',
    extensions: ['png'],
    read: true,
    browsers: 'all',
    defaultOutput: 'png',
    write: {
      alpha: true,
      animation: false,
      quality: undefined,
      maxSide: 65535,
      cost: { bytesPerPixel: 3, nsPerPixel: 90, stoppable: true },
      encode: (img) => img.png({ compressionLevel: 6, adaptiveFiltering: false }),
    },
  },
  webp: {
    label: 'WebP',
    aliases: [],
    sharp: { format: 'webp' },
    mime: 'image/webp',
    extensions: ['webp'],
    read: true,
    frames: true,
    decode: { bytesPerPixel: 8, shrinks: true },
    browsers: { accept: 2 },
    defaultOutput: 'webp',
    write: {
      alpha: true,
      animation: true,
      quality: 80,
      maxSide: 16383,
      cost: { bytesPerPixel: 8, nsPerPixel: 200, stoppable: false },
      encode: (img, q, anim) => img.webp({ quality: q, effort: 4, ...anim }),
      auto: { start: 72, slope: 0.4, min: 20, max: 95 },
    },
  },
  // libheif holds the picture and its YUV planes (17.5 B/px measured) and never shrinks on load; libvips cannot
  // write (nor, with the prebuilt sharp, read) AVIF sequences.
  avif: {
    label: 'AVIF',
    aliases: [],
    sharp: { format: 'heif', compression: 'av1' },
    mime: 'image/avif',
    extensions: ['avif', 'avifs'],
    read: true,
    decode: { bytesPerPixel: 18, shrinks: false, highDepthBytesPerPixel: 24, allFrames: true },
    browsers: { accept: 1 },
    defaultOutput: 'avif',
    // Every browser that shows an AVIF sequence shows an animated WebP, which keeps alpha and 24-bit colour.
    animatedOutput: 'webp',
    write: {
      alpha: true,
      animation: false,
      quality: 50,
      maxSide: 65535,
      cost: { bytesPerPixel: 36, nsPerPixel: 500, stoppable: false },
      // Effort 0 (sharp 0.35, 8 corpus photos): at 1200 px 140 ms CPU against effort 2's 854 and WebP's 192, for
      // 4–6 % more bytes at 1–2.5 points less SSIMULACRA 2. tune 'iq' (libaom's SSIMULACRA 2 tuning, sharp's default
      // for AV1) beats 'ssim' on that metric: 'ssim' gave 3–31 % more bytes (README, "Quality").
      encode: (img, q) => img.avif({ quality: q, effort: 0, tune: 'iq' }),
      auto: { start: 56, slope: 0.8, min: 20, max: 90 },
    },
  },
  gif: {
    label: 'GIF',
    aliases: [],
    sharp: { format: 'gif' },
    mime: 'image/gif',
    extensions: ['gif'],
    read: true,
    frames: true,
    browsers: 'all',
    defaultOutput: 'gif',
    write: {
      alpha: true,
      animation: true,
      quality: undefined,
      maxSide: 65535,
      cost: { bytesPerPixel: 14, nsPerPixel: 250, stoppable: false },
      encode: (img, _q, anim) => img.gif({ effort: 7, ...anim }),
    },
  },
  tiff: {
    label: 'TIFF',
    aliases: ['tif'],
    sharp: { format: 'tiff' },
    mime: 'image/tiff',
    extensions: ['tif', 'tiff'],
    read: true,
  },
  svg: {
    label: 'SVG',
    aliases: [],
    sharp: { format: 'svg' },
    mime: 'image/svg+xml',
    extensions: ['svg', 'svgz'],
    read: true,
  },
  // HEVC HEIF: not in the prebuilt sharp; decoded by libheif in WebAssembly (pipeline/foreign/heic.ts, off-thread)
  // into a TIFF sharp reads. Its peak, measured with the codec thread (VmHWM, 8.5 MP iPhone photo): 13 B/px from
  // dist/, 19 under tsx (HEVC planes, RGB in the wasm heap, its copy, the carrier) beside the thread's own ≈30 MB
  // (≈65 under tsx); 16-bit doubles the pixel buffers. Never shrinks on load: a 400 px JPEG from 12 MP decodes
  // all 12 MP (≈110 ms CPU per MP).
  heic: {
    label: 'HEIC',
    aliases: [],
    sharp: { format: 'heif', compression: 'hevc' },
    mime: 'image/heic',
    sequenceMime: 'image/heic-sequence',
    extensions: ['heic'],
    read: true,
    decode: { bytesPerPixel: 20, shrinks: false, highDepthBytesPerPixel: 36 },
  },
  heif: {
    label: 'HEIF',
    aliases: [],
    mime: 'image/heif',
    sequenceMime: 'image/heif-sequence',
    extensions: ['heif'],
    read: true,
    decode: { bytesPerPixel: 20, shrinks: false, highDepthBytesPerPixel: 36 },
  },
  // Known as images (served as originals, named by dialects) but not decoded yet (issue 16).
  // JPEG XL: not in the prebuilt sharp; libjxl in WebAssembly (wasm-vips, pipeline/foreign/jxl.ts, off-thread)
  // decodes it into a TIFF sharp reads and encodes sharp's raw output. Measured in the codec thread (VmHWM):
  // decode ≈13 B/px beside the thread's own ≈180 MB (+ the carrier and sharp's read), encode ≈31 B/px; warm CPU
  // ≈85 ms/MP to decode, ≈95 ms/MP to encode at effort 3 (a fresh thread's first job costs 1–2 s more).
  // Quality and effort, and why fmt=auto offers it before AVIF: README "fmt=auto".
  jxl: {
    label: 'JPEG XL',
    aliases: [],
    sharp: { format: 'jxl' },
    mime: 'image/jxl',
    extensions: ['jxl'],
    read: true,
    frames: true,
    decode: { bytesPerPixel: 20, shrinks: false, highDepthBytesPerPixel: 30, allFrames: true },
    browsers: { accept: 0 },
    write: {
      alpha: true,
      animation: false,
      quality: 75,
      maxSide: 65535,
      // The pool terminates the codec thread at the deadline, so an encode is stopped midway.
      cost: { bytesPerPixel: 40, nsPerPixel: 250, stoppable: true },
      encode: (img) => img.toColourspace('srgb').raw({ depth: 'uchar' }),
      external: { effort: 3 },
    },
  },
  // Read by kinu's own readers (pipeline/foreign/bmp.ts, ico.ts), in process: the decoded RGB(A) and the TIFF
  // that carries it to sharp are both held whole (3–4 B/px each, 10.9 B/px peak measured for 32-bit RGBA).
  bmp: {
    label: 'BMP',
    aliases: [],
    mime: 'image/bmp',
    extensions: ['bmp'],
    read: true,
    decode: { bytesPerPixel: 11, shrinks: false },
  },
  ico: {
    label: 'ICO',
    aliases: [],
    mime: 'image/x-icon',
    extensions: ['ico'],
    read: true,
    decode: { bytesPerPixel: 11, shrinks: false },
    defaultOutput: 'png',
  },
} as const satisfies Readonly<Record<string, FormatRow>>;

export type FormatName = keyof typeof TABLE;
/** The formats kinu writes: the rows with a writer. */
export type OutputFormat = { [K in FormatName]: (typeof TABLE)[K] extends { write: Writer } ? K : never }[FormatName];

/** The formats `fmt=auto` offers only to browsers whose Accept names them. */
export type NegotiatedFormat = {
  [K in FormatName]: (typeof TABLE)[K] extends { browsers: { accept: number } } ? K : never;
}[FormatName];

/** Every row, by canonical name, in table order. */
export const FORMAT_TABLE: Readonly<Record<FormatName, FormatRow>> = TABLE;
const ROWS = Object.entries(FORMAT_TABLE) as [FormatName, FormatRow][];

export const OUTPUT_FORMATS = ROWS.filter(([, r]) => r.write).map(([n]) => n) as unknown as readonly [
  OutputFormat,
  ...OutputFormat[],
];

export interface FormatInfo extends Writer {
  readonly mime: string;
  readonly ext: string;
}

/** The output formats with their writers, mime and extension. */
export const FORMATS = Object.fromEntries(
  ROWS.flatMap(([n, r]) => (r.write ? [[n, { ...r.write, mime: r.mime, ext: r.extensions[0]! }]] : [])),
) as Readonly<Record<OutputFormat, FormatInfo>>;

const BY_SPELLING = new Map<string, FormatName>(
  ROWS.flatMap(([n, r]) => [[n, n], ...r.aliases.map((a) => [a, n] as [string, FormatName])]),
);
const BY_EXTENSION = new Map<string, FormatName>(
  ROWS.flatMap(([n, r]) => r.extensions.map((e) => [e, n] as [string, FormatName])),
);

/** The row a name or alias spells, in any case. */
export function formatNamed(spelling: string): FormatName | undefined {
  return BY_SPELLING.get(spelling.toLowerCase());
}

/** The row of a source's format as the pipeline names it: sharp's name or kinu's (sharp's `heif` alone is AVIF,
 *  the one HEIF the prebuilt sharp reads; sourceInfo tells them apart by compression). */
export function sourceFormat(format: string): FormatName | undefined {
  const own = formatNamed(format);
  // kinu's own `heif` (HEVC, decoded outside sharp) is not sharp's `heif`.
  if (own !== undefined && FORMAT_TABLE[own].sharp === undefined) return own;
  return ROWS.find(([, r]) => r.sharp?.format === format)?.[0] ?? own;
}

/** The output format a name or alias spells, if kinu writes it. */
export function outputNamed(spelling: string): OutputFormat | undefined {
  const n = formatNamed(spelling);
  return n !== undefined && FORMAT_TABLE[n].write ? (n as OutputFormat) : undefined;
}

/** The row sharp's metadata() describes; undefined for a format outside the table (jp2k, pdf, …). */
export function formatOfMetadata(meta: {
  format?: string | undefined;
  compression?: string | undefined;
}): FormatName | undefined {
  const matches = ROWS.filter(([, r]) => r.sharp !== undefined && r.sharp.format === meta.format);
  return (matches.find(([, r]) => r.sharp!.compression === undefined || r.sharp!.compression === meta.compression) ??
    matches[0])?.[0];
}

/** The row a file extension names (any case, without the dot). */
export function formatOfExtension(ext: string): FormatName | undefined {
  return BY_EXTENSION.get(ext.toLowerCase());
}

/** The format every browser shows that keeps what the image needs: JPEG, PNG for alpha, GIF for animation. */
export function fallbackFormat(need: { alpha: boolean; animated: boolean }): OutputFormat {
  return OUTPUT_FORMATS.find((n) => {
    const r = FORMAT_TABLE[n];
    return r.browsers === 'all' && (!need.alpha || r.write!.alpha) && (!need.animated || r.write!.animation);
  })!;
}

/** What `fmt=auto` may offer beyond the fallbacks: the formats a browser shows when its Accept names them, best first. */
export const NEGOTIATED_FORMATS = OUTPUT_FORMATS.filter((n) => typeof FORMAT_TABLE[n].browsers === 'object').sort(
  (a, b) => rank(a) - rank(b),
) as readonly NegotiatedFormat[];
function rank(n: FormatName): number {
  const b = FORMAT_TABLE[n].browsers;
  return typeof b === 'object' ? b.accept : Infinity;
}

/** The source's own format where browsers can show it; otherwise JPEG, or PNG where alpha must survive. */
export function defaultOutputFormat(inputFormat: string, hasAlpha: boolean, animated = false): OutputFormat {
  const n = sourceFormat(inputFormat);
  const row = n === undefined ? undefined : FORMAT_TABLE[n];
  const out = animated && row?.animatedOutput !== undefined ? row.animatedOutput : row?.defaultOutput;
  return out !== undefined ? (out as OutputFormat) : fallbackFormat({ alpha: hasAlpha, animated: false });
}

/** Content type of an original served unchanged, by its key's file extension. */
export function originalContentType(key: string): string {
  const dot = key.lastIndexOf('.');
  const n = dot < 0 ? undefined : formatOfExtension(key.slice(dot + 1));
  return n === undefined ? 'application/octet-stream' : FORMAT_TABLE[n].mime;
}

/** Largest side of any output, in pixels: kinu's limit, below what most encoders could write (Writer.maxSide). */
export const MAX_SIDE = 16384;
