// QUALITY: bytes against perceived quality, per format, at one width (issue 17). In process, no server: each photo
// through kinu's pipeline (runPipeline, as a miss runs it) at each format's default quality, q=auto and fmt=best
// (Chrome's Accept: AVIF, WebP, JPEG), beside ipx 3.1.1 (createIPX, its defaults) and Next.js's optimizer defaults
// (its sharp calls reproduced, cited below). Every output is scored against the same side's lossless render of
// the same resize (so each side's own resampling is not counted as loss): SSIMULACRA 2 (approximate reference,
// within a few hundredths of a point; src/pipeline/quality/ssimulacra2.ts) and SSIM (bench/ssim.ts). CPU per miss
// is process.cpuUsage around one call: decode, resize and encode(s), worker threads included.
import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { createIPX, ipxFSStorage } from 'ipx';
import sharp from 'sharp';
import type { OutputFormat } from '../src/formats.ts';
import { runPipeline } from '../src/pipeline/pipeline.ts';
import { type RgbImage, Ssimulacra2Reference } from '../src/pipeline/quality/ssimulacra2.ts';
import { IDENTITY, type Transform } from '../src/transform.ts';
import { ssim } from './ssim.ts';

const OPTS = {
  limits: { maxPixels: 200_000_000, maxFrames: 1 },
  timeoutMs: 600_000,
  accept: { jxl: false, avif: true, webp: true },
};

export interface QualityRow {
  readonly side: 'kinu' | 'ipx' | 'Next.js';
  /** What the row encodes, as the table shows it. */
  readonly label: string;
  readonly bytes: number[];
  readonly ssimulacra2: number[];
  readonly ssim: number[];
  readonly cpuMs: number[];
  /** What was chosen per photo: `q=auto`'s quality, fmt=best's format. */
  readonly chosen: string[];
}

interface Case {
  readonly side: QualityRow['side'];
  readonly label: string;
  readonly run: (input: Buffer, path: string) => Promise<{ data: Buffer; chosen?: string }>;
}

const kinu =
  (t: Partial<Transform>) =>
  async (input: Buffer): Promise<{ data: Buffer; chosen?: string }> => {
    const out = await runPipeline(input, { ...IDENTITY, ...t }, OPTS);
    const chosen = t.format === 'best' ? `${out.format}${out.quality ? ` q${out.quality}` : ''}` : out.quality;
    return { data: out.data, ...(chosen !== undefined && { chosen: String(chosen) }) };
  };

/**
 * Next.js's optimizeImage (vercel/next.js, packages/next/src/server/image-optimizer.ts at 00bac067): rotate,
 * resize(width, undefined, { withoutEnlargement: true }), then AVIF { quality: q − 20, effort: 3 }, WebP
 * { quality: q }, JPEG { quality: q, mozjpeg: true }. Its defaults: next/image asks q=75 and `images.formats` is
 * ['image/webp'] (so Chrome gets WebP, other browsers the original's JPEG); AVIF only when a site adds it.
 */
function nextjs(format: 'avif' | 'webp' | 'jpeg' | 'png', width: number, q = 75) {
  return async (input: Buffer) => {
    const t = sharp(input, { sequentialRead: true }).rotate().resize(width, undefined, { withoutEnlargement: true });
    if (format === 'avif') t.avif({ quality: Math.max(q - 20, 1), effort: 3 });
    else if (format === 'webp') t.webp({ quality: q });
    else if (format === 'jpeg') t.jpeg({ quality: q, mozjpeg: true });
    else t.png();
    return { data: await t.toBuffer() };
  };
}

function cases(
  width: number,
  ipx: ReturnType<typeof createIPX>,
): { cases: Case[]; reference: Record<string, Case['run']> } {
  const ipxRun = (f: string) => async (_: Buffer, path: string) => ({
    data: (await ipx(basename(path), { w: String(width), f }).process()).data as Buffer,
  });
  const out: Case[] = [];
  for (const format of ['jpeg', 'webp', 'avif', 'jxl'] as const) {
    out.push({ side: 'kinu', label: `${format} default q`, run: kinu({ width, format }) });
    if (format !== 'jxl')
      out.push({ side: 'kinu', label: `${format} q=auto`, run: kinu({ width, format, quality: 'auto' }) });
  }
  out.push({ side: 'kinu', label: 'fmt=best default q', run: kinu({ width, format: 'best' }) });
  out.push({ side: 'kinu', label: 'fmt=best q=auto', run: kinu({ width, format: 'best', quality: 'auto' }) });
  for (const f of ['jpeg', 'webp', 'avif']) out.push({ side: 'ipx', label: `${f} (its default q)`, run: ipxRun(f) });
  out.push({ side: 'Next.js', label: 'jpeg q75 mozjpeg', run: nextjs('jpeg', width) });
  out.push({ side: 'Next.js', label: 'webp q75 (default for Chrome)', run: nextjs('webp', width) });
  out.push({ side: 'Next.js', label: 'avif q55 effort 3 (opt-in)', run: nextjs('avif', width) });
  return {
    cases: out,
    reference: {
      kinu: kinu({ width, format: 'png' as OutputFormat }),
      ipx: ipxRun('png'),
      'Next.js': nextjs('png', width),
    },
  };
}

