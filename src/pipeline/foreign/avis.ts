// The track of an AVIF image sequence (brand avis, ISO/IEC 23008-12 §7 over ISOBMFF): where each frame's AV1
// sample lies, how long it shows, and the colour description, read from the moov box without decoding a pixel.
// libvips (and so wasm-vips) reads HEIF items, not tracks; this is the part of libavif's reader kinu needs.
import { KinuError } from '../../errors.ts';

export interface Av1Config {
  /** 8, 10 or 12, from av1C. */
  readonly bitDepth: number;
  readonly monochrome: boolean;
}

/** The container's nclx colour description (colr box), which wins over the AV1 sequence header's. */
export interface Nclx {
  readonly primaries: number;
  readonly transfer: number;
  readonly matrix: number;
  readonly fullRange: boolean;
}

export interface Track {
  readonly id: number;
  readonly width: number;
  readonly height: number;
  readonly config: Av1Config;
  readonly nclx?: Nclx;
  readonly icc?: Uint8Array;
  /** Per sample: its bytes' place in the file and its duration in ms. */
  readonly samples: readonly { readonly offset: number; readonly size: number; readonly ms: number }[];
}

export interface Sequence {
  readonly color: Track;
  /** The auxiliary alpha track, if the sequence has one. */
  readonly alpha?: Track;
  /** Play count, 0 = forever (an edit list with its repeat flag, or none). */
  readonly loop: number;
}

interface Box {
  readonly type: string;
  /** Content, after the header. */
  readonly start: number;
  readonly end: number;
}

const damaged = (what: string) => new KinuError('corrupt_image', `the AVIF sequence is damaged: ${what}`);
const unsupported = (what: string) => new KinuError('unsupported_format', `this AVIF sequence cannot be read: ${what}`);

