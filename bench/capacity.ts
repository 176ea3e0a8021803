// CAPACITY: the inputs of deploy/README.md's capacity model, measured. For each output format (JPEG, WebP, AVIF)
// at 400 and 1200 px: CPU per miss of a kinu child (every request a variant not made before, KINU_CONCURRENCY in
// flight, loaded by wrk) and of in-process sharp making the same variants, alternating, and the memory the
// limiter reserves for one such pipeline on a 12 MP JPEG (the plan's own estimate). With W3 in the same run, its
// CPU per memory hit; then the model worked through for the 2011 system with these figures.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import sharp from 'sharp';
import { acceptClass } from '../src/pipeline/negotiate.ts';
import { makePlan } from '../src/pipeline/plan.ts';
import { sourceInfo } from '../src/pipeline/pipeline.ts';
import { parseNative } from '../src/url/native.ts';
import type { Photo } from './corpus.ts';
import type { BenchFormat } from './image-info.ts';
import { kinuSide, sharpSide, type MissSpec, type Side } from './sides.ts';

export interface CapacityRow {
  readonly format: BenchFormat;
  readonly width: number;
  readonly requests: number;
  /** CPU ms per answer over the rounds: the kinu child's (all threads), and in-process sharp's. */
  readonly kinuMs: number;
  readonly sharpMs: number;
  /** Each round's kinu/sharp CPU ratio. */
  readonly rounds: number[];
  /** What the limiter reserves for this variant of the 12 MP photo, MiB. */
  readonly reservedMb: number | undefined;
}

export const CAPACITY_SHAPES: readonly { readonly format: BenchFormat; readonly width: number }[] = [
  { format: 'jpeg', width: 400 },
  { format: 'jpeg', width: 1200 },
  { format: 'webp', width: 400 },
  { format: 'webp', width: 1200 },
  { format: 'avif', width: 400 },
  { format: 'avif', width: 1200 },
];

/** The plan's peak estimate for `?w=width&fmt=format` of `photo`: what KINU_MEMORY_BUDGET is charged. */
async function reservedMb(photo: Photo, format: BenchFormat, width: number): Promise<number> {
  const input = readFileSync(photo.path);
  const src = { ...sourceInfo(await sharp(input).metadata()), bytes: input.length };
  const { transform } = parseNative(`/${photo.key}?w=${width}&fmt=${format}&q=80`, {
    prefix: '',
    secrets: [],
    presets: {},
  });
  if (!transform) throw new Error(`${photo.key}: no transform`);
  const plan = makePlan(src, transform, acceptClass('*/*'), { maxPixels: 100_000_000, maxFrames: 500 });
  return plan.cost.bytes / 1024 ** 2;
}

export async function runCapacity(o: {
  photos: readonly Photo[];
  source: string;
  env: NodeJS.ProcessEnv;
  concurrency: number;
  wrkDir: string | undefined;
  /** Seconds of work per side and round (the request count follows from the warm-up's cost). */
  seconds: number;
  rounds: number;
  log: (s: string) => void;
  shapes?: typeof CAPACITY_SHAPES;
}): Promise<CapacityRow[]> {
  const real = o.photos.filter((p) => !p.generated);
  const twelve = real.reduce((a, b) => (Math.abs(b.megapixels - 12) < Math.abs(a.megapixels - 12) ? b : a));
  const rows: CapacityRow[] = [];
  for (const [s, shape] of (o.shapes ?? CAPACITY_SHAPES).entries()) {
    const spec: MissSpec = { format: shape.format, quality: 80, baseWidth: shape.width, warmWidth: shape.width - 100 };
    const sides: Side[] = [];
    try {
      sides.push(
        await kinuSide(real, spec, o.source, o.env, o.concurrency, o.wrkDir),
        await sharpSide(real, spec, o.concurrency, o.env),
      );
      // One cycle of the photos each, and a request count that takes about `seconds` on this machine.
      const t0 = performance.now();
      for (const side of sides) await side.warm(real.length);
      const perRequestMs = (performance.now() - t0) / (2 * real.length);
      const n = Math.max(real.length, Math.round((o.seconds * 1000) / perRequestMs / real.length) * real.length);
      const cpu = { kinu: 0, sharp: 0 };
      const rounds: number[] = [];
      let offset = 0;
      for (let r = 0; r < o.rounds; r++) {
        const here: Record<string, number> = {};
        for (const side of (r + s) % 2 ? [...sides].reverse() : sides) {
          const p = await side.phase(offset, { n });
          if (p.ownCpuS === undefined) throw new Error('CAPACITY needs /proc');
          here[side.name] = p.ownCpuS;
          cpu[side.name as 'kinu' | 'sharp'] += p.ownCpuS;
        }
        rounds.push(here.kinu! / here.sharp!);
        offset += n;
      }
      const requests = n * o.rounds;
      const row = {
        ...shape,
        requests,
        kinuMs: (cpu.kinu / requests) * 1000,
        sharpMs: (cpu.sharp / requests) * 1000,
        rounds,
        reservedMb: twelve.megapixels > 10 ? await reservedMb(twelve, shape.format, shape.width) : undefined,
      };
      o.log(
        `CAPACITY ${shape.format} ${shape.width}: kinu ${row.kinuMs.toFixed(1)} ms, sharp ${row.sharpMs.toFixed(1)} ms CPU per miss (${requests} each)`,
      );
      rows.push(row);
    } finally {
      for (const side of sides) await side.close();
    }
  }
  return rows;
}

