// The two things compared in a miss workload (W1, W2): a kinu child over HTTP, and the in-process sharp
// reference. Each can warm up, run a measured phase of requests [offset, offset + n), and say how much
// memory it peaked at.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { Photo } from './corpus.ts';
import { job, urlPath } from './corpus.ts';
import { createHttpClient, type Reply } from './client.ts';
import { MIME, checkWidth, expectedWidth, imageWidth, type BenchFormat } from './image-info.ts';
import { startBareSharp, startKinu, type Child } from './kinu.ts';
import {
  closedLoop,
  cpuWindow,
  procStatus,
  type LoopResult,
  type Sample,
  stopOf,
  type PhaseLimit,
  type StopRule,
  type ThreadsCpu,
} from './load.ts';
import type { FromChild, ToChild } from './sharp-child.ts';
import { reading, stageMeansMs } from './kinu-metrics.ts';
import { runWrkCount } from './wrk.ts';

export type { PhaseLimit };

/** One cache-miss workload: every request a new width of one of the photos. */
export interface MissSpec {
  readonly format: BenchFormat;
  readonly quality: number;
  readonly baseWidth: number;
  /** Warm-up widths start here and never reach a measured one. */
  readonly warmWidth: number;
}

export interface PhaseStats {
  /** The Node client's or the in-process loop's samples; wrk's phases have none, only `latency`. */
  readonly loop: LoopResult;
  readonly requests: number;
  /** A wrk phase's latency (its percentiles and mean, ms) and kinu's stage means from its metrics. */
  readonly latency?: { readonly p50: number; readonly p99: number; readonly mean: number };
  readonly timing?: Readonly<Record<string, number>>;
  /** kinu's full garbage collections (V8 mark-compacts) during a wrk phase, from its metrics. */
  readonly majorGcs?: number;
  /** CPU seconds of the process doing the image work (kinu child, or this process for sharp). */
  readonly ownCpuS: number | undefined;
  /** Of those, its main thread's and libvips' workers' (the rest: libuv's pool, V8's threads). */
  readonly threadsCpuS?: ThreadsCpu | undefined;
  /** CPU seconds of this process as HTTP client (kinu only). */
  readonly clientCpuS: number | undefined;
  /** Busy CPU seconds of the machine not ours (other processes, steal). */
  readonly otherBusyS: number | undefined;
}

export interface Side {
  readonly name: string;
  warm(n: number): Promise<void>;
  /** Requests [offset, offset + n) of the workload. A side driven by wrk takes only `{ n }`. */
  phase(offset: number, limit: PhaseLimit): Promise<PhaseStats>;
  /** Whether `phase` needs its count up front (wrk). */
  readonly counted: boolean;
  peakRssMb(): number | undefined;
  readonly baselineRssMb: number | undefined;
  readonly rssNote: string;
  close(): Promise<void>;
}

const SHARP_CHILD = fileURLToPath(new URL('./sharp-child.ts', import.meta.url));

export const kbToMb = (kb: number | undefined) => (kb === undefined ? undefined : kb / 1024);

/** Runs a closed loop against child `pid` and accounts CPU: the child's, this process's as client, the rest's. */
export async function measure(
  concurrency: number,
  stop: StopRule,
  one: (i: number) => Promise<Sample>,
  pid: number,
): Promise<PhaseStats> {
  const window = cpuWindow(pid);
  const self0 = process.cpuUsage();
  const loop = await closedLoop(concurrency, stop, one);
  const self = process.cpuUsage(self0);
  const clientCpuS = (self.user + self.system) / 1e6;
  return { loop, requests: loop.samples.length, ...window(clientCpuS), clientCpuS };
}

export function parseServerTiming(v: string | undefined): Record<string, number> {
  const timing: Record<string, number> = {};
  for (const part of String(v ?? '').split(',')) {
    const m = /^\s*([\w-]+);dur=([\d.]+)/.exec(part);
    if (m) timing[m[1]!] = Number(m[2]);
  }
  return timing;
}

export async function kinuSide(
  photos: readonly Photo[],
  spec: MissSpec,
  source: string,
  env: NodeJS.ProcessEnv,
  concurrency: number,
  wrkDir?: string,
): Promise<Side> {
  return childSide(
    'kinu',
    await startKinu(source, env),
    photos,
    spec,
    concurrency,
    (r, path) => {
      if (r.headers['x-kinu-cache'] !== 'miss')
        throw new Error(`GET ${path}: X-Kinu-Cache ${r.headers['x-kinu-cache']}, expected miss`);
      return parseServerTiming(r.headers['server-timing']);
    },
    wrkDir,
    true,
  );
}

/** The bare miss reference over HTTP: what a plain node:http server calling sharp costs, with kinu's client. */
export async function bareSharpSide(
  photos: readonly Photo[],
  spec: MissSpec,
  source: string,
  env: NodeJS.ProcessEnv,
  concurrency: number,
  wrkDir?: string,
): Promise<Side> {
  return childSide('bare-sharp', await startBareSharp(source, env), photos, spec, concurrency, undefined, wrkDir);
}

/**
 * A server child answering the miss URLs, its CPU from /proc. With `wrkDir`, wrk sends a measured phase's requests
 * and checks only their status: a kinu child's metrics must then count exactly that many misses, and the first
 * cycle of the phase's URLs is asked again (cached now, or made again) and checked as the Node client checks every
 * answer of the warm-up: status, type, width, and `check`.
 */
