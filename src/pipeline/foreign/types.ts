// What a decoder outside sharp (WebAssembly HEVC and JPEG XL, the BMP and ICO readers) hands the pipeline:
// pixels sharp can take as they are, with the colour profile and the animation they came with.

/** A picture's size and frame count read from the file's header, before any decoding: the limits are
 *  checked against it (pixels, frames, memory budget) exactly as for sharp's own formats. */
export interface ForeignHeader {
  /** The format table's name: heic, heif, jxl, bmp, ico, avif. */
  readonly format: string;
  /** As displayed: after the file's own rotation (HEIF irot/imir, JXL orientation), per frame. */
  readonly width: number;
  readonly height: number;
  readonly frames: number;
  /** Bits per sample of the coded picture (8, 10, 12, 16). */
  readonly bitDepth: number;
  readonly hasAlpha: boolean;
  /** An animation's per-frame delays in ms and play count (0 = forever), where the header gives them (JPEG XL). */
  readonly delay?: readonly number[];
  readonly loop?: number;
}

/** Decoded pixels, upright (any rotation the file asks for already applied), interleaved. */
export interface ForeignImage {
  readonly width: number;
  /** Height of one frame; frames are stacked top to bottom in `data`. */
  readonly height: number;
  readonly channels: 1 | 2 | 3 | 4;
  /** 8: one byte a sample; 16: little-endian uint16 samples (10/12-bit content scaled to the full 16-bit range). */
  readonly depth: 8 | 16;
  readonly data: Uint8Array;
  /** The embedded ICC profile, if any (Display P3 on iPhones); the pipeline converts to sRGB with it. */
  readonly icc?: Uint8Array;
  readonly frames: number;
  /** Per-frame delays in ms and the play count (0 = forever) of an animation. */
  readonly delay?: readonly number[];
  readonly loop?: number;
  /** Bits per sample of the coded picture, for /_kinu/info. */
  readonly bitDepth: number;
}

/** A picture already in a format sharp reads, handed over undecoded: the PNG inside an ICO (ico.ts). Its size
 *  is the PNG's own header's, for the limits and the carrier. */
export interface ForeignEncoded {
  readonly png: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly bitDepth: number;
  readonly hasAlpha: boolean;
}