class Reader {
  readonly v: DataView;
  constructor(readonly b: Uint8Array) {
    this.v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  need(at: number, n: number, what: string): void {
    if (at < 0 || at + n > this.b.length) throw damaged(`${what} runs past the end of the file`);
  }
  u8(at: number): number {
    this.need(at, 1, 'a box');
    return this.v.getUint8(at);
  }
  u16(at: number): number {
    this.need(at, 2, 'a box');
    return this.v.getUint16(at);
  }
  u32(at: number): number {
    this.need(at, 4, 'a box');
    return this.v.getUint32(at);
  }
  u64(at: number): number {
    this.need(at, 8, 'a box');
    const n = this.v.getBigUint64(at);
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw damaged('a 64-bit field is out of range');
    return Number(n);
  }
  type(at: number): string {
    this.need(at, 4, 'a box');
    return String.fromCharCode(...this.b.subarray(at, at + 4));
  }
  /** The boxes between start and end; a box whose size overruns its parent is damage. */
  boxes(start: number, end: number): Box[] {
    const out: Box[] = [];
    let at = start;
    while (at + 8 <= end) {
      let size = this.u32(at);
      const type = this.type(at + 4);
      let head = 8;
      if (size === 1) {
        size = this.u64(at + 8);
        head = 16;
      } else if (size === 0) size = end - at;
      if (size < head) throw damaged(`the ${type} box has a size of ${size}`);
      if (at + size > end) {
        throw damaged(
          end === this.b.length ? `the file ends inside its ${type} box (truncated)` : `${type} overruns its box`,
        );
      }
      out.push({ type, start: at + head, end: at + size });
      at += size;
    }
    return out;
  }
  child(parent: Box, type: string): Box | undefined {
    return this.boxes(parent.start, parent.end).find((x) => x.type === type);
  }
  need1(parent: Box, type: string): Box {
    const c = this.child(parent, type);
    if (!c) throw damaged(`${parent.type} has no ${type} box`);
    return c;
  }
}

/** The sequence's colour track and its alpha track. */
export function readSequence(bytes: Uint8Array): Sequence {
  const r = new Reader(bytes);
  const moov = r.boxes(0, bytes.length).find((x) => x.type === 'moov');
  if (!moov) throw unsupported('it has no moov box (no image sequence track)');
  const traks = r.boxes(moov.start, moov.end).filter((x) => x.type === 'trak');
  const parsed = traks.map((t) => readTrak(r, t));
  const visual = parsed.filter((t) => t.handler === 'pict' || t.handler === 'vide');
  const color = visual.find((t) => t.auxFor === undefined);
  if (!color) throw unsupported('it has no image sequence track');
  const alpha = parsed.find((t) => t.auxFor === color.track.id && t.alphaAux && t.handler === 'auxv');
  if (alpha && (alpha.track.width !== color.track.width || alpha.track.height !== color.track.height)) {
    throw unsupported('its alpha track is not the size of its colour track');
  }
  if (alpha && alpha.track.samples.length !== color.track.samples.length) {
    throw damaged('its alpha track and colour track have different frame counts');
  }
  return { color: color.track, ...(alpha ? { alpha: alpha.track } : {}), loop: color.loop };
}

function readTrak(r: Reader, trak: Box) {
  const tkhd = r.need1(trak, 'tkhd');
  const id = r.u32(tkhd.start + (r.u8(tkhd.start) === 1 ? 20 : 12));
  const tref = r.child(trak, 'tref');
  const auxl = tref && r.child(tref, 'auxl');
  const auxFor = auxl && auxl.end - auxl.start >= 4 ? r.u32(auxl.start) : undefined;
  const mdia = r.need1(trak, 'mdia');
  const mdhd = r.need1(mdia, 'mdhd');
  const timescale = r.u32(mdhd.start + (r.u8(mdhd.start) === 1 ? 20 : 12));
  const handler = r.type(r.need1(mdia, 'hdlr').start + 8);
  // An edit list whose flags say "repeat" loops forever; one that does not plays once.
  const elst = (() => {
    const edts = r.child(trak, 'edts');
    return edts && r.child(edts, 'elst');
  })();
  const loop = elst && (r.u32(elst.start) & 1) === 0 ? 1 : 0;
  const empty = { id, width: 0, height: 0, config: { bitDepth: 8, monochrome: false }, samples: [] };
  if (handler !== 'pict' && handler !== 'vide' && handler !== 'auxv') {
    return { handler, auxFor, alphaAux: false, loop, track: empty as Track };
  }
  const stbl = r.need1(r.need1(mdia, 'minf'), 'stbl');
  return { handler, auxFor, loop, ...readSampleTable(r, stbl, id, timescale) };
}

function readSampleTable(r: Reader, stbl: Box, id: number, timescale: number) {
  const stsd = r.need1(stbl, 'stsd');
  if (r.u32(stsd.start + 4) !== 1) throw unsupported('its track has more than one sample description');
  const [entry] = r.boxes(stsd.start + 8, stsd.end);
  if (!entry) throw damaged('its sample description is empty');
  if (entry.type !== 'av01') throw unsupported(`its frames are coded as ${entry.type}, not AV1`);
  // VisualSampleEntry: 8 bytes of SampleEntry, 16 reserved, width and height, then 50 bytes up to its boxes.
  const width = r.u16(entry.start + 24);
  const height = r.u16(entry.start + 26);
  if (width === 0 || height === 0) throw damaged('its frames have no size');
  const inner = r.boxes(entry.start + 78, entry.end);
  const av1C = inner.find((x) => x.type === 'av1C');
  if (!av1C) throw damaged('its AV1 sample description has no av1C box');
  const flags = r.u8(av1C.start + 2);
  const config = { bitDepth: flags & 0x40 ? (flags & 0x20 ? 12 : 10) : 8, monochrome: (flags & 0x10) !== 0 };
  let nclx: Nclx | undefined;
  let icc: Uint8Array | undefined;
  for (const c of inner.filter((x) => x.type === 'colr')) {
    const kind = r.type(c.start);
    if (kind === 'nclx' && c.end - c.start >= 11) {
      nclx = {
        primaries: r.u16(c.start + 4),
        transfer: r.u16(c.start + 6),
        matrix: r.u16(c.start + 8),
        fullRange: (r.u8(c.start + 10) & 0x80) !== 0,
      };
    } else if (kind === 'prof' || kind === 'rICC') icc = r.b.slice(c.start + 4, c.end);
  }
  // An auxiliary track says what it carries in its auxi box (libavif's alpha: the CICP alpha URN).
  const auxi = inner.find((x) => x.type === 'auxi');
  const urn = auxi ? Buffer.from(r.b.subarray(auxi.start + 4, auxi.end)).toString('latin1') : '';
  const alphaAux = !auxi || urn.startsWith('urn:mpeg:mpegB:cicp:systems:auxiliary:alpha');

  const samples = sampleLayout(r, stbl, timescale);
  const track: Track = { id, width, height, config, ...(nclx ? { nclx } : {}), ...(icc ? { icc } : {}), samples };
  return { alphaAux, track };
}

/** stsz × stsc × stco/co64 → each sample's offset and size; stts → its duration. All bounds checked. */
function sampleLayout(r: Reader, stbl: Box, timescale: number) {
  const stsz = r.child(stbl, 'stsz');
  if (!stsz) throw unsupported('its sample sizes are not in an stsz box');
  const fixed = r.u32(stsz.start + 4);
  const count = r.u32(stsz.start + 8);
  if (count === 0) throw damaged('its track has no frames');
  if (fixed === 0) r.need(stsz.start + 12, 4 * count, 'the sample size table');
  const sizeOf = (i: number) => (fixed !== 0 ? fixed : r.u32(stsz.start + 12 + 4 * i));

  const stco = r.child(stbl, 'stco') ?? r.child(stbl, 'co64');
  if (!stco) throw damaged('its track has no chunk offsets');
  const chunks = r.u32(stco.start + 4);
  const wide = stco.type === 'co64';
  r.need(stco.start + 8, (wide ? 8 : 4) * chunks, 'the chunk offset table');
  const chunkAt = (c: number) => (wide ? r.u64(stco.start + 8 + 8 * c) : r.u32(stco.start + 8 + 4 * c));

  const stsc = r.need1(stbl, 'stsc');
  const runs = r.u32(stsc.start + 4);
  r.need(stsc.start + 8, 12 * runs, 'the sample-to-chunk table');
  const stts = r.need1(stbl, 'stts');
  const times = r.u32(stts.start + 4);
  r.need(stts.start + 8, 8 * times, 'the time-to-sample table');
  if (timescale === 0) throw damaged('its track has no timescale');

  const samples: { offset: number; size: number; ms: number }[] = [];
  for (let run = 0; run < runs && samples.length < count; run++) {
    const first = r.u32(stsc.start + 8 + 12 * run) - 1;
    const perChunk = r.u32(stsc.start + 12 + 12 * run);
    const next = run + 1 < runs ? r.u32(stsc.start + 8 + 12 * (run + 1)) - 1 : chunks;
    if (first < 0 || next > chunks || next <= first || perChunk === 0) throw damaged('its sample-to-chunk table');
    for (let c = first; c < next && samples.length < count; c++) {
      let at = chunkAt(c);
      for (let k = 0; k < perChunk && samples.length < count; k++) {
        const size = sizeOf(samples.length);
        if (size === 0 || at + size > r.b.length) throw damaged('a frame lies past the end of the file (truncated)');
        samples.push({ offset: at, size, ms: 0 });
        at += size;
      }
    }
  }
  if (samples.length < count) throw damaged(`its chunks hold ${samples.length} of ${count} frames`);
  let i = 0;
  for (let t = 0; t < times && i < count; t++) {
    const n = r.u32(stts.start + 8 + 8 * t);
    const delta = r.u32(stts.start + 12 + 8 * t);
    for (let k = 0; k < n && i < count; k++) samples[i++]!.ms = Math.round((delta * 1000) / timescale);
  }
  // Frames past the table keep the last duration (as libavif does).
  for (; i < count; i++) samples[i]!.ms = samples[i - 1]?.ms ?? 0;
  return samples;
}
