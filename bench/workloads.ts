// W1–W5: each workload against its reference, measured in the same run, in alternating rounds
// (kinu→ref, ref→kinu, …) so that drift in machine load hits both sides alike.
//   W1/W2, cache-miss: kinu child (driven by wrk) vs in-process sharp; the other sides of a round replay
//   exactly the requests the first managed, so all do the same work (wrk going first takes the last round's count).
//   W3–W5, cache hit: kinu child vs a bare node:http child answering the same bytes (from a Map / from
//   files); both are separate processes behind the same load generator (wrk), each round a fixed duration.
import { availableParallelism } from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Photo } from './corpus.ts';
import { job, urlPath } from './corpus.ts';
import { createHttpClient, type HttpClient, type Reply } from './client.ts';
import { MIME, type BenchFormat } from './image-info.ts';
import { startBare, startKinu, type Child } from './kinu.ts';
import {
  closedLoop,
  machineBusySeconds,
  median,
  procCpuSeconds,
  procStatus,
  summarise,
  type Sample,
  type StopRule,
  type Summary,
} from './load.ts';
import { runWrk, WRK_MISSING } from './wrk.ts';
import { lookups } from './kinu-metrics.ts';
import {
  bareSharpSide,
  kbToMb,
  kinuSide,
  sharpSide,
  type MissSpec,
  type PhaseLimit,
  type PhaseStats,
  type Side,
} from './sides.ts';

export interface SideResult extends Summary {
  /** CPU ms per request of the process doing the work (kinu child, bare child, or this process for sharp). */
  readonly cpuMsPerReq: number | undefined;
  /** CPU ms per request of this process as HTTP client (not for in-process sharp). */
  readonly clientCpuMsPerReq: number | undefined;
  /** Cores kept busy by other processes (and steal) during this side's phases: noise, ideally ~0. */
  readonly otherCores: number | undefined;
  readonly peakRssMb: number | undefined;
  readonly baselineRssMb: number | undefined;
}

export interface WorkloadResult {
  readonly id: string;
  readonly title: string;
  readonly reference: string;
  readonly concurrency: number;
  readonly secondsPerSide: number;
  readonly kinu: SideResult;
  readonly ref: SideResult;
  /** kinu req/s ÷ reference req/s over all rounds. */
  readonly ratio: number;
  /** Per round: kinu req/s over the reference's, measured one after the other. Goals judge their median. */
  readonly roundRatios: number[];
  /** Misses, per round: kinu's CPU per request over the reference's. */
  readonly roundCpu?: number[];
  /** req/s of each side in each round. */
  readonly rounds: { kinuRps: number; refRps: number }[];
  readonly goal: number | undefined;
  readonly pass: boolean | undefined;
  /** Reference CPU/req ÷ kinu CPU/req (kinu incl. its client share for misses). */
  readonly cpuRatio: number | undefined;
  readonly noisy: boolean;
  readonly notes: string[];
}

export const NOISE_CORES = 0.15; // other processes busier than this during the phases make req/s unreliable
export const log = (s: string) => process.stderr.write(`${s}\n`);
export const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;

