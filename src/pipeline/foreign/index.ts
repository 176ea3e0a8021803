// Originals sharp cannot decode (issue 16): which decoder reads them, their header for the limits, and the
// carrier that hands their pixels to sharp (tiff.ts). WebAssembly codecs (HEIC, JPEG XL, AVIF sequences) run in
// the codec pool's threads (pool.ts); kinu's small readers (BMP, ICO) run in process.
import { KinuError } from '../../errors.ts';
import { FORMAT_TABLE, type FormatName } from '../../formats.ts';
import { ftypBrands, IMAGE_BRANDS, isBmp, isIco, isJxl } from '../../magic.ts';
import { animationTiming, type SourceInfo } from '../plan.ts';
import { runInPool } from './pool.ts';
import { toTiff } from './tiff.ts';
import type { ForeignEncoded, ForeignHeader, ForeignImage } from './types.ts';
import * as ico from './ico.ts';
import type { EncodeShape } from './worker.ts';

/** What the server lets through (settings, handed down from server.ts with the limits). */
export interface ForeignSettings {
  /** Codec threads at most (KINU_CODEC_WORKERS). */
  readonly workers: number;
  /** HEIC/HEIF with HEVC in (KINU_HEIC): off where the HEVC patents are a concern. */
  readonly heic: boolean;
}

export const DEFAULT_FOREIGN: ForeignSettings = { workers: 1, heic: true };

export interface ForeignOptions {
  readonly maxPixels: number;
  /** Epoch ms: a decode still running then is stopped (its worker terminated) with a 504. */
  readonly deadline: number;
  readonly signal?: AbortSignal | undefined;
  readonly settings?: ForeignSettings | undefined;
}

/** A reader run in process: cheap, bounded by the header's size, and sync or async. */
interface InProcess {
  header(bytes: Uint8Array): ForeignHeader | Promise<ForeignHeader>;
  decode(
    bytes: Uint8Array,
    opts: { maxPixels: number },
  ): ForeignImage | ForeignEncoded | Promise<ForeignImage | ForeignEncoded>;
}

type Decoder = { readonly where: 'pool' } | ({ readonly where: 'process' } & InProcess);

/** Every foreign format with its decoder. A pool codec also has its line in worker.ts `CODECS`. */
const DECODERS: Partial<Record<FormatName, Decoder>> = {
  heic: { where: 'pool' },
  heif: { where: 'pool' },
  jxl: { where: 'pool' },
  // AVIF sequences (brand avis) only: sharp refuses them; still AVIF is sharp's. Every frame, from the track.
  avif: { where: 'pool' },
  // Pure JS, but a 100 MP BMP takes 1–2 s to unpack: off the thread that serves requests, like the others.
  bmp: { where: 'pool' },
  ico: { where: 'process', header: ico.header, decode: ico.decode },
};

/** The image properties of a HEIF file sit near its start (meta box); its coded data after. */
const HEAD = 64 * 1024;

/**
 * Which foreign decoder reads these bytes, from their magic numbers (magic.ts; source/sniff.ts tells images apart
 * for serving, this tells which decoder). HEIF is HEVC when a
 * brand says so, or when a generic HEIF (mif1) holds an hvcC property; AVIF stays sharp's.
 */
export function sniffForeign(b: Uint8Array): FormatName | undefined {
  const found = ((): FormatName | undefined => {
    const list = ftypBrands(b);
    if (list) {
      if (list[0] === 'avis') return 'avif';
      if (list.includes('avif') || list.includes('avis')) return undefined;
      if (list.some((x) => IMAGE_BRANDS[x]?.format === 'heic')) return 'heic';
      const head = Buffer.from(b.buffer, b.byteOffset, Math.min(b.length, HEAD));
      return (list.includes('mif1') || list.includes('msf1')) && head.includes('hvcC') ? 'heif' : undefined;
    }
    if (isJxl(b)) return 'jxl';
    if (isBmp(b)) return 'bmp';
    if (isIco(b)) return 'ico';
    return undefined;
  })();
  // The format table's `read` turns a decoder on: a row still marked unread stays a 415 from sharp.
  return found !== undefined && DECODERS[found] && FORMAT_TABLE[found].read ? found : undefined;
}

/** Refuses what this server is set not to read, naming the setting. */
function allowed(format: FormatName, s: ForeignSettings): void {
  if ((format === 'heic' || format === 'heif') && !s.heic)
    throw new KinuError(
      'unsupported_format',
      `${FORMAT_TABLE[format].label} (HEVC) originals are turned off on this server (KINU_HEIC=false); convert them to JPEG or AVIF`,
    );
}

