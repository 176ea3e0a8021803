// The two things compared: a kinu child over HTTP, and the in-process sharp reference. Each can warm up,
// run a measured phase of requests [offset, offset + n), and say how much memory it peaked at.
import type { Photo } from './corpus.ts';
import { job } from './corpus.ts';
import { createClient, startKinu, type KinuChild } from './kinu.ts';
import { closedLoop, machineBusySeconds, procCpuSeconds, procStatus, resetPeakRss, type LoopResult, type Sample, type StopRule } from './load.ts';
import { sharpOnce } from './reference.ts';

export const QUALITY = 80;
export const BASE_WIDTH = 400;
const WARMUP_WIDTH = 300; // warm-up sizes never repeat a measured one

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
  readonly name: 'kinu' | 'sharp';
  warm(n: number): Promise<void>;
  phase(offset: number, stop: StopRule): Promise<PhaseStats>;
  peakRssMb(): number | undefined;
  readonly baselineRssMb: number | undefined;
  readonly rssNote: string;
  close(): Promise<void>;
}

const kbToMb = (kb: number | undefined) => (kb === undefined ? undefined : kb / 1024);

function checkWidth(what: string, want: number, got: number): void {
  if (got !== want) throw new Error(`${what}: expected a JPEG ${want} px wide, got ${got}`);
}

async function measure(concurrency: number, stop: StopRule, one: (i: number) => Promise<Sample>, ownCpu: () => number | undefined, isClient: boolean): Promise<PhaseStats> {
  const own0 = ownCpu();
  const self0 = process.cpuUsage();
  const busy0 = machineBusySeconds();
  const loop = await closedLoop(concurrency, stop, one);
  const own1 = ownCpu();
  const self = process.cpuUsage(self0);
  const busy1 = machineBusySeconds();
  const selfS = (self.user + self.system) / 1e6;
  const ownCpuS = isClient ? (own0 !== undefined && own1 !== undefined ? own1 - own0 : undefined) : selfS;
  const clientCpuS = isClient ? selfS : undefined;
  const ours = ownCpuS === undefined ? undefined : ownCpuS + (clientCpuS ?? 0);
  const otherBusyS = busy0 !== undefined && busy1 !== undefined && ours !== undefined ? Math.max(0, busy1 - busy0 - ours) : undefined;
  return { loop, ownCpuS, clientCpuS, otherBusyS };
}

export async function kinuSide(photos: readonly Photo[], source: string, env: NodeJS.ProcessEnv, concurrency: number,
  onStart: (child: KinuChild) => void): Promise<Side> {
  const kinu = await startKinu(source, env);
  onStart(kinu);
  const client = createClient(kinu.base, concurrency);
  const baseline = procStatus(kinu.pid);
  const path = (p: Photo, w: number) => `/${p.key.split('/').map(encodeURIComponent).join('/')}?w=${w}&fmt=jpeg&q=${QUALITY}`;
  const request = async (i: number, base: number) => {
    const { photo, width } = job(photos, i, base);
    try {
      const r = await client.get(path(photo, width));
      checkWidth(`kinu ${photo.key} w=${width}`, width, r.width);
      return r;
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- kinu output (last lines) ---\n${kinu.output()}`, { cause: e });
    }
  };
  return {
    name: 'kinu',
    async warm(n) { await closedLoop(concurrency, (i) => i >= n, (i) => request(i, WARMUP_WIDTH)); },
    phase: (offset, stop) => measure(concurrency, stop, (i) => request(offset + i, BASE_WIDTH), () => procCpuSeconds(kinu.pid), true),
    peakRssMb: () => kbToMb(procStatus(kinu.pid)?.hwmKb),
    baselineRssMb: kbToMb(baseline?.rssKb),
    rssNote: `kinu child (pid ${kinu.pid}) VmHWM from /proc/<pid>/status over its whole life`,
    async close() { client.close(); await kinu.stop(); },
  };
}

export function sharpSide(photos: readonly Photo[], concurrency: number): Side {
  const reset = resetPeakRss();
  const baseline = procStatus('self');
  const request = async (i: number, base: number) => {
    const { photo, width } = job(photos, i, base);
    const r = await sharpOnce(photo.path, width, QUALITY);
    checkWidth(`sharp ${photo.key} w=${width}`, width, r.width);
    return r;
  };
  return {
    name: 'sharp',
    async warm(n) { await closedLoop(concurrency, (i) => i >= n, (i) => request(i, WARMUP_WIDTH)); },
    phase: (offset, stop) => measure(concurrency, stop, (i) => request(offset + i, BASE_WIDTH), () => undefined, false),
    peakRssMb: () => (reset ? kbToMb(procStatus('self')?.hwmKb) : process.resourceUsage().maxRSS / 1024),
    baselineRssMb: kbToMb(baseline?.rssKb),
    rssNote: reset
      ? 'this process VmHWM, reset via /proc/self/clear_refs before its warm-up (includes the bench baseline and the small HTTP client)'
      : 'this process resourceUsage().maxRSS over its whole life (VmHWM could not be reset)',
    async close() {},
  };
}