async function rgb(body: Buffer): Promise<RgbImage> {
  // JPEG XL is read through kinu's own decoder (sharp's prebuilt has none): its lossless PNG, then pixels.
  const readable =
    body.subarray(0, 2).equals(Buffer.from([0xff, 0x0a])) || body.subarray(4, 8).toString() === 'JXL '
      ? (await runPipeline(body, { ...IDENTITY, format: 'png' }, OPTS)).data
      : body;
  const { data, info } = await sharp(readable)
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}

const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

/** The first `count` photos without an EXIF orientation (ipx does not apply it by default, Next.js and kinu do:
 *  their outputs would not be the same picture), scored; their paths are pushed to `used`. */
export async function runQuality(o: {
  photos: readonly string[];
  count: number;
  width: number;
  log: (s: string) => void;
  used: string[];
}): Promise<QualityRow[]> {
  for (const p of o.photos)
    if (o.used.length < o.count && ((await sharp(p).metadata()).orientation ?? 1) === 1) o.used.push(p);
  const photos = o.used;
  const ipx = createIPX({ storage: ipxFSStorage({ dir: dirname(photos[0]!) }) });
  const { cases: all, reference } = cases(o.width, ipx);
  const rows = all.map(
    (c) =>
      ({ side: c.side, label: c.label, bytes: [], ssimulacra2: [], ssim: [], cpuMs: [], chosen: [] }) as QualityRow,
  );
  // Warm-up: JIT, libvips' start-up and the JPEG XL codec thread's first job are no photo's cost.
  const first = readFileSync(photos[0]!);
  for (const c of all) await c.run(first, photos[0]!);
  for (const path of photos) {
    o.log(`QUALITY ${basename(path)} …`);
    const input = readFileSync(path);
    const refs = new Map<string, { ref: Ssimulacra2Reference; px: RgbImage }>();
    for (const [side, run] of Object.entries(reference)) {
      const px = await rgb((await run(input, path)).data);
      refs.set(side, { ref: new Ssimulacra2Reference(px, { approximate: true }), px });
    }
    for (const [i, c] of all.entries()) {
      const c0 = cpuMs();
      const out = await c.run(input, path);
      const cpu = cpuMs() - c0;
      const row = rows[i]!;
      const { ref, px } = refs.get(c.side)!;
      const d = await rgb(out.data);
      if (d.width !== px.width || d.height !== px.height)
        throw new Error(`${c.side} ${c.label}: size differs from its reference`);
      row.bytes.push(out.data.length);
      row.cpuMs.push(cpu);
      row.ssimulacra2.push(ref.score(d));
      row.ssim.push(ssim(px, d));
      if (out.chosen) row.chosen.push(out.chosen);
    }
  }
  return rows;
}

function pct(v: readonly number[], p: number): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN;
}
const kb = (b: number) => `${(b / 1024).toFixed(1)}`;

/** Markdown: median and p90 bytes, median SSIMULACRA 2 (min), median SSIM (min), median CPU ms per miss. */
export function qualityTable(rows: readonly QualityRow[], width: number, photos: number): string {
  const lines = [
    `QUALITY: ${photos} photos at ${width} px wide, one miss each (medians; p90 bytes; min score in brackets)`,
    '',
    '| side | output | KB median | KB p90 | SSIMULACRA 2 | SSIM | CPU ms/miss | chosen |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const chosen = summarise(r.chosen);
    lines.push(
      `| ${r.side} | ${r.label} | ${kb(pct(r.bytes, 0.5))} | ${kb(pct(r.bytes, 0.9))} | ${pct(r.ssimulacra2, 0.5).toFixed(1)} (${Math.min(...r.ssimulacra2).toFixed(1)}) | ${pct(r.ssim, 0.5).toFixed(4)} (${Math.min(...r.ssim).toFixed(4)}) | ${pct(r.cpuMs, 0.5).toFixed(0)} | ${chosen} |`,
    );
  }
  return lines.join('\n');
}

/** q=auto's qualities as median (range); fmt=best's formats counted. */
function summarise(chosen: readonly string[]): string {
  if (chosen.length === 0) return '—';
  const n = chosen.map(Number);
  if (n.every(Number.isFinite)) return `q ${pct(n, 0.5)} (${Math.min(...n)}–${Math.max(...n)})`;
  const count = new Map<string, number>();
  for (const c of chosen) {
    const f = c.split(' ')[0]!;
    count.set(f, (count.get(f) ?? 0) + 1);
  }
  return [...count].map(([f, k]) => `${f} ×${k}`).join(', ');
}