class Totals {
  samples: Sample[] = [];
  requests = 0;
  /** wrk phases: their latency figures and stage means, each with its request count. */
  readonly wrk: { latency: NonNullable<PhaseStats['latency']>; timing: PhaseStats['timing']; n: number }[] = [];
  elapsedMs = 0;
  ownCpuS: number | undefined = 0;
  /** The main thread's and libvips' workers' share of ownCpuS, while every phase had them. */
  threads: { main: number; libvips: number } | undefined = { main: 0, libvips: 0 };
  clientCpuS: number | undefined = 0;
  otherBusyS: number | undefined = 0;
  /** kinu's full GCs over the wrk phases that counted them, and those phases' requests. */
  majorGcs = 0;
  gcCounted = 0;
  add(p: PhaseStats): void {
    if (p.majorGcs !== undefined) {
      this.majorGcs += p.majorGcs;
      this.gcCounted += p.requests;
    }
    for (const x of p.loop.samples) this.samples.push(x); // not push(...): hit phases have 100k+ samples
    this.requests += p.requests;
    if (p.latency) this.wrk.push({ latency: p.latency, timing: p.timing, n: p.requests });
    this.elapsedMs += p.loop.elapsedMs;
    const plus = (a: number | undefined, b: number | undefined) =>
      a === undefined || b === undefined ? undefined : a + b;
    this.ownCpuS = plus(this.ownCpuS, p.ownCpuS);
    this.threads =
      this.threads && p.threadsCpuS
        ? { main: this.threads.main + p.threadsCpuS.main, libvips: this.threads.libvips + p.threadsCpuS.libvips }
        : undefined;
    this.clientCpuS = p.clientCpuS === undefined ? undefined : plus(this.clientCpuS, p.clientCpuS);
    this.otherBusyS = plus(this.otherBusyS, p.otherBusyS);
  }
  /** Phases that wrk drove: latency as the median of their percentiles, means weighted by requests. */
  private wrkSummary(): Summary {
    const weighted = (f: (x: (typeof this.wrk)[number]) => number | undefined) => {
      const xs = this.wrk.filter((x) => f(x) !== undefined);
      const n = xs.reduce((a, x) => a + x.n, 0);
      return n === 0 ? undefined : xs.reduce((a, x) => a + f(x)! * x.n, 0) / n;
    };
    const stages = [...new Set(this.wrk.flatMap((x) => Object.keys(x.timing ?? {})))];
    const timing = Object.fromEntries(stages.map((k) => [k, weighted((x) => x.timing?.[k])!]));
    return {
      requests: this.requests,
      seconds: this.elapsedMs / 1000,
      rps: this.requests / (this.elapsedMs / 1000),
      p50: median(this.wrk.map((x) => x.latency.p50)),
      p99: median(this.wrk.map((x) => x.latency.p99)),
      mean: weighted((x) => x.latency.mean) ?? NaN,
      meanBytes: NaN,
      ...(stages.length > 0 && { timing }),
    };
  }
  /** CPU ms per request by thread: main, libvips' workers, the rest of the process. */
  byThread(): string | undefined {
    if (!this.threads || this.ownCpuS === undefined || this.requests === 0) return undefined;
    const ms = (s: number) => ((s * 1000) / this.requests).toFixed(2);
    const { main, libvips } = this.threads;
    return `main ${ms(main)} · libvips ${ms(libvips)} · other ${ms(this.ownCpuS - main - libvips)}`;
  }
  result(peakRssMb: number | undefined, baselineRssMb: number | undefined): SideResult {
    const n = this.requests;
    const s = this.elapsedMs / 1000;
    return {
      ...(this.wrk.length > 0 ? this.wrkSummary() : summarise({ samples: this.samples, elapsedMs: this.elapsedMs })),
      cpuMsPerReq: this.ownCpuS === undefined ? undefined : (this.ownCpuS * 1000) / n,
      clientCpuMsPerReq: this.clientCpuS === undefined ? undefined : (this.clientCpuS * 1000) / n,
      otherCores: this.otherBusyS === undefined ? undefined : this.otherBusyS / s,
      peakRssMb,
      baselineRssMb,
    };
  }
}

function finish(
  base: Omit<WorkloadResult, 'ratio' | 'pass' | 'cpuRatio' | 'noisy'>,
  withClientCpu: boolean,
): WorkloadResult {
  const { kinu, ref, goal } = base;
  const ratio = kinu.rps / ref.rps;
  // A goal is judged on the median of the rounds, as the issue's outside benchmark judges (a slow stretch of a
  // shared machine that falls on one side's phase moves the pooled ratio while the other rounds agree).
  const judged = base.roundRatios.length ? median(base.roundRatios) : ratio;
  const kinuCpu =
    kinu.cpuMsPerReq === undefined ? undefined : kinu.cpuMsPerReq + (withClientCpu ? (kinu.clientCpuMsPerReq ?? 0) : 0);
  const cpuRatio = kinuCpu === undefined || ref.cpuMsPerReq === undefined ? undefined : ref.cpuMsPerReq / kinuCpu;
  return {
    ...base,
    ratio: round(ratio, 3),
    pass: goal === undefined ? undefined : judged >= goal,
    cpuRatio: cpuRatio === undefined ? undefined : round(cpuRatio, 3),
    noisy: Math.max(kinu.otherCores ?? 0, ref.otherCores ?? 0) > NOISE_CORES,
  };
}

