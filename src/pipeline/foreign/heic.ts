// HEIC/HEIF with HEVC, decoded by libheif + libde265 compiled to WebAssembly (libheif-js), through libheif's C
// API: the primary image only, upright (libheif applies irot/imir/clap itself, so EXIF orientation must not be
// applied again), with its ICC profile. Synchronous and CPU-bound: it runs in the codec pool's worker (pool.ts).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { KinuError } from '../../errors.ts';
import type { ForeignHeader, ForeignImage } from './types.ts';

/** The part of libheif's C API used here (emscripten exports; struct results come through a pointer first). */
interface Libheif {
  HEAPU8: Uint8Array;
  _malloc(n: number): number;
  _free(p: number): void;
  _heif_context_alloc(): number;
  _heif_context_free(ctx: number): void;
  _heif_context_get_security_limits(ctx: number): number;
  _heif_context_set_security_limits(err: number, ctx: number, limits: number): void;
  _heif_context_read_from_memory_without_copy(err: number, ctx: number, mem: number, size: number, opt: number): void;
  _heif_context_get_primary_image_handle(err: number, ctx: number, out: number): void;
  _heif_image_handle_release(h: number): void;
  _heif_image_handle_get_width(h: number): number;
  _heif_image_handle_get_height(h: number): number;
  _heif_image_handle_has_alpha_channel(h: number): number;
  _heif_image_handle_get_luma_bits_per_pixel(h: number): number;
  _heif_image_handle_get_raw_color_profile_size(h: number): number;
  _heif_image_handle_get_raw_color_profile(err: number, h: number, out: number): void;
  _heif_decode_image(err: number, h: number, out: number, colorspace: number, chroma: number, opt: number): void;
  _heif_image_release(img: number): void;
  _heif_decoding_options_alloc(): number;
  _heif_decoding_options_free(o: number): void;
  _heif_image_get_width(img: number, channel: number): number;
  _heif_image_get_height(img: number, channel: number): number;
  _heif_image_get_plane_readonly(img: number, channel: number, stride: number): number;
}

// libheif's enums (heif_colorspace, heif_chroma, heif_channel, heif_error_code, heif_suberror_code).
const COLORSPACE_RGB = 1;
const CHROMA = { rgb: 10, rgba: 11, rrggbbLE: 14, rrggbbaaLE: 15 } as const;
const CHANNEL_INTERLEAVED = 10;
const ERR_UNSUPPORTED_FILETYPE = 3;
const ERR_UNSUPPORTED_FEATURE = 4;
const SUBERR_SECURITY_LIMIT = 1000;
/** Offset of `max_image_size_pixels` (uint64) in `struct heif_security_limits` (after the uint8 version). */
const LIMITS_MAX_PIXELS = 8;
/** Room for `struct heif_security_limits` (80 bytes in v4), copied whole before one field is changed. */
const LIMITS_SIZE = 128;
/** Offset of `strict_decoding` (uint8) in `struct heif_decoding_options` (wasm32: after the version, a flag, four
 *  pointers and a flag). Strict: a missing or broken grid tile (a truncated file) is an error, not a grey hole. */
const OPTIONS_STRICT = 21;

let lib: Libheif | undefined;
/** Instantiated on the first HEIC (≈0.2 s, ≈17 MB), so a worker that never sees one never holds it. */
function libheif(): Libheif {
  if (lib) return lib;
  const require = createRequire(import.meta.url);
  const js = require.resolve('libheif-js/libheif-wasm/libheif.js');
  const wasmBinary = readFileSync(js.replace(/libheif\.js$/, 'libheif.wasm'));
  lib = (require(js) as (o: object) => Libheif)({ wasmBinary });
  return lib;
}

/** Bytes the WebAssembly heap holds now: it only grows, so the pool recycles a worker that grew large. */
export function heapBytes(): number {
  return lib?.HEAPU8.length ?? 0;
}

/** One parsed file: its context, its primary image handle, and what must be freed. */
interface Opened {
  readonly m: Libheif;
  readonly ctx: number;
  readonly handle: number;
  readonly scratch: number;
  readonly input: number;
}

function open(bytes: Uint8Array, maxPixels: number | undefined): Opened {
  const m = libheif();
  // scratch: heif_error (12 bytes) at 0, out-pointers at 16 and 20, the security limits from 32.
  const scratch = m._malloc(32 + LIMITS_SIZE);
  const ctx = m._heif_context_alloc();
  const input = m._malloc(Math.max(1, bytes.length));
  const o = { m, ctx, handle: 0, scratch, input };
  try {
    if (maxPixels !== undefined) {
      const limits = scratch + 32;
      const current = m._heif_context_get_security_limits(ctx);
      m.HEAPU8.copyWithin(limits, current, current + LIMITS_SIZE);
      const v = new DataView(m.HEAPU8.buffer, limits + LIMITS_MAX_PIXELS, 8);
      v.setBigUint64(0, BigInt(maxPixels), true);
      m._heif_context_set_security_limits(scratch, ctx, limits);
      check(m, scratch);
    }
    m.HEAPU8.set(bytes, input);
    m._heif_context_read_from_memory_without_copy(scratch, ctx, input, bytes.length, 0);
    check(m, scratch);
    m._heif_context_get_primary_image_handle(scratch, ctx, scratch + 16);
    check(m, scratch);
    return { ...o, handle: new Int32Array(m.HEAPU8.buffer, scratch + 16, 1)[0]! };
  } catch (err) {
    close(o);
    throw err;
  }
}

