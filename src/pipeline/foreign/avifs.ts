// AVIF image sequences (brand `avis`), which the prebuilt sharp refuses outright: every frame of the sequence's
// track (avis.ts reads where each AV1 sample lies and how long it shows; av1.ts decodes it with dav1d), with its
// alpha track, handed over as frames with their timing like an animated JPEG XL. (libvips' heifload reads HEIF
// items, not tracks: it would give only the still image such files may carry.) Runs inside a foreign-decoder
// worker (pool.ts), like jxl.ts.
import { KinuError } from '../../errors.ts';
import { Av1Decoder, toRgb } from './av1.ts';
import { readSequence, type Sequence } from './avis.ts';
import type { ForeignHeader, ForeignImage } from './types.ts';

export { heapBytes } from './av1.ts';

export function header(bytes: Uint8Array): ForeignHeader {
  return sequenceHeader(readSequence(bytes));
}

function sequenceHeader(seq: Sequence): ForeignHeader {
  const { color, alpha } = seq;
  const frames = color.samples.length;
  return {
    format: 'avif',
    width: color.width,
    height: color.height,
    frames,
    ...(frames > 1 ? { delay: color.samples.map((s) => s.ms), loop: seq.loop } : {}),
    bitDepth: color.config.bitDepth,
    hasAlpha: alpha !== undefined,
  };
}

export function decode(bytes: Uint8Array, o: { maxPixels: number }): ForeignImage {
  const seq = readSequence(bytes);
  const h = sequenceHeader(seq);
  if (h.width * h.height * h.frames > o.maxPixels) {
    throw new KinuError(
      'too_many_pixels',
      `the AVIF sequence has ${h.frames} × ${h.width}×${h.height} pixels, over the limit of ${o.maxPixels}`,
    );
  }
  const depth = h.bitDepth > 8 ? 16 : 8;
  const channels = h.hasAlpha ? 4 : 3;
  const frameBytes = h.width * h.height * channels * (depth / 8);
  const data = new Uint8Array(frameBytes * h.frames);
  const colour = new Av1Decoder(h.width * h.height);
  const alpha = seq.alpha ? new Av1Decoder(h.width * h.height) : undefined;
  try {
    for (let f = 0; f < h.frames; f++) {
      // Alpha first, its plane copied out: the colour decode may grow the wasm heap, detaching older views.
      let a: Parameters<typeof toRgb>[2];
      if (alpha && seq.alpha) {
        const as = seq.alpha.samples[f]!;
        const apic = alpha.decode(bytes.subarray(as.offset, as.offset + as.size));
        expectSize(apic, h, 'alpha frame', f);
        const planes = [apic.planes[0].slice(), apic.planes[1], apic.planes[2]] as const;
        a = { pic: { ...apic, planes }, fullRange: (seq.alpha.nclx ?? apic.nclx).fullRange };
      }
      const s = seq.color.samples[f]!;
      const pic = colour.decode(bytes.subarray(s.offset, s.offset + s.size));
      expectSize(pic, h, 'frame', f);
      // The container's colour description wins over the bitstream's (as in libavif).
      const nclx = seq.color.nclx ?? pic.nclx;
      toRgb(pic, nclx, a, data, f * frameBytes, depth);
    }
  } finally {
    colour.close();
    alpha?.close();
  }
  const icc = seq.color.icc;
  return {
    width: h.width,
    height: h.height,
    channels,
    depth,
    data,
    ...(icc ? { icc } : {}),
    frames: h.frames,
    ...(h.delay ? { delay: h.delay } : {}),
    ...(h.loop !== undefined ? { loop: h.loop } : {}),
    bitDepth: h.bitDepth,
  };
}

function expectSize(pic: { width: number; height: number }, h: ForeignHeader, what: string, f: number): void {
  if (pic.width !== h.width || pic.height !== h.height) {
    throw new KinuError(
      'corrupt_image',
      `the AVIF sequence's ${what} ${f} is ${pic.width}×${pic.height}, its track says ${h.width}×${h.height}`,
    );
  }
}