export interface MissOptions {
  readonly id: string;
  readonly title: string;
  readonly spec: MissSpec;
  readonly photos: readonly Photo[];
  readonly source: string;
  readonly env: NodeJS.ProcessEnv;
  readonly concurrency: number;
  readonly seconds: number | undefined;
  readonly requests: number | undefined;
  readonly rounds: number;
  readonly warmup: number;
  readonly sharpFirst: boolean;
  readonly goal: number;
  readonly notes: string[];
  /** Where wrk's scripts go: the HTTP sides are driven by wrk (else by the Node client, which checks every answer). */
  readonly wrkDir: string | undefined;
}

/** W1/W2: unique requests to a fresh kinu child vs the same decode → resize → encode in this process. */
export async function runMiss(
  o: MissOptions,
): Promise<WorkloadResult & { timing: Record<string, number> | undefined; restMs: number | undefined }> {
  log(`${o.id}: starting kinu …`);
  const kinu = await kinuSide(o.photos, o.spec, o.source, o.env, o.concurrency, o.wrkDir);
  let bare: Side | undefined;
  let defaults: Side | undefined;
  let refSide: Side | undefined;
  try {
    log(`${o.id}: warm-up (${o.warmup} per side) …`);
    await kinu.warm(o.warmup);
    const ref = await sharpSide(o.photos, o.spec, o.concurrency, o.env);
    refSide = ref;
    const warm0 = performance.now();
    await ref.warm(o.warmup);
    const refWarmRps = o.warmup / ((performance.now() - warm0) / 1000);
    // Not a goal: how much of kinu's distance to in-process sharp a bare HTTP server has already.
    const bareSide = await bareSharpSide(o.photos, o.spec, o.source, o.env, o.concurrency, o.wrkDir);
    bare = bareSide;
    await bareSide.warm(o.warmup);
    // Not a goal either: kinu as an outsider starts it (KINU_CONCURRENCY = cores, access log on), same load.
    const { KINU_CONCURRENCY: _c, KINU_LOG_LEVEL: _l, ...defaultsEnv } = o.env;
    const defaultSide = await kinuSide(o.photos, o.spec, o.source, defaultsEnv, o.concurrency, o.wrkDir);
    defaults = defaultSide;
    await defaultSide.warm(o.warmup);
    const totals = { kinu: new Totals(), ref: new Totals(), bare: new Totals(), defaults: new Totals() };
    const roundRatios: number[] = [];
    const roundCpu: number[] = [];
    const perRound: { kinuRps: number; refRps: number }[] = [];
    // Each side's CPU ms per request, round by round: whether a ratio moved with one side or the other.
    const cpuRounds: Record<'kinu' | 'ref' | 'bare', string[]> = { kinu: [], ref: [], bare: [] };
    const msPerReq = (p: PhaseStats) => (p.ownCpuS === undefined ? '?' : ((p.ownCpuS * 1000) / p.requests).toFixed(2));
    let offset = 0;
    let lastN: number | undefined;
    // Round -1 is run and thrown away: after the short checked warm-up, the references' first phase still cost
    // 5–20 % more CPU a request than their later ones (first-touch memory, JIT), kinu's ~1 %, which made the
    // first measured round flatter to kinu than the rest.
    for (let r = -1; r < o.rounds; r++) {
      const kinuFirst = (r % 2 === 0) !== o.sharpFirst;
      const [first, second]: [Side, Side] = kinuFirst ? [kinu, ref] : [ref, kinu];
      const cycle = o.photos.length;
      // The first side runs for the round's seconds and the others replay its requests; a side driven by wrk
      // needs its count up front, so when it goes first it takes the last round's (or the warm-up's rate's).
      const limit: PhaseLimit =
        o.requests !== undefined
          ? { n: Math.floor(((r + 1) * o.requests) / o.rounds) - Math.floor((r * o.requests) / o.rounds) }
          : first.counted
            ? { n: lastN ?? Math.max(cycle, Math.round((refWarmRps * o.seconds!) / o.rounds / cycle) * cycle) }
            : { seconds: o.seconds! / o.rounds, cycle };
      log(
        `${o.id} ${r < 0 ? 'warm-up round (not measured)' : `round ${r + 1}/${o.rounds}`}: ${first.name}, then ${second.name}, then bare-sharp, kinu at its defaults …`,
      );
      const a = await first.phase(offset, limit);
      const n = a.requests;
      lastN = n;
      const b = await second.phase(offset, { n });
      const bp = await bareSide.phase(offset, { n });
      const dp = await defaultSide.phase(offset, { n });
      offset += n;
      if (r < 0) continue;
      totals.bare.add(bp);
      totals.defaults.add(dp);
      const [k, s] = kinuFirst ? [a, b] : [b, a];
      totals.kinu.add(k);
      totals.ref.add(s);
      cpuRounds.kinu.push(msPerReq(k));
      cpuRounds.ref.push(msPerReq(s));
      cpuRounds.bare.push(msPerReq(bp));
      roundRatios.push(round(s.loop.elapsedMs / k.loop.elapsedMs, 3));
      // Both phases served the same n requests.
      if (k.ownCpuS !== undefined && s.ownCpuS !== undefined) roundCpu.push(round(k.ownCpuS / s.ownCpuS, 3));
      perRound.push({
        kinuRps: round(n / (k.loop.elapsedMs / 1000), 2),
        refRps: round(n / (s.loop.elapsedMs / 1000), 2),
      });
    }
    const kinuResult = totals.kinu.result(kinu.peakRssMb(), kinu.baselineRssMb);
    const refResult = totals.ref.result(ref.peakRssMb(), ref.baselineRssMb);
    const bareResult = totals.bare.result(bareSide.peakRssMb(), bareSide.baselineRssMb);
    const defaultsResult = totals.defaults.result(defaultSide.peakRssMb(), defaultSide.baselineRssMb);
    const t = kinuResult.timing;
    const cpu = (x: SideResult) => x.cpuMsPerReq;
    const bareNote =
      cpu(bareResult) !== undefined && cpu(refResult) !== undefined && cpu(kinuResult) !== undefined
        ? `bare node:http + the same sharp call (bench/bare-sharp.ts): ${round(bareResult.rps, 1)} req/s, ` +
          `CPU ${cpu(bareResult)!.toFixed(2)} ms/req = ${(cpu(bareResult)! / cpu(refResult)!).toFixed(3)}× in-process sharp; ` +
          `kinu ${(cpu(kinuResult)! / cpu(bareResult)!).toFixed(3)}× bare-sharp`
        : undefined;
    const defaultsNote =
      cpu(defaultsResult) !== undefined && cpu(refResult) !== undefined
        ? `kinu at its defaults (KINU_CONCURRENCY = 2 × ${availableParallelism()} cores, access log on), same load: ` +
          `${round(defaultsResult.rps, 1)} req/s = ${(defaultsResult.rps / refResult.rps).toFixed(3)} of in-process sharp, ` +
          `CPU ${cpu(defaultsResult)!.toFixed(2)} ms/req = ${(cpu(defaultsResult)! / cpu(refResult)!).toFixed(3)}×`
        : undefined;
    const kt = totals.kinu;
    const gcNote =
      kt.gcCounted > 0
        ? `kinu's full GCs (V8 mark-compacts): ${kt.majorGcs} in ${kt.gcCounted} misses (${((100 * kt.majorGcs) / kt.gcCounted).toFixed(2)} per 100)`
        : undefined;
    const cpuNote = `CPU ms/req by round: kinu ${cpuRounds.kinu.join(' ')} · in-process ${cpuRounds.ref.join(' ')} · bare-sharp ${cpuRounds.bare.join(' ')}`;
    // Where each side's CPU went: libvips' workers do the pixels; the main thread (JavaScript, sharp's call
    // setup, the HTTP) and the rest (libuv's pool: file reads and sharp's setup of each image; V8's GC and
    // compiler threads) are what kinu can change.
    const sides = [
      ['kinu', totals.kinu],
      ['in-process', totals.ref],
      ['bare-sharp', totals.bare],
    ] as const;
    const threadNote = sides.every(([, t]) => t.byThread() !== undefined)
      ? `CPU ms/req by thread: ${sides.map(([name, t]) => `${name} ${t.byThread()}`).join('; ')}`
      : undefined;
    const extra = [bareNote, defaultsNote, gcNote, cpuNote, threadNote].filter((x): x is string => x !== undefined);
    return {
      ...finish(
        {
          id: o.id,
          title: o.title,
          reference: 'in-process sharp',
          concurrency: o.concurrency,
          secondsPerSide: round(kinuResult.seconds, 1),
          kinu: kinuResult,
          ref: refResult,
          roundRatios,
          roundCpu,
          rounds: perRound,
          goal: o.goal,
          notes: [...o.notes, ...extra],
        },
        true,
      ),
      timing: t,
      restMs: t ? kinuResult.mean - Object.values(t).reduce((x, y) => x + y, 0) : undefined,
    };
  } finally {
    await kinu.close();
    await refSide?.close();
    await bare?.close();
    await defaults?.close();
  }
}

