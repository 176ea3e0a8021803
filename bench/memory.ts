// Memory of the kinu child, per allocator, each measurement in a fresh child:
//   peak: cache-miss requests at concurrency 16 on the 24 MP photos (and the 12 MP one), mixed outputs;
//         reports VmHWM.
//   soak: 5,000 mixed requests at concurrency 8 (unique misses: JPEG/WebP/AVIF at small widths of 3–24 MP
//         photos; the rest hits on a hot set), in segments of 500; VmRSS sampled between segments, once
//         the requests in flight have finished, so the curve shows what stays, not what is in flight.
import type { Photo } from './corpus.ts';
import { urlPath } from './corpus.ts';
import { createHttpClient } from './client.ts';
import { heapMb } from './kinu-metrics.ts';
import { MIME, imageWidth, type BenchFormat } from './image-info.ts';
import { allocatorLabel, childSharpConcurrency, startKinu, withAllocator, type Allocator } from './kinu.ts';
import { closedLoop, procCpuSeconds, procStatus } from './load.ts';
import { kbToMb } from './sides.ts';
import { hotSet, log, round } from './workloads.ts';

export interface MemoryOptions {
  readonly large: readonly Photo[];
  readonly main: readonly Photo[];
  readonly source: string;
  readonly env: NodeJS.ProcessEnv;
  readonly kinuConcurrency: number;
  readonly peakConcurrency: number;
  readonly peakRequests: number;
  readonly soakConcurrency: number;
  readonly soakRequests: number;
  readonly segment: number;
}

export interface MemoryResult {
  readonly allocator: string;
  readonly sharpConcurrency: number | undefined;
  readonly peak: {
    requests: number;
    seconds: number;
    idleRssMb: number;
    peakRssMb: number;
    afterRssMb: number;
    rps: number;
  };
  readonly soak: {
    requests: number;
    misses: number;
    seconds: number;
    rps: number;
    cpuMsPerReq: number | undefined;
    idleRssMb: number;
    peakRssMb: number;
    /** Quiescent RSS after each segment (500, 1000, … requests), what the LRU may hold by then, and V8's heap
     *  (its spaces' total, collected or not) and external memory, to tell V8's growth from the allocator's. */
    curve: { after: number; rssMb: number; cacheMb: number; heapMb: number; externalMb: number }[];
    rssAfterFirstMb: number;
    rssAfterAllMb: number;
    growthPct: number;
    /** Growth once what the memory LRU legitimately gained (bodies + 512 B each) between the two points is taken off. */
    growthNetOfCachePct: number;
    /** Least-squares slope of the curve, MB per 1,000 requests: less sensitive to one noisy sample than the two-point growth. */
    trendMbPer1k: number;
  };
}

const PEAK_MIX: readonly { format: BenchFormat; width: number }[] = [
  { format: 'jpeg', width: 400 },
  { format: 'webp', width: 1200 },
  { format: 'jpeg', width: 2400 },
  { format: 'avif', width: 800 },
];
const SOAK_MISS: readonly { format: BenchFormat; width: number }[] = [
  { format: 'jpeg', width: 160 },
  { format: 'webp', width: 240 },
  { format: 'avif', width: 120 },
];
const MISS_EVERY = 4; // one request in four is a new variant
const LRU_OVERHEAD = 512; // src/cache/memory.ts counts this per entry

const rssMb = (pid: number) => kbToMb(procStatus(pid)?.rssKb) ?? NaN;
const hwmMb = (pid: number) => kbToMb(procStatus(pid)?.hwmKb) ?? NaN;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function check(
  path: string,
  format: BenchFormat,
  width: number | undefined,
  r: { status: number; headers: Record<string, string>; body: Buffer },
  out: () => string,
) {
  if (r.status !== 200 || r.headers['content-type'] !== MIME[format])
    throw new Error(
      `GET ${path}: ${r.status} ${r.headers['content-type']}\n${r.body.subarray(0, 300).toString('utf8')}\n${out()}`,
    );
  if (width !== undefined && imageWidth(format, r.body) !== width)
    throw new Error(`GET ${path}: expected ${format} ${width} px wide, got ${imageWidth(format, r.body)}`);
}

