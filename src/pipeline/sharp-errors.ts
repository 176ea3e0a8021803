// libvips speaks in messages; this is the one place they are turned into kinu's typed errors.
import { KinuError, isKinuError } from '../errors.ts';

const corrupt = () => new KinuError('corrupt_image', 'the original is damaged or truncated and cannot be decoded');

const RULES: readonly [RegExp, (m: string) => KinuError][] = [
  [
    /exceeds pixel limit/i,
    () => new KinuError('too_many_pixels', 'the original has more pixels than the configured limit'),
  ],
  [
    /timeout: \d+% complete/i,
    () => new KinuError('processing_timeout', 'processing took longer than the configured time limit'),
  ],
  [
    /unsupported image format|not built in|not supported by this decoder|compression support is not configured|unsupported (image )?(type|compression)/i,
    () => new KinuError('unsupported_format', 'the original is not in a format kinu can decode'),
  ],
  // sharp ≥ 0.35 refuses more than 5 bands (limitInputChannels): a valid file, but no picture kinu can serve.
  [
    /exceeds channel limit/i,
    () =>
      new KinuError('unsupported_format', 'the original has more than 5 channels (bands), which kinu does not decode'),
  ],
  // Messages that name a decoder: the source's bytes are at fault. With failOn, sharp reports a decoder's
  // warning as this fixed text (the warning itself may be missing: libvips keeps one queue for all threads).
  [
    /Warning treated as error due to failOn|corrupt header|premature end|VipsJpeg|jpegload|pngload|libspng|vipspng|gifload|webp2vips|webpload|heifload|tiff2vips|svgload|rsvg/i,
    corrupt,
  ],
];

/** The typed error for a libvips message that names its cause, or undefined. */
export function matchSharpError(err: unknown): KinuError | undefined {
  if (isKinuError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  for (const [re, make] of RULES) {
    if (re.test(message)) {
      const e = make(message);
      return new KinuError(e.code, e.detail, { cause: err });
    }
  }
  return undefined;
}

/** Classify an error thrown while decoding the source: anything unrecognised means its bytes are damaged. */
export function fromSharpError(err: unknown): KinuError {
  return matchSharpError(err) ?? new KinuError('corrupt_image', corrupt().detail, { cause: err });
}