function close(o: Opened): void {
  if (o.handle) o.m._heif_image_handle_release(o.handle);
  o.m._heif_context_free(o.ctx);
  o.m._free(o.input);
  o.m._free(o.scratch);
}

/** Throws the typed error for a `struct heif_error` whose code is not 0. */
function check(m: Libheif, err: number): void {
  const [code, sub, msgPtr] = new Int32Array(m.HEAPU8.buffer, err, 3);
  if (!code) return;
  const end = msgPtr ? m.HEAPU8.indexOf(0, msgPtr) : -1;
  const message = end > 0 ? Buffer.from(m.HEAPU8.subarray(msgPtr!, Math.min(end, msgPtr! + 300))).toString() : '';
  if (sub === SUBERR_SECURITY_LIMIT)
    throw new KinuError('too_many_pixels', `the HEIF original exceeds a decoding limit (${message})`);
  if (code === ERR_UNSUPPORTED_FILETYPE || code === ERR_UNSUPPORTED_FEATURE)
    throw new KinuError('unsupported_format', `the HEIF original uses what kinu cannot decode (${message})`);
  throw new KinuError('corrupt_image', `the HEIF original is damaged or truncated (${message})`);
}

function describe(o: Opened): ForeignHeader {
  const { m, handle } = o;
  const bitDepth = m._heif_image_handle_get_luma_bits_per_pixel(handle);
  return {
    format: 'heic',
    width: m._heif_image_handle_get_width(handle),
    height: m._heif_image_handle_get_height(handle),
    frames: 1,
    bitDepth: bitDepth > 0 ? bitDepth : 8,
    hasAlpha: m._heif_image_handle_has_alpha_channel(handle) !== 0,
  };
}

/** Size as displayed (rotation and crop applied), bit depth and alpha of the primary image; nothing decoded. */
export function header(bytes: Uint8Array): ForeignHeader {
  const o = open(bytes, undefined);
  try {
    return describe(o);
  } finally {
    close(o);
  }
}

/** The primary image's pixels, upright: 8-bit RGB(A), or 16-bit for 10/12-bit content; its ICC profile. */
export function decode(bytes: Uint8Array, opts: { maxPixels: number }): ForeignImage {
  const o = open(bytes, opts.maxPixels);
  const { m, handle, scratch } = o;
  let img = 0;
  try {
    const h = describe(o);
    const deep = h.bitDepth > 8;
    const channels = h.hasAlpha ? 4 : 3;
    const chroma = deep ? (h.hasAlpha ? CHROMA.rrggbbaaLE : CHROMA.rrggbbLE) : h.hasAlpha ? CHROMA.rgba : CHROMA.rgb;
    const options = m._heif_decoding_options_alloc();
    m.HEAPU8[options + OPTIONS_STRICT] = 1;
    try {
      m._heif_decode_image(scratch, handle, scratch + 16, COLORSPACE_RGB, chroma, options);
    } finally {
      m._heif_decoding_options_free(options);
    }
    check(m, scratch);
    img = new Int32Array(m.HEAPU8.buffer, scratch + 16, 1)[0]!;
    const width = m._heif_image_get_width(img, CHANNEL_INTERLEAVED);
    const height = m._heif_image_get_height(img, CHANNEL_INTERLEAVED);
    const plane = m._heif_image_get_plane_readonly(img, CHANNEL_INTERLEAVED, scratch + 20);
    if (!plane || width <= 0 || height <= 0) throw new KinuError('corrupt_image', 'the HEIF original has no picture');
    const stride = new Int32Array(m.HEAPU8.buffer, scratch + 20, 1)[0]!;
    const row = width * channels * (deep ? 2 : 1);
    const data = new Uint8Array(row * height);
    const heap = m.HEAPU8;
    for (let y = 0; y < height; y++) data.set(heap.subarray(plane + y * stride, plane + y * stride + row), y * row);
    if (deep) widen(data, h.bitDepth);
    const iccSize = m._heif_image_handle_get_raw_color_profile_size(handle);
    let icc: Uint8Array | undefined;
    if (iccSize > 0) {
      const p = m._malloc(iccSize);
      try {
        m._heif_image_handle_get_raw_color_profile(scratch, handle, p);
        check(m, scratch);
        icc = m.HEAPU8.slice(p, p + iccSize);
      } finally {
        m._free(p);
      }
    }
    return {
      width,
      height,
      channels,
      depth: deep ? 16 : 8,
      data,
      ...(icc ? { icc } : {}),
      frames: 1,
      bitDepth: h.bitDepth,
    };
  } finally {
    if (img) m._heif_image_release(img);
    close(o);
  }
}

/** 10- or 12-bit little-endian samples scaled to the full 16-bit range (bit replication), in place. */
function widen(data: Uint8Array, bits: number): void {
  const s = new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
  const up = 16 - bits;
  const down = bits - up;
  for (let i = 0; i < s.length; i++) s[i] = (s[i]! << up) | (s[i]! >> down);
}
