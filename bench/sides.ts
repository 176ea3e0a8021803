// The two things compared in a miss workload (W1, W2): a kinu child over HTTP, and the in-process sharp
// reference. Each can warm up, run a measured phase of requests [offset, offset + n), and say how much
// memory it peaked at.
import type { Photo } from './corpus.ts';
import { job, urlPath } from './corpus.ts';
import { createHttpClient, type Reply } from './client.ts';
import { MIME, imageWidth, type BenchFormat } from './image-info.ts';
import { startBareSharp, startKinu, type Child } from './kinu.ts';
import {
  closedLoop,
  machineBusySeconds,
  procCpuSeconds,
  procStatus,
  resetPeakRss,
  type LoopResult,
  type Sample,
  type StopRule,
} from './load.ts';
import { sharpOnce } from './reference.ts';

/** One cache-miss workload: every request a new width of one of the photos. */
export interface MissSpec {
  readonly format: BenchFormat;
  readonly quality: number;
  readonly baseWidth: number;
  /** Warm-up widths start here and never reach a measured one. */
  readonly warmWidth: number;
}

export interface PhaseStats {
  readonly loop: LoopResult;
  /** CPU seconds of the process doing the image work (kinu child, or this process for sharp). */
  readonly ownCpuS: number | undefined;
  /** CPU seconds of this process as HTTP client (kinu only). */
  readonly clientCpuS: number | undefined;
  /** Busy CPU seconds of the machine not ours (other processes, steal). */
  readonly otherBusyS: number | undefined;
}

export interface Side {
  readonly name: string;
  warm(n: number): Promise<void>;
  phase(offset: number, stop: StopRule): Promise<PhaseStats>;
  peakRssMb(): number | undefined;
  readonly baselineRssMb: number | undefined;
  readonly rssNote: string;
  close(): Promise<void>;
}

export const kbToMb = (kb: number | undefined) => (kb === undefined ? undefined : kb / 1024);

function expectedWidth(photo: Photo, width: number): number {
  return Math.min(width, photo.width); // kinu never enlarges unless asked; the reference does the same
}

function checkWidth(what: string, format: BenchFormat, want: number, got: number): void {
  if (got !== want) throw new Error(`${what}: expected ${format} ${want} px wide, got ${got}`);
}

/** Runs a closed loop and accounts CPU: of `ownCpu` (a child) or of this process, and of the rest of the machine. */
export async function measure(
  concurrency: number,
  stop: StopRule,
  one: (i: number) => Promise<Sample>,
  ownCpu: (() => number | undefined) | undefined,
): Promise<PhaseStats> {
  const own0 = ownCpu?.();
  const self0 = process.cpuUsage();
  const busy0 = machineBusySeconds();
  const loop = await closedLoop(concurrency, stop, one);
  const own1 = ownCpu?.();
  const self = process.cpuUsage(self0);
  const busy1 = machineBusySeconds();
  const selfS = (self.user + self.system) / 1e6;
  const isClient = ownCpu !== undefined;
  const ownCpuS = isClient ? (own0 !== undefined && own1 !== undefined ? own1 - own0 : undefined) : selfS;
  const clientCpuS = isClient ? selfS : undefined;
  const ours = ownCpuS === undefined ? undefined : ownCpuS + (clientCpuS ?? 0);
  const otherBusyS =
    busy0 !== undefined && busy1 !== undefined && ours !== undefined ? Math.max(0, busy1 - busy0 - ours) : undefined;
  return { loop, ownCpuS, clientCpuS, otherBusyS };
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
): Promise<Side> {
  return childSide('kinu', await startKinu(source, env), photos, spec, concurrency, (r, path) => {
    if (r.headers['x-kinu-cache'] !== 'miss')
      throw new Error(`GET ${path}: X-Kinu-Cache ${r.headers['x-kinu-cache']}, expected miss`);
    return parseServerTiming(r.headers['server-timing']);
  });
}

/** The bare miss reference over HTTP: what a plain node:http server calling sharp costs, with kinu's client. */
export async function bareSharpSide(
  photos: readonly Photo[],
  spec: MissSpec,
  source: string,
  env: NodeJS.ProcessEnv,
  concurrency: number,
): Promise<Side> {
  return childSide('bare-sharp', await startBareSharp(source, env), photos, spec, concurrency);
}

/** A server child answering the miss URLs: every answer checked (status, type, width, and `check`), its CPU from /proc. */
function childSide(
  name: string,
  child: Child,
  photos: readonly Photo[],
  spec: MissSpec,
  concurrency: number,
  check?: (r: Reply, path: string) => Record<string, number>,
): Side {
  const client = createHttpClient(child.base, concurrency);
  const baseline = procStatus(child.pid);
  const request = async (i: number, base: number): Promise<Sample> => {
    const { photo, width } = job(photos, i, base);
    const path = urlPath(photo, width, spec.format, spec.quality);
    try {
      const r = await client.get(path, { accept: '*/*' });
      const type = r.headers['content-type'];
      if (r.status !== 200 || type !== MIME[spec.format])
        throw new Error(`GET ${path}: ${r.status} ${type}\n${r.body.subarray(0, 500).toString('utf8')}`);
      const timing = check?.(r, path);
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
  return {
    name,
    async warm(n) {
      await closedLoop(
        concurrency,
        (i) => i >= n,
        (i) => request(i, spec.warmWidth),
      );
    },
    phase: (offset, stop) =>
      measure(
        concurrency,
        stop,
        (i) => request(offset + i, spec.baseWidth),
        () => procCpuSeconds(child.pid),
      ),
    peakRssMb: () => kbToMb(procStatus(child.pid)?.hwmKb),
    baselineRssMb: kbToMb(baseline?.rssKb),
    rssNote: `${name} child VmHWM over its whole life`,
    async close() {
      client.close();
      await child.stop();
    },
  };
}

export function sharpSide(photos: readonly Photo[], spec: MissSpec, concurrency: number): Side {
  const reset = resetPeakRss();
  const baseline = procStatus('self');
  const request = async (i: number, base: number) => {
    const { photo, width } = job(photos, i, base);
    const r = await sharpOnce(photo.path, width, spec.format, spec.quality);
    checkWidth(`sharp ${photo.key} w=${width}`, spec.format, expectedWidth(photo, width), r.width);
    return r;
  };
  return {
    name: 'sharp',
    async warm(n) {
      await closedLoop(
        concurrency,
        (i) => i >= n,
        (i) => request(i, spec.warmWidth),
      );
    },
    phase: (offset, stop) => measure(concurrency, stop, (i) => request(offset + i, spec.baseWidth), undefined),
    peakRssMb: () => (reset ? kbToMb(procStatus('self')?.hwmKb) : process.resourceUsage().maxRSS / 1024),
    baselineRssMb: kbToMb(baseline?.rssKb),
    rssNote: reset ? 'this process VmHWM, reset before its warm-up' : 'this process maxRSS over its whole life',
    async close() {},
  };
}