function decoderOf(bytes: Uint8Array, settings: ForeignSettings): [FormatName, Decoder] {
  const format = sniffForeign(bytes);
  if (format === undefined) throw new Error('not a foreign original (sniffForeign first)');
  allowed(format, settings);
  return [format, DECODERS[format]!];
}

/** The header of a foreign original: its size as displayed, frames, bit depth, alpha; nothing decoded. */
export async function foreignHeader(bytes: Uint8Array, opts: ForeignOptions): Promise<ForeignHeader> {
  const settings = opts.settings ?? DEFAULT_FOREIGN;
  const [format, d] = decoderOf(bytes, settings);
  const h =
    d.where === 'pool'
      ? await runInPool('header', format, bytes, opts.maxPixels, { ...opts, workers: settings.workers })
      : await d.header(bytes);
  // The table's name for what was sniffed (a HEVC HEIF is `heif`, named after its brand, not the codec's guess).
  return { ...h, format };
}

/** The header as the plan reads it: a foreign source keeps its own format (so its default output is JPEG). */
export function foreignSourceInfo(h: ForeignHeader, bytes: number): SourceInfo & { readonly bytes: number } {
  return {
    format: h.format,
    width: h.width,
    height: h.height,
    frames: h.frames,
    hasAlpha: h.hasAlpha,
    bytes,
    layout: { progressive: false, channels: h.hasAlpha ? 4 : 3, sampleBytes: h.bitDepth > 8 ? 2 : 1 },
    ...animationTiming(h.frames, h.delay, h.loop),
  };
}

export interface Carrier {
  /** An uncompressed TIFF sharp reads natively, ICC profile attached, upright: load it without autoOrient. */
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly frames: number;
  readonly channels: number;
  readonly depth: 8 | 16;
  readonly bitDepth: number;
  readonly hasIcc: boolean;
}

/**
 * Decodes a foreign original (off-thread for pool codecs, stopped at the deadline) into a carrier sharp reads.
 * `expect`: the header's size; pixels that do not match what the header promised are a damaged file.
 */
export async function toSharpInput(
  bytes: Uint8Array,
  opts: ForeignOptions & { expect?: { width: number; height: number } },
): Promise<Carrier> {
  const settings = opts.settings ?? DEFAULT_FOREIGN;
  const [format, d] = decoderOf(bytes, settings);
  let carrier: Carrier;
  if (d.where === 'pool') {
    const r = await runInPool('decode', format, bytes, opts.maxPixels, { ...opts, workers: settings.workers });
    const data = Buffer.from(r.carrier.buffer, r.carrier.byteOffset, r.carrier.byteLength);
    carrier = { ...r.image, data };
  } else {
    const img = await d.decode(bytes, { maxPixels: opts.maxPixels });
    if ('png' in img) {
      // Already in a format sharp reads (the PNG inside an ICO): it is its own carrier.
      const { png, width, height, bitDepth, hasAlpha } = img;
      const data = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
      const shape = { channels: hasAlpha ? 4 : 3, depth: bitDepth > 8 ? 16 : 8 } as const;
      carrier = { data, width, height, frames: 1, ...shape, bitDepth, hasIcc: false };
    } else {
      const { data: _d, icc, ...rest } = img;
      carrier = { ...rest, data: toTiff(img), hasIcc: icc !== undefined };
    }
  }
  if (opts.expect && (carrier.width !== opts.expect.width || carrier.height !== opts.expect.height)) {
    throw new KinuError(
      'corrupt_image',
      `the original declares ${opts.expect.width}×${opts.expect.height} pixels but decodes to ${carrier.width}×${carrier.height}`,
    );
  }
  return carrier;
}

/**
 * Encodes sharp's raw 8-bit output with a pool codec (a writer marked `external`: JPEG XL), off-thread and
 * stopped at the deadline like a decode.
 */
export async function foreignEncode(
  format: FormatName,
  raw: Buffer,
  shape: EncodeShape,
  opts: Omit<ForeignOptions, 'maxPixels'>,
): Promise<Buffer> {
  const settings = opts.settings ?? DEFAULT_FOREIGN;
  const poolOpts = { ...opts, workers: settings.workers };
  const r = await runInPool('encode', format, raw, shape.width * shape.height, poolOpts, shape);
  return Buffer.from(r.encoded.buffer, r.encoded.byteOffset, r.encoded.byteLength);
}