function childSide(
  name: string,
  child: Child,
  photos: readonly Photo[],
  spec: MissSpec,
  concurrency: number,
  check?: (r: Reply, path: string) => Record<string, number>,
  wrkDir?: string,
  isKinu = false,
): Side {
  const client = createHttpClient(child.base, concurrency);
  const baseline = procStatus(child.pid);
  const pathOf = (i: number, base: number) => {
    const { photo, width } = job(photos, i, base);
    return urlPath(photo, width, spec.format, spec.quality);
  };
  const request = async (i: number, base: number, again = false): Promise<Sample> => {
    const { photo, width } = job(photos, i, base);
    const path = pathOf(i, base);
    try {
      const r = await client.get(path, { accept: '*/*' });
      const type = r.headers['content-type'];
      if (r.status !== 200 || type !== MIME[spec.format])
        throw new Error(`GET ${path}: ${r.status} ${type}\n${r.body.subarray(0, 500).toString('utf8')}`);
      const timing = again ? undefined : check?.(r, path);
      checkWidth(
        `${name} ${photo.key} w=${width}`,
        spec.format,
        expectedWidth(photo, width),
        imageWidth(spec.format, r.body),
      );
      return { ms: r.ms, bytes: r.body.length, ...(timing && { timing }) };
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- ${name} output (last lines) ---\n${child.output()}`, { cause: e });
    }
  };
  const wrkPhase = async (offset: number, n: number): Promise<PhaseStats> => {
    const paths = Array.from({ length: n }, (_, i) => pathOf(offset + i, spec.baseWidth));
    const before = isKinu ? await reading(client) : undefined;
    const window = cpuWindow(child.pid);
    const w = await runWrkCount(child.base, paths, { connections: concurrency, dir: wrkDir!, timeoutS: 3600 });
    const cpu = window(w.cpuS);
    let timing: Record<string, number> | undefined;
    let gcs: number | undefined;
    if (before) {
      const now = await reading(client);
      gcs = now.majorGcs - before.majorGcs;
      const after = now.lookups;
      const delta = (k: string) => (after[k] ?? 0) - (before.lookups[k] ?? 0);
      const others = Object.keys(after).filter((k) => k !== 'miss' && delta(k) > 0);
      if (delta('miss') !== n || others.length > 0)
        throw new Error(
          `${name}: wrk got ${n} answers, ${delta('miss')} of them misses; also ${others.map((k) => `${delta(k)} ${k}`).join(', ')}`,
        );
      timing = stageMeansMs(before.stages, now.stages);
    }
    for (let i = 0; i < Math.min(n, photos.length); i++) await request(offset + i, spec.baseWidth, true);
    return {
      loop: { samples: [], elapsedMs: w.elapsedMs },
      requests: n,
      latency: { p50: w.p50Ms, p99: w.p99Ms, mean: w.meanMs },
      ...(timing && { timing }),
      ...(gcs !== undefined && { majorGcs: gcs }),
      ...cpu,
      clientCpuS: w.cpuS,
    };
  };
  return {
    name,
    counted: wrkDir !== undefined,
    async warm(n) {
      await closedLoop(
        concurrency,
        (i) => i >= n,
        (i) => request(i, spec.warmWidth),
      );
    },
    phase: (offset, limit) => {
      if (wrkDir !== undefined) {
        if (!('n' in limit)) throw new Error(`${name}: a wrk phase needs its request count`);
        return wrkPhase(offset, limit.n);
      }
      return measure(concurrency, stopOf(limit), (i) => request(offset + i, spec.baseWidth), child.pid);
    },
    peakRssMb: () => kbToMb(procStatus(child.pid)?.hwmKb),
    baselineRssMb: kbToMb(baseline?.rssKb),
    rssNote: `${name} child VmHWM over its whole life`,
    async close() {
      client.close();
      await child.stop();
    },
  };
}

/** In-process sharp, in a child of its own (sharp-child.ts) with the kinu children's environment. */
export async function sharpSide(
  photos: readonly Photo[],
  spec: MissSpec,
  concurrency: number,
  env: NodeJS.ProcessEnv,
): Promise<Side> {
  const child = fork(SHARP_CHILD, [], {
    env,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ask = (m: ToChild) =>
    new Promise<Extract<FromChild, { ok: true }>>((resolve, reject) => {
      const gone = () => reject(new Error('the sharp child exited'));
      child.once('exit', gone);
      child.once('message', (r: FromChild) => {
        child.off('exit', gone);
        if (r.ok) resolve(r);
        else reject(new Error(`sharp child: ${r.error}`));
      });
      child.send(m);
    });
  await ask({ cmd: 'init', photos, spec, concurrency, sharpConcurrency: sharp.concurrency() });
  const baseline = procStatus(child.pid!);
  const run = async (offset: number, base: number, limit: PhaseLimit) => {
    const r = await ask({ cmd: 'run', offset, base, limit });
    return { samples: r.samples ?? [], elapsedMs: r.elapsedMs ?? 0 };
  };
  return {
    name: 'sharp',
    counted: false,
    async warm(n) {
      await run(0, spec.warmWidth, { n });
    },
    async phase(offset, limit) {
      const window = cpuWindow(child.pid!);
      const loop = await run(offset, spec.baseWidth, limit);
      return { loop, requests: loop.samples.length, ...window(), clientCpuS: undefined };
    },
    peakRssMb: () => kbToMb(procStatus(child.pid!)?.hwmKb),
    baselineRssMb: kbToMb(baseline?.rssKb),
    rssNote: 'sharp child VmHWM over its whole life',
    async close() {
      child.disconnect();
      await exited;
    },
  };
}
