// libvips speaks in messages; this is the one place they are turned into kinu's typed errors.
import { KinuError, isKinuError } from '../errors.ts';
import { ftypBrands, isGif, isJpeg, isPng, isTiff, isWebp } from '../magic.ts';

const corrupt = () => new KinuError('corrupt_image', 'the original is damaged or truncated and cannot be decoded');
const unsupported = () => new KinuError('unsupported_format', 'the original is not in a format kinu can decode');

/**
 * The words each decoder family signs its lines with (its loader's name). A line signed by another family than the
 * source's is another thread's failure, read from the shared buffer: it is dropped before the message is matched.
 */
const FAMILIES: readonly [(b: Uint8Array) => boolean, RegExp][] = [
  [isJpeg, /VipsJpeg|jpegload|jpeg2vips/i],
  [isPng, /vipspng|pngload|libspng|libpng|\b(IHDR|IDAT|PLTE|IEND|tRNS|iCCP|[zi]TXt|tEXt)\b/],
  [isGif, /gifload|nsgif/i],
  [isWebp, /webp2vips|webpload/i],
  [isTiff, /tiff2vips|tiffload/i],
  [(b) => ftypBrands(b) !== undefined, /heifload|^heif:/im],
  [(b) => Buffer.from(b.buffer, b.byteOffset, Math.min(b.length, 1024)).includes('<svg'), /svgload|rsvg/i],
];

/** Whether a decoder signed some line of the message. */
const signedByDecoder = (m: string) => FAMILIES.some(([, re]) => re.test(m));

/**
 * Each rule says whose words it reads. sharp's own (a pixel limit, a timeout, a channel limit, no loader) belong to
 * the call that threw. A decoder's come through libvips' error buffer, one for the whole process: a failure on
 * another thread can empty it or add its own text before sharp reads it, so they are `heard`, to be confirmed.
 * sharp's "Warning treated as error due to failOn setting" names nothing: it is what sharp says when that buffer
 * was empty, followed by whatever warnings any thread queued.
 */
const RULES: readonly [(m: string) => boolean, () => KinuError, 'own' | 'heard'][] = [
  [
    (m) => /exceeds pixel limit/i.test(m),
    () => new KinuError('too_many_pixels', 'the original has more pixels than the configured limit'),
    'own',
  ],
  [
    (m) => /timeout: \d+% complete/i.test(m),
    () => new KinuError('processing_timeout', 'processing took longer than the configured time limit'),
    'own',
  ],
  // sharp ≥ 0.35 refuses more than 5 bands (limitInputChannels): a valid file, but no picture kinu can serve.
  [
    (m) => /exceeds channel limit/i.test(m),
    () =>
      new KinuError('unsupported_format', 'the original has more than 5 channels (bands), which kinu does not decode'),
    'own',
  ],
  [(m) => /contains unsupported image format/i.test(m), unsupported, 'own'],
  [
    (m) =>
      /unsupported image format|not built in|not supported by this decoder|compression (support|method) is not configured|unsupported (image )?(type|compression)/i.test(
        m,
      ),
    unsupported,
    'heard',
  ],
  // A header sharp could not read, or a line a decoder signed: the source's bytes are at fault.
  [(m) => /corrupt header|premature end/i.test(m) || signedByDecoder(m), corrupt, 'heard'],
];

/** The lines of `message` that the source's own decoder may have written (all of them for an unknown source). */
function ownLines(message: string, source: Uint8Array | undefined): { message: string; signed: boolean } {
  const mine = source && FAMILIES.find(([sniff]) => sniff(source));
  if (!mine) return { message, signed: false };
  const others = FAMILIES.filter((f) => f !== mine).map(([, re]) => re);
  const lines = message.split('\n').filter((line) => !others.some((re) => re.test(line)));
  return { message: lines.join('\n'), signed: lines.some((line) => mine[1].test(line)) };
}

/**
 * The typed error for a libvips message that names its cause, and whether its words came from the shared buffer.
 * Given the source, lines another decoder family wrote are ignored.
 */
export function readSharpError(
  err: unknown,
  source?: Uint8Array,
): { error: KinuError; heard: boolean; signed: boolean } | undefined {
  if (isKinuError(err)) return { error: err, heard: false, signed: false };
  const { message, signed } = ownLines(err instanceof Error ? err.message : String(err), source);
  for (const [matches, make, whose] of RULES) {
    if (matches(message)) {
      const e = make();
      return { error: new KinuError(e.code, e.detail, { cause: err }), heard: whose === 'heard', signed };
    }
  }
  return undefined;
}

/** The typed error for a libvips message that names its cause, or undefined. */
export function matchSharpError(err: unknown): KinuError | undefined {
  return readSharpError(err)?.error;
}

/** Classify an error thrown while decoding the source: anything unrecognised means its bytes are damaged. */
export function fromSharpError(err: unknown): KinuError {
  return matchSharpError(err) ?? new KinuError('corrupt_image', corrupt().detail, { cause: err });
}

/**
 * libvips decodes lazily, so a failure anywhere may come from the source's bytes or from kinu itself. An
 * error that names no known cause is blamed on the source (422) only if the source alone fails to decode,
 * read as the pipeline read it (every frame, or only the first); otherwise it is ours and stays
 * unclassified, for the error boundary to log as a 500.
 *
 * A decoder's message comes through libvips' error buffer and sharp's warning queue, one each for the whole
 * process: another thread's failure can empty them or put its own text in them (an old-style-JPEG TIFF was
 * once answered "damaged" with a JPEG's warning). So a cause heard there counts once two readings agree — the
 * pipeline's and decodes of the source alone, up to `DECODE_TRIES` — and a reading signed by the source's own
 * decoder (`FAMILIES`) outweighs one in words any thread may write. Only failures pay for it.
 */
export async function classify(err: unknown, decode: () => Promise<unknown>, source?: Uint8Array): Promise<unknown> {
  const first = readSharpError(err, source);
  if (first && !first.heard) return first.error;
  const readings: Reading[] = first ? [first] : [];
  let failed: unknown;
  for (let i = 0; i < DECODE_TRIES; i++) {
    try {
      await decode();
    } catch (decodeErr) {
      const r = readSharpError(decodeErr, source);
      if (r && !r.heard) return r.error;
      failed ??= decodeErr;
      if (!r) continue;
      readings.push(r);
      const agreed = verdict(readings, EARLY);
      if (agreed) return agreed;
      continue;
    }
    // The source decodes alone: a cause the pipeline named stands (it read the source its own way); none is ours.
    return first?.error ?? err;
  }
  return verdict(readings, () => 1) ?? fromSharpError(failed);
}

const DECODE_TRIES = 3;
/**
 * Readings that settle a cause before the tries run out: two signed by the source's decoder, or three in words any
 * thread may write (sharp's fixed "Warning treated as error" follows any thread's warning, so two are not enough).
 */
const EARLY = (signed: boolean) => (signed ? 2 : 3);

type Reading = { error: KinuError; signed: boolean };

/** The cause named by at least `votes` readings (the earliest on a tie): among those the source's decoder signed if any. */
function verdict(readings: readonly Reading[], votes: (signed: boolean) => number): KinuError | undefined {
  const signed = readings.filter((r) => r.signed);
  const pool = signed.length > 0 ? signed : readings;
  let best: Reading | undefined;
  let most = 0;
  for (const r of pool) {
    const n = pool.filter((o) => o.error.code === r.error.code).length;
    if (n > most) [best, most] = [r, n];
  }
  return best && most >= votes(signed.length > 0) ? best.error : undefined;
}