const LABEL: Readonly<Record<BenchFormat, string>> = { jpeg: 'JPEG', webp: 'WebP', avif: 'AVIF' };

/** The table deploy/README.md's capacity model takes its inputs from, and the model worked through with them. */
export function capacityTable(
  rows: readonly CapacityRow[],
  o: { concurrency: number; hitMs?: number; photos: readonly Photo[] },
): string {
  const real = o.photos.filter((p) => !p.generated);
  const perCore = (ms: number) => (1000 / ms).toFixed(ms < 100 ? 0 : 1);
  const lines = [
    `CAPACITY — CPU per answer, ${availableParallelism()} cores, KINU_CONCURRENCY ${o.concurrency}, ${real.length} photos (${Math.min(...real.map((p) => p.megapixels)).toFixed(0)}–${Math.max(...real.map((p) => p.megapixels)).toFixed(0)} MP), q=80, every miss a new variant`,
    '| request | CPU per answer | sharp alone | kinu ÷ sharp (rounds) | answers/s per core | reserved per pipeline (12 MP JPEG) |',
    '|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| miss, ${LABEL[r.format]} ${r.width} px | ${r.kinuMs.toFixed(1)} ms | ${r.sharpMs.toFixed(1)} ms | ${(r.kinuMs / r.sharpMs).toFixed(2)} (${r.rounds.map((x) => x.toFixed(2)).join(' ')}) | ~${perCore(r.kinuMs)} | ${r.reservedMb === undefined ? '—' : `${r.reservedMb.toFixed(0)} MB`} |`,
    ),
  ];
  if (o.hitMs !== undefined)
    lines.push(
      `| memory hit (W3: 20 URLs, access log on, to a file) | ${o.hitMs.toFixed(3)} ms | — | — | ~${Math.round(1000 / o.hitMs)} | — |`,
    );
  const webp = (w: number) => rows.find((r) => r.format === 'webp' && r.width === w)?.kinuMs;
  const w400 = webp(400);
  const w1200 = webp(1200);
  if (w400 !== undefined && w1200 !== undefined) {
    // deploy/README.md's worked example: 900 M page views a month, 10 images a page, peak 3× the average,
    // half 400 px and half 1200 px WebP, kinu's own caches answering half of what the CDN passes on, u = 0.6.
    const cMiss = (w400 + w1200) / 2;
    const cHit = o.hitMs ?? 0.1;
    const r = ((900e6 / (30 * 86_400)) * 3 * 10) | 0;
    lines.push(
      '',
      `The 2011 system (deploy/README.md "Capacity"): R = ${r} image requests/s at peak, c_miss = ½ × ${w400.toFixed(0)} + ½ × ${w1200.toFixed(0)} = ${cMiss.toFixed(0)} ms, c_hit = ${cHit.toFixed(2)} ms${o.hitMs === undefined ? ' (assumed: run W3 too)' : ''}, h_kinu = 0.5, u = 0.6`,
      '| CDN hit ratio | R_origin (req/s) | R_miss (misses/s) | cores | 8-core instances |',
      '|---|---|---|---|---|',
      ...[0.9, 0.95, 0.98, 0.99].map((h) => {
        const origin = r * (1 - h);
        const miss = origin * 0.5;
        const cores = (miss * cMiss + (origin - miss) * cHit) / 1000 / 0.6;
        return `| ${Math.round(h * 100)} % | ${Math.round(origin)} | ${Math.round(miss)} | ${Math.round(cores)} | ${Math.ceil(cores / 8)} + 1 |`;
      }),
    );
  }
  return lines.join('\n');
}