/** The hot set of the hit workloads: `n` variants, JPEG and WebP in turn, of the photos in turn. */
export function hotSet(
  photos: readonly Photo[],
  n: number,
  baseWidth: number,
): { path: string; format: BenchFormat }[] {
  return Array.from({ length: n }, (_, i) => {
    const { photo, width } = job(photos, i, baseWidth);
    const format: BenchFormat = i % 2 === 0 ? 'jpeg' : 'webp';
    return { path: urlPath(photo, width, format, 80), format };
  });
}

export interface HitOptions {
  readonly id: string;
  readonly tier: 'memory' | 'disk';
  readonly photos: readonly Photo[];
  readonly source: string;
  readonly env: NodeJS.ProcessEnv;
  /** Folder for the disk cache and the reference's files. */
  readonly work: string;
  readonly concurrency: number;
  readonly seconds: number;
  readonly rounds: number;
  readonly urls: number;
  /** Goal on CPU per request: kinu (default settings) ÷ bare at most this. */
  readonly cpuGoal: number | undefined;
  readonly sharpFirst: boolean;
  /** Also measure a kinu with the access log off (KINU_LOG_LEVEL=warn), as a second row. */
  readonly quiet: boolean;
  /** Load generator: wrk when it is on PATH, else the Node client (which saturates before kinu does). */
  readonly wrk: boolean;
  /** Every request carries its variant's ETag in If-None-Match, so every answer is a 304: kinu answers from the
   *  ETag alone, the bare server by comparing it with the one it was given. */
  readonly revalidate?: boolean;
}

