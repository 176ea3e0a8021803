// A closed loop: `concurrency` requests in flight, each one started as another finishes, until the stop rule says so.
import { readdirSync, readFileSync } from 'node:fs';

export interface Sample {
  readonly ms: number;
  readonly bytes: number;
  /** Server-Timing durations (kinu only): fetch, process, encode. */
  readonly timing?: Readonly<Record<string, number>>;
}

export interface LoopResult {
  readonly samples: Sample[];
  readonly elapsedMs: number;
}

export type StopRule = (issued: number, elapsedMs: number) => boolean;

export async function closedLoop(
  concurrency: number,
  stop: StopRule,
  one: (i: number) => Promise<Sample>,
): Promise<LoopResult> {
  const samples: Sample[] = [];
  let issued = 0;
  let failure: unknown;
  const t0 = performance.now();
  const worker = async () => {
    while (failure === undefined && !stop(issued, performance.now() - t0)) {
      const i = issued++;
      try {
        samples.push(await one(i));
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (failure !== undefined) throw failure;
  return { samples, elapsedMs: performance.now() - t0 };
}

/** Stop after `seconds`, once a whole cycle of photos is done, so every photo gets its share. */
export function stopRule(opts: { seconds: number; cycle: number }): StopRule {
  const ms = opts.seconds * 1000;
  return (issued, elapsed) => elapsed >= ms && issued % opts.cycle === 0;
}

/** How long a phase runs: exactly `n` requests, or about `seconds`, stopping at a whole cycle of the photos. */
export type PhaseLimit = { readonly n: number } | { readonly seconds: number; readonly cycle: number };

export const stopOf = (limit: PhaseLimit): StopRule =>
  'n' in limit ? (issued) => issued >= limit.n : stopRule({ seconds: limit.seconds, cycle: limit.cycle });

export interface Summary {
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
  readonly meanBytes: number;
  readonly timing?: Readonly<Record<string, number>>;
}

/** The middle value (the mean of the two middle ones for an even count); NaN for none. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function summarise(r: LoopResult): Summary {
  const ms = r.samples.map((s) => s.ms).sort((a, b) => a - b);
  const n = ms.length;
  const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
  const timed = r.samples.filter((s) => s.timing !== undefined);
  let timing: Record<string, number> | undefined;
  if (timed.length > 0) {
    timing = {};
    for (const k of Object.keys(timed[0]!.timing!)) timing[k] = sum(timed.map((s) => s.timing![k] ?? 0)) / timed.length;
  }
  return {
    requests: n,
    seconds: r.elapsedMs / 1000,
    rps: n / (r.elapsedMs / 1000),
    p50: percentile(ms, 50),
    p99: percentile(ms, 99),
    mean: sum(ms) / n,
    meanBytes: sum(r.samples.map((s) => s.bytes)) / n,
    ...(timing ? { timing } : {}),
  };
}

/** kB fields of /proc/<pid>/status (VmRSS, VmHWM), or undefined where /proc is missing. */
export function procStatus(pid: number | 'self'): { rssKb: number; hwmKb: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(s)?.[1]);
    const rssKb = field('VmRSS');
    const hwmKb = field('VmHWM');
    return Number.isFinite(rssKb) && Number.isFinite(hwmKb) ? { rssKb, hwmKb } : undefined;
  } catch {
    return undefined;
  }
}

/** utime + stime of a /proc `stat` line (a process's or a thread's), in seconds. */
function statCpuSeconds(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15, in clock ticks (USER_HZ, 100 on Linux).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds (user + system, all threads) a process has used, from /proc/<pid>/stat; undefined without /proc. */
export function procCpuSeconds(pid: number | 'self'): number | undefined {
  try {
    return statCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The direct children of `pid` (those its main thread started, as node's are); none once it is gone. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** `root` and all its descendants (a supervisor, its worker and spare). */
export function processTree(root: number): number[] {
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...childPids(out[i]!));
  return out;
}

/** Busy CPU seconds of the whole machine (all but idle and iowait, steal included), from /proc/stat. */
export function machineBusySeconds(): number | undefined {
  try {
    const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = ticks;
    return (user + nice + system + irq + softirq + steal) / 100;
  } catch {
    return undefined;
  }
}

/** CPU seconds of a process's main (JavaScript) thread and of libvips' worker threads over a window. */
export interface ThreadsCpu {
  readonly main: number;
  readonly libvips: number;
}

/** Each live thread of `pid` (/proc/<pid>/task): CPU seconds so far, and whether it is a libvips worker. */
function threadTimes(pid: number): Map<number, { cpu: number; libvips: boolean }> | undefined {
  try {
    const out = new Map<number, { cpu: number; libvips: boolean }>();
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const s = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
      out.set(Number(task), {
        cpu: statCpuSeconds(s),
        libvips: s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')).startsWith('libvips'),
      });
    }
    return out;
  } catch {
    return undefined;
  }
}

/** Per thread, so a thread that exits (an idle libvips worker does) takes only its own time with it. */
function threadsDelta(pid: number, a: ReturnType<typeof threadTimes>, b: ReturnType<typeof threadTimes>) {
  if (!a || !b) return undefined;
  let main = 0;
  let libvips = 0;
  for (const [tid, t] of b) {
    const d = t.cpu - (a.get(tid)?.cpu ?? 0);
    if (tid === pid) main = d;
    else if (t.libvips) libvips += d;
  }
  return { main, libvips };
}

/**
 * CPU seconds of process `pid` from now until the returned function is called (and of its main thread and libvips'
 * workers), and of the rest of the machine over the same time: what is ours besides `pid` (a load generator) is
 * passed in and left out of "other".
 */
export function cpuWindow(pid: number): (oursBesidesS?: number) => {
  ownCpuS: number | undefined;
  threadsCpuS: ThreadsCpu | undefined;
  otherBusyS: number | undefined;
} {
  const own0 = procCpuSeconds(pid);
  const threads0 = threadTimes(pid);
  const busy0 = machineBusySeconds();
  return (oursBesidesS = 0) => {
    const own1 = procCpuSeconds(pid);
    const threads1 = threadTimes(pid);
    const busy1 = machineBusySeconds();
    const ownCpuS = own0 !== undefined && own1 !== undefined ? own1 - own0 : undefined;
    const threadsCpuS = threadsDelta(pid, threads0, threads1);
    const otherBusyS =
      busy0 !== undefined && busy1 !== undefined && ownCpuS !== undefined
        ? Math.max(0, busy1 - busy0 - ownCpuS - oursBesidesS)
        : undefined;
    return { ownCpuS, threadsCpuS, otherBusyS };
  };
}
