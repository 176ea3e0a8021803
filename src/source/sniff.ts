// What an object's bytes are, read from their first bytes (the magic numbers are in magic.ts). Originals are
// served only when their content is an image, whatever their name says, so `/.env` or `/page.html` never leave.
import { Readable } from 'node:stream';
import { constants, gunzipSync } from 'node:zlib';
import { FORMAT_TABLE, type FormatName } from '../formats.ts';
import {
  ascii,
  bytesAt,
  ftypBrands,
  IMAGE_BRANDS,
  isBmp,
  isGif,
  isIco,
  isJpeg,
  isJxl,
  isPng,
  isTiff,
  isWebp,
} from '../magic.ts';

export interface Sniffed {
  /** jpeg, png, gif, webp, avif, heic, heif, tiff, jxl, bmp, ico, svg. */
  readonly format: string;
  /** The Content-Type an original in this format is served with. */
  readonly mime: string;
  /** `gzip` for `.svgz`: browsers read it with `Content-Encoding: gzip`. */
  readonly encoding?: 'gzip';
}

/** Bytes of the head sniff() needs at most: SVG may open with an XML prolog, comments and a DOCTYPE. */
export const SNIFF_BYTES = 8192;

/** A format of kinu's table, with its mime (or its image sequence's, where that has its own). */
function is(format: FormatName, sequence = false): { format: string; mime: string } {
  const row = FORMAT_TABLE[format];
  return { format, mime: (sequence ? row.sequenceMime : undefined) ?? row.mime };
}

/** The ftyp box's major and compatible brands: AVIF if any says so, else HEIC, else generic HEIF; none: not an image. */
function isobmff(b: Buffer): { format: string; mime: string } | undefined {
  const named = (ftypBrands(b) ?? []).flatMap((x) => {
    const brand = IMAGE_BRANDS[x];
    return brand ? [is(brand.format, brand.sequence)] : [];
  });
  return named.find((x) => x.format === 'avif') ?? named.find((x) => x.format === 'heic') ?? named[0];
}

/**
 * An SVG document: optional BOM and whitespace, then any XML declaration, comments, processing instructions
 * and DOCTYPE (with an internal subset), then an `<svg` root element. Anything else (HTML, other XML) is not.
 */
function svg(b: Buffer): boolean {
  let s = b.toString('utf8', 0, Math.min(b.length, SNIFF_BYTES));
  if (s.startsWith('\uFEFF')) s = s.slice(1);
  let at = 0;
  for (;;) {
    while (at < s.length && ' \t\r\n'.includes(s[at]!)) at++;
    if (s.startsWith('<?', at)) at = after(s, at, '?>');
    else if (s.startsWith('<!--', at)) at = after(s, at, '-->');
    else if (s.startsWith('<!DOCTYPE', at)) at = doctypeEnd(s, at);
    else return /^<svg[\s/>]/.test(s.slice(at, at + 5));
    if (at < 0) return false;
  }
}

const after = (s: string, from: number, end: string) => {
  const i = s.indexOf(end, from);
  return i < 0 ? -1 : i + end.length;
};

function doctypeEnd(s: string, from: number): number {
  let depth = 0;
  for (let i = from; i < s.length; i++) {
    if (s[i] === '[') depth++;
    else if (s[i] === ']') depth--;
    else if (s[i] === '>' && depth === 0) return i + 1;
  }
  return -1;
}

/** gzip holding an SVG (`.svgz`): only its first KiB is inflated, so a compression bomb costs ~1 MiB at most. */
function svgz(b: Buffer): boolean {
  if (!bytesAt(b, 0, 0x1f, 0x8b, 0x08)) return false;
  try {
    return svg(gunzipSync(b.subarray(0, 1024), { finishFlush: constants.Z_SYNC_FLUSH }));
  } catch {
    return false;
  }
}

type Rule = readonly [test: (head: Buffer) => boolean, sniffed: Sniffed | ((head: Buffer) => Sniffed | undefined)];

/** Every image kinu serves as an original. Some it cannot decode yet (HEIC, JPEG XL, BMP, ICO): they are still images. */
const RULES: readonly Rule[] = [
  [isJpeg, is('jpeg')],
  [isPng, is('png')],
  [isGif, is('gif')],
  [isWebp, is('webp')],
  [(b) => ascii(b, 4, 'ftyp'), isobmff],
  [isTiff, is('tiff')],
  [isJxl, is('jxl')],
  [isBmp, is('bmp')],
  [isIco, is('ico')],
  [svgz, { ...is('svg'), encoding: 'gzip' }],
  [svg, is('svg')],
];

/** The image format of an object from its first bytes (up to SNIFF_BYTES), or undefined when it is not an image. */
export function sniff(head: Buffer): Sniffed | undefined {
  for (const [test, sniffed] of RULES) {
    if (test(head)) return typeof sniffed === 'function' ? sniffed(head) : sniffed;
  }
  return undefined;
}

/**
 * Reads the head of a stream, sniffs it, and gives back a stream of all the bytes (the head re-emitted first).
 * Nothing has been sent when this resolves, so a non-image can still be answered with an error.
 */
export async function sniffStream(body: Readable): Promise<{ sniffed: Sniffed | undefined; body: Readable }> {
  const it = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let length = 0;
  let ended = false;
  try {
    while (length < SNIFF_BYTES) {
      const r = await it.next();
      if (r.done) {
        ended = true;
        break;
      }
      chunks.push(r.value);
      length += r.value.length;
    }
  } catch (err) {
    body.destroy();
    throw err;
  }
  const head = Buffer.concat(chunks);
  async function* all(): AsyncGenerator<Buffer> {
    try {
      yield head;
      if (ended) return;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    } finally {
      body.destroy(); // the response went away early, or the body is done: either way the source stream closes
    }
  }
  return { sniffed: sniff(head), body: Readable.from(all(), { objectMode: false }) };
}