export async function runMemory(a: Allocator, o: MemoryOptions): Promise<MemoryResult> {
  const env: NodeJS.ProcessEnv = { ...withAllocator(o.env, a), KINU_CONCURRENCY: String(o.kinuConcurrency) };
  const label = allocatorLabel(a);
  const sharpConcurrency = childSharpConcurrency(env);

  // Peak: every request unique, over the large photos, four output kinds in turn.
  log(
    `memory [${label}]: peak, ${o.peakRequests} misses at concurrency ${o.peakConcurrency} on ${o.large.length} large photos …`,
  );
  let kinu = await startKinu(o.source, env);
  let peak: MemoryResult['peak'];
  try {
    const client = createHttpClient(kinu.base, o.peakConcurrency);
    const idleRssMb = rssMb(kinu.pid);
    const L = o.large.length;
    const loop = await closedLoop(
      o.peakConcurrency,
      (i) => i >= o.peakRequests,
      async (i) => {
        const photo = o.large[i % L]!;
        const mix = PEAK_MIX[Math.floor(i / L) % PEAK_MIX.length]!;
        const width = mix.width + Math.floor(i / (L * PEAK_MIX.length));
        const path = urlPath(photo, width, mix.format);
        const r = await client.get(path);
        check(path, mix.format, Math.min(width, photo.width), r, kinu.output);
        return { ms: r.ms, bytes: r.body.length };
      },
    );
    peak = {
      requests: loop.samples.length,
      seconds: round(loop.elapsedMs / 1000, 1),
      idleRssMb: round(idleRssMb, 0),
      peakRssMb: round(hwmMb(kinu.pid), 0),
      afterRssMb: round(rssMb(kinu.pid), 0),
      rps: round(loop.samples.length / (loop.elapsedMs / 1000), 2),
    };
    client.close();
  } finally {
    await kinu.stop();
  }

  // Soak.
  log(`memory [${label}]: soak, ${o.soakRequests} mixed requests at concurrency ${o.soakConcurrency} …`);
  kinu = await startKinu(o.source, env);
  try {
    const client = createHttpClient(kinu.base, o.soakConcurrency);
    const idleRssMb = rssMb(kinu.pid);
    const hot = hotSet(o.main, 20, 640);
    const capBytes = Number(env.KINU_MEMORY_CACHE_MB ?? 256) * 2 ** 20; // what the LRU may hold at most
    const P = o.main.length;
    const cached = new Map<string, number>();
    let cacheBytes = 0;
    let misses = 0;
    const one = async (i: number) => {
      let path: string;
      let format: BenchFormat;
      let width: number | undefined;
      if (i % MISS_EVERY === MISS_EVERY - 1) {
        const m = Math.floor(i / MISS_EVERY);
        const photo = o.main[m % P]!;
        const mix = SOAK_MISS[Math.floor(m / P) % SOAK_MISS.length]!;
        width = Math.min(photo.width, mix.width + Math.floor(m / (P * SOAK_MISS.length)));
        format = mix.format;
        path = urlPath(photo, width, format);
        misses++;
      } else {
        const h = hot[(i * 7) % hot.length]!;
        path = h.path;
        format = h.format;
      }
      const r = await client.get(path);
      check(path, format, width, r, kinu.output);
      if (!cached.has(path)) {
        cached.set(path, r.body.length);
        cacheBytes += r.body.length + LRU_OVERHEAD;
      }
      return { ms: r.ms, bytes: r.body.length };
    };
    const curve: MemoryResult['soak']['curve'] = [];
    const cpu0 = procCpuSeconds(kinu.pid);
    let elapsedMs = 0;
    for (let done = 0; done < o.soakRequests; ) {
      const n = Math.min(o.segment, o.soakRequests - done);
      const start = done;
      const loop = await closedLoop(
        o.soakConcurrency,
        (k) => k >= n,
        (k) => one(start + k),
      );
      elapsedMs += loop.elapsedMs;
      done += n;
      await sleep(200); // background cache writes and the last responses settle
      const rss = rssMb(kinu.pid);
      const heap = await heapMb(client);
      curve.push({
        after: done,
        rssMb: round(rss, 1),
        cacheMb: round(Math.min(cacheBytes, capBytes) / 2 ** 20, 1),
        heapMb: round(heap.total, 1),
        externalMb: round(heap.external, 1),
      });
    }
    const cpu1 = procCpuSeconds(kinu.pid);
    client.close();
    const first = curve[0]!;
    const last = curve[curve.length - 1]!;
    const growth = (last.rssMb - first.rssMb) / first.rssMb;
    const net = (last.rssMb - first.rssMb - (last.cacheMb - first.cacheMb)) / first.rssMb;
    const mx = curve.reduce((a, c) => a + c.after, 0) / curve.length;
    const my = curve.reduce((a, c) => a + c.rssMb, 0) / curve.length;
    const sxx = curve.reduce((a, c) => a + (c.after - mx) ** 2, 0);
    const slope = sxx === 0 ? 0 : curve.reduce((a, c) => a + (c.after - mx) * (c.rssMb - my), 0) / sxx;
    return {
      allocator: label,
      sharpConcurrency,
      peak,
      soak: {
        requests: o.soakRequests,
        misses,
        seconds: round(elapsedMs / 1000, 1),
        rps: round(o.soakRequests / (elapsedMs / 1000), 1),
        cpuMsPerReq:
          cpu0 === undefined || cpu1 === undefined ? undefined : round(((cpu1 - cpu0) * 1000) / o.soakRequests, 2),
        idleRssMb: round(idleRssMb, 0),
        peakRssMb: round(hwmMb(kinu.pid), 0),
        curve,
        rssAfterFirstMb: first.rssMb,
        rssAfterAllMb: last.rssMb,
        growthPct: round(growth * 100, 1),
        growthNetOfCachePct: round(net * 100, 1),
        trendMbPer1k: round(slope * 1000, 1),
      },
    };
  } finally {
    await kinu.stop();
  }
}