async function waitForTier(client: HttpClient, path: string, tier: string, timeoutMs: number): Promise<Reply> {
  const t0 = performance.now();
  for (;;) {
    const r = await client.get(path);
    if (r.headers['x-kinu-cache'] === tier) return r;
    if (performance.now() - t0 > timeoutMs)
      throw new Error(
        `GET ${path}: still X-Kinu-Cache ${r.headers['x-kinu-cache']} after ${timeoutMs} ms, expected ${tier}`,
      );
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** One side's measured phases, added up. */
class HitTotals {
  requests = 0;
  elapsedMs = 0;
  cpuS = 0;
  clientCpuS = 0;
  otherS = 0;
  readonly p50: number[] = [];
  readonly p99: number[] = [];
  result(peakRssMb: number | undefined, meanBytes: number): SideResult {
    const s = this.elapsedMs / 1000;
    return {
      requests: this.requests,
      seconds: s,
      rps: this.requests / s,
      p50: median(this.p50),
      p99: median(this.p99),
      mean: NaN,
      meanBytes,
      cpuMsPerReq: (this.cpuS * 1000) / this.requests,
      clientCpuMsPerReq: (this.clientCpuS * 1000) / this.requests,
      otherCores: this.otherS / s,
      peakRssMb,
      baselineRssMb: undefined,
    };
  }
}

/**
 * W3/W4: a small hot set served from kinu's memory (or disk) tier vs the bare server with the same bytes.
 * kinu runs with its defaults (access log at info, to a file, as in production); with `quiet`, a second kinu
 * with the log off is measured in the same rounds. Returns one row per kinu.
 */
export async function runHit(o: HitOptions): Promise<WorkloadResult[]> {
  const dir = join(o.work, `${o.id}-${o.tier}`);
  await mkdir(dir, { recursive: true });
  const tierEnv = (sub: string): NodeJS.ProcessEnv =>
    o.tier === 'disk' ? { KINU_CACHE_DIR: join(dir, sub), KINU_MEMORY_CACHE_MB: '0' } : {};
  const children: Child[] = [];
  const clients: HttpClient[] = [];
  try {
    const kinus: { name: string; child: Child; client: HttpClient; logs: string }[] = [];
    for (const [name, level] of o.quiet
      ? ([
          ['kinu', 'info'],
          ['kinu-quiet', 'warn'],
        ] as const)
      : ([['kinu', 'info']] as const)) {
      log(`${o.id}: starting ${name} (${o.tier} cache, KINU_LOG_LEVEL=${level}, log to a file) …`);
      const logFile = join(dir, `${name}.log`);
      const child = await startKinu(
        o.source,
        { ...o.env, ...tierEnv(`${name}-cache`), KINU_LOG_LEVEL: level },
        20_000,
        logFile,
      );
      children.push(child);
      const client = createHttpClient(child.base, o.concurrency);
      clients.push(client);
      kinus.push({ name, child, client, logs: logFile });
    }
    // Fill: one miss per URL, then wait until each answers from the tier under test (disk writes are in the background).
    const hot = hotSet(o.photos, o.urls, 480);
    const expected = new Map<string, Buffer>();
    const etags = new Map<string, string>();
    const manifest: { path: string; file: string; type: string; etag: string }[] = [];
    for (const [i, h] of hot.entries()) {
      for (const k of kinus) {
        const first = await k.client.get(h.path);
        if (first.status !== 200 || first.headers['content-type'] !== MIME[h.format])
          throw new Error(`GET ${h.path}: ${first.status} ${first.headers['content-type']}\n${k.child.output()}`);
        const hit = await waitForTier(k.client, h.path, o.tier, 10_000);
        if (!hit.body.equals(first.body)) throw new Error(`GET ${h.path}: the ${o.tier} hit differs from the miss`);
        const etag = hit.headers.etag;
        if (!etag || (etags.has(h.path) && etags.get(h.path) !== etag))
          throw new Error(`GET ${h.path}: ETag ${etag} (another kinu said ${etags.get(h.path)})`);
        etags.set(h.path, etag);
        if (expected.has(h.path)) continue;
        const file = join(dir, `${i}.${h.format}`);
        await writeFile(file, first.body);
        expected.set(h.path, first.body);
        manifest.push({ path: h.path, file, type: MIME[h.format], etag });
      }
    }
    const manifestPath = join(dir, 'manifest.json');
    await writeFile(manifestPath, JSON.stringify(manifest));
    const bare = await startBare(manifestPath, o.tier, o.env);
    children.push(bare);
    const bc = createHttpClient(bare.base, o.concurrency);
    clients.push(bc);

    // The Node client checks every answer (status, type, tier, bytes): the warm-up, and the fallback load.
    const one =
      (client: HttpClient, isKinu: boolean) =>
      async (i: number): Promise<Sample> => {
        const h = hot[i % hot.length]!;
        if (o.revalidate) {
          const etag = etags.get(h.path)!;
          const r = await client.get(h.path, { 'if-none-match': etag });
          if (r.status !== 304 || r.body.length > 0 || r.headers.etag !== etag)
            throw new Error(`GET ${h.path} If-None-Match ${etag}: ${r.status}, ETag ${r.headers.etag}`);
          return { ms: r.ms, bytes: 0 };
        }
        const r = await client.get(h.path);
        if (r.status !== 200 || r.headers['content-type'] !== MIME[h.format])
          throw new Error(`GET ${h.path}: ${r.status} ${r.headers['content-type']}`);
        if (isKinu && r.headers['x-kinu-cache'] !== o.tier)
          throw new Error(`GET ${h.path}: X-Kinu-Cache ${r.headers['x-kinu-cache']}, expected ${o.tier}`);
        if (!r.body.equals(expected.get(h.path)!))
          throw new Error(`GET ${h.path}: body differs from the warmed variant`);
        return { ms: r.ms, bytes: r.body.length };
      };
    const sides = [
      ...kinus.map((k) => ({
        name: k.name,
        child: k.child,
        client: k.client as HttpClient | undefined,
        one: one(k.client, true),
        totals: new HitTotals(),
      })),
      { name: 'bare', child: bare, client: undefined, one: one(bc, false), totals: new HitTotals() },
    ];
    const forSeconds =
      (s: number): StopRule =>
      (_issued, elapsed) =>
        elapsed >= s * 1000;
    // Unmeasured: long enough for V8 to optimise the servers' hot paths (1 s left kinu's first round ~20 % slow).
    log(`${o.id}: warm-up (2 s per side, every answer checked) …`);
    for (const s of sides) await closedLoop(o.concurrency, forSeconds(2), s.one);
    const paths = hot.map((h) => h.path);
    const headers = o.revalidate ? paths.map((p) => ({ 'If-None-Match': etags.get(p)! })) : undefined;
    const secondsPerRound = o.seconds / o.rounds;
    const phase = async (s: (typeof sides)[number]): Promise<void> => {
      // kinu's metrics are read outside the CPU window: rendering them cost kinu 3–7 ms of CPU, twice a phase,
      // ~1 % of a 1 s phase of hits that was counted as theirs.
      const before = o.wrk && s.client ? await lookups(s.client) : undefined;
      const cpu0 = procCpuSeconds(s.child.pid);
      const busy0 = machineBusySeconds();
      const self0 = process.cpuUsage();
      let requests: number;
      let elapsedMs: number;
      let clientS: number;
      if (o.wrk) {
        const w = await runWrk(s.child.base, paths, {
          connections: o.concurrency,
          seconds: secondsPerRound,
          dir,
          headers,
        });
        ({ requests } = w);
        elapsedMs = w.seconds * 1000;
        clientS = w.cpuS;
        s.totals.p50.push(w.p50Ms);
        s.totals.p99.push(w.p99Ms);
      } else {
        const loop = await closedLoop(o.concurrency, forSeconds(secondsPerRound), s.one);
        requests = loop.samples.length;
        elapsedMs = loop.elapsedMs;
        const sum = summarise(loop);
        s.totals.p50.push(sum.p50);
        s.totals.p99.push(sum.p99);
        const self = process.cpuUsage(self0);
        clientS = (self.user + self.system) / 1e6;
      }
      const cpu1 = procCpuSeconds(s.child.pid);
      const busy1 = machineBusySeconds();
      if (before && s.client) {
        // Every answer wrk counted came from the tier under test, or for revalidations was a 304 answered
        // without a lookup (a few more may have been in flight).
        const after = await lookups(s.client);
        const delta = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
        const tier = o.revalidate ? 'notModified' : o.tier;
        const others = Object.keys(after).filter((k) => k !== tier && k !== 'notModified' && delta(k) > 0);
        if (delta(tier) < requests || others.length > 0)
          throw new Error(
            `${s.name}: wrk got ${requests} answers, ${delta(tier)} from ${tier}; also ${others.map((k) => `${delta(k)} ${k}`).join(', ')}`,
          );
      }
      const own = cpu0 === undefined || cpu1 === undefined ? NaN : cpu1 - cpu0;
      s.totals.requests += requests;
      s.totals.elapsedMs += elapsedMs;
      s.totals.cpuS += own;
      s.totals.clientCpuS += clientS;
      if (busy0 !== undefined && busy1 !== undefined) s.totals.otherS += Math.max(0, busy1 - busy0 - own - clientS);
    };
    const roundRatios: number[] = [];
    const perRound: { kinuRps: number; refRps: number }[] = [];
    // Per kinu side, its CPU per request over the bare server's in the same round.
    const roundCpu: Record<string, number[]> = {};
    for (let r = 0; r < o.rounds; r++) {
      // Each side goes first in turn, so that drift in machine load hits all alike.
      const shift = (r + (o.sharpFirst ? sides.length - 1 : 0)) % sides.length;
      const order = [...sides.slice(shift), ...sides.slice(0, shift)];
      log(
        `${o.id} round ${r + 1}/${o.rounds}: ${order.map((s) => s.name).join(', then ')} (${secondsPerRound.toFixed(1)} s each, ${o.wrk ? 'wrk' : 'Node client'}) …`,
      );
      const got: Record<string, { n: number; ms: number; cpuS: number }> = {};
      for (const s of order) {
        const n0 = s.totals.requests;
        const ms0 = s.totals.elapsedMs;
        const cpu0 = s.totals.cpuS;
        await phase(s);
        got[s.name] = { n: s.totals.requests - n0, ms: s.totals.elapsedMs - ms0, cpuS: s.totals.cpuS - cpu0 };
      }
      const rps = (g: { n: number; ms: number }) => (g.n * 1000) / g.ms;
      const cpuPerReq = (g: { n: number; cpuS: number }) => g.cpuS / g.n;
      roundRatios.push(round(rps(got.kinu!) / rps(got.bare!), 3));
      perRound.push({ kinuRps: round(rps(got.kinu!), 0), refRps: round(rps(got.bare!), 0) });
      for (const s of sides.slice(0, -1))
        (roundCpu[s.name] ??= []).push(round(cpuPerReq(got[s.name]!) / cpuPerReq(got.bare!), 3));
    }
    const peak = (c: Child) => kbToMb(procStatus(c.pid)?.hwmKb);
    const bytes = [...expected.values()].reduce((a, b) => a + b.length, 0) / expected.size;
    const bareSide = sides.at(-1)!;
    const refResult = bareSide.totals.result(peak(bare), bytes);
    const load = o.wrk ? 'wrk' : 'Node client';
    return sides.slice(0, -1).map((s, i) => {
      const kinuResult = s.totals.result(peak(s.child), bytes);
      const pooled = kinuResult.cpuMsPerReq! / refResult.cpuMsPerReq!;
      // Judged on the median of the rounds' ratios, as the issue's outside benchmark judges: on a shared VM the
      // machine slows down for seconds at a time, and a slow stretch that falls on one side's phase moves the
      // pooled ratio by 0.2 while the other rounds agree.
      const rounds = roundCpu[s.name] ?? [];
      const times = median(rounds);
      const goal = i === 0 ? o.cpuGoal : undefined;
      const w = finish(
        {
          id: i === 0 ? o.id : `${o.id}q`,
          title: `${o.revalidate ? `${o.tier} 304 (If-None-Match), ${o.urls} URLs` : `${o.tier} hit, ${o.urls} URLs (JPEG/WebP, mean ${(bytes / 1024).toFixed(0)} KB)`}, ${i === 0 ? 'defaults: access log at info to a file' : 'access log off (KINU_LOG_LEVEL=warn)'}`,
          reference: o.tier === 'memory' ? 'bare node:http, Map' : 'bare node:http, fs.readFile',
          concurrency: o.concurrency,
          secondsPerSide: round(kinuResult.seconds, 1),
          kinu: kinuResult,
          ref: refResult,
          roundRatios: i === 0 ? roundRatios : [],
          rounds: i === 0 ? perRound : [],
          goal: undefined,
          notes: [
            `${s.name}: CPU per request over bare's in each round ${rounds.map((x) => x.toFixed(2)).join(' ')}: median ${times.toFixed(2)}× bare${goal === undefined ? '' : ` (goal ≤ ${goal}×: ${times <= goal ? 'PASS' : 'FAIL'})`} · all rounds pooled: ${(kinuResult.cpuMsPerReq! * 1000).toFixed(1)} vs ${(refResult.cpuMsPerReq! * 1000).toFixed(1)} µs/req, ${pooled.toFixed(2)}× · load from ${load}`,
            ...(o.wrk ? [] : [WRK_MISSING]),
          ],
        },
        false,
      );
      return { ...w, cpuGoal: goal, cpuTimes: round(times, 3), pass: goal === undefined ? undefined : times <= goal };
    });
  } finally {
    for (const c of clients) c.close();
    for (const c of children.reverse()) await c.stop();
  }
}
