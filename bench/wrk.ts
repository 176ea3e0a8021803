// wrk (C) as the load generator of every workload over HTTP: a client written in Node saturates before a fast Node
// server does and pulls every ratio towards 1, and on misses its CPU (~0.8 ms a request) takes the cores the
// server needs. One thread, keep-alive connections.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const WRK_MISSING =
  'wrk is not on PATH: the workloads over HTTP fall back to the Node client, which saturates before kinu ' +
  "does and hides kinu's cost on hits (ratios pulled towards 1) and takes CPU from it on misses. Install it: apt-get install wrk (Debian/Ubuntu), brew install wrk.";

export function hasWrk(): boolean {
  return spawnSync('wrk', ['--version'], { encoding: 'utf8' }).error === undefined;
}

export interface WrkResult {
  readonly requests: number;
  readonly seconds: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU seconds wrk itself used (it shares the machine with the servers). */
  readonly cpuS: number;
}

/** CPU seconds of this process's reaped children (cutime + cstime of /proc/self/stat): wrk's, once it exited. */
function childrenCpuS(): number {
  const s = readFileSync('/proc/self/stat', 'utf8');
  const fields = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

const MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

/** `seconds` of `connections` keep-alive connections asking for `paths` in turn; fails on any error or non-2xx. */
export async function runWrk(
  base: string,
  paths: readonly string[],
  o: {
    connections: number;
    seconds: number;
    dir: string;
    /** Request headers for each path (same index). */
    headers?: readonly Readonly<Record<string, string>>[];
    /** The CPU wrk is pinned to (taskset), when set. */
    cpu?: number;
  },
): Promise<WrkResult> {
  const script = join(o.dir, 'paths.lua');
  // JSON string literals are Lua's too for the ASCII paths and header values used here.
  const table = (h: Readonly<Record<string, string>>) =>
    `{${Object.entries(h)
      .map(([k, v]) => `[${JSON.stringify(k)}] = ${JSON.stringify(v)}`)
      .join(', ')}}`;
  writeFileSync(
    script,
    `local paths = {${paths.map((p) => JSON.stringify(p)).join(', ')}}\n` +
      `local headers = {${(o.headers ?? []).map(table).join(', ')}}\nlocal i = 0\n` +
      'request = function()\n  i = i % #paths + 1\n  return wrk.format("GET", paths[i], headers[i])\nend\n',
  );
  const cpu0 = childrenCpuS();
  const out = await new Promise<string>((resolve, reject) => {
    const args = ['-t1', `-c${o.connections}`, `-d${o.seconds}s`, '--latency', '-s', script, base];
    execFile(
      o.cpu === undefined ? 'wrk' : 'taskset',
      o.cpu === undefined ? args : ['-c', String(o.cpu), 'wrk', ...args],
      { encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`wrk failed: ${err.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
  const cpuS = childrenCpuS() - cpu0;
  const m = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(out);
  if (!m) throw new Error(`wrk: no request count in its output:\n${out}`);
  if (/Non-2xx|Socket errors/.test(out)) throw new Error(`wrk: errors or non-2xx answers:\n${out}`);
  const pct = (p: number) => {
    const l = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)`, 'm').exec(out);
    return l ? Number(l[1]) * MS[l[2]!]! : NaN;
  };
  return { requests: Number(m[1]), seconds: (Number(m[2]) * MS[m[3]!]!) / 1000, p50Ms: pct(50), p99Ms: pct(99), cpuS };
}

export interface WrkCountResult {
  readonly requests: number;
  /** From the first request sent to the last answer read, as this process saw wrk say so. */
  readonly elapsedMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  readonly cpuS: number;
}

const STARTED = 'kinu-bench: started';
const ANSWERED = 'kinu-bench: all answered';

/**
 * Each of `paths` asked exactly once, in order, over `connections` keep-alive connections (the miss workloads:
 * every URL new, and the reference replays the same ones). wrk has no request budget, so its script sends no
 * more once all are out, says when the first went and the last came back, and stops; the elapsed time is
 * measured between those two lines (wrk's own clock runs until its -d ends or a signal reaches its main thread).
 * Fails on any non-2xx answer or socket error.
 */
export async function runWrkCount(
  base: string,
  paths: readonly string[],
  o: { connections: number; dir: string; timeoutS: number },
): Promise<WrkCountResult> {
  if (paths.length < o.connections)
    throw new Error(`runWrkCount: ${paths.length} paths for ${o.connections} connections`);
  const script = join(o.dir, 'count.lua');
  writeFileSync(
    script,
    `local paths = {${paths.map((p) => JSON.stringify(p)).join(', ')}}\n` +
      'local n, sent, pending, got = #paths, 0, 0, 0\n' +
      // wrk calls delay() before each request it sends, and request() once more first to check the script: only
      // a request delay() let through takes a path. Once every path is out, a free connection waits (an hour).
      'delay = function()\n' +
      '  if sent + pending >= n then return 3600000 end\n' +
      '  pending = pending + 1\n' +
      '  return 0\n' +
      'end\n' +
      'request = function()\n' +
      '  if pending == 0 then return wrk.format("GET", paths[1]) end\n' +
      '  pending = pending - 1\n' +
      '  sent = sent + 1\n' +
      `  if sent == 1 then io.write("${STARTED}\\n"); io.flush() end\n` +
      '  return wrk.format("GET", paths[sent])\n' +
      'end\n' +
      'response = function(status, headers, body)\n' +
      '  got = got + 1\n' +
      `  if got == n then io.write("${ANSWERED}\\n"); io.flush(); wrk.thread:stop() end\n` +
      'end\n',
  );
  const cpu0 = childrenCpuS();
  const w = spawn('wrk', ['-t1', `-c${o.connections}`, `-d${o.timeoutS}s`, '--latency', '-s', script, base], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let t0: number | undefined;
  let t1: number | undefined;
  let nudge: NodeJS.Timeout | undefined;
  w.stderr.on('data', (d: Buffer) => {
    err += d.toString('utf8');
  });
  w.stdout.on('data', (d: Buffer) => {
    const now = performance.now();
    out += d.toString('utf8');
    if (t0 === undefined && out.includes(STARTED)) t0 = now;
    if (t1 === undefined && out.includes(ANSWERED)) {
      t1 = now;
      // Its main thread sleeps out -d unless a signal reaches it, which it can only once the worker has ended.
      nudge = setInterval(() => w.kill('SIGINT'), 20);
    }
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    w.once('error', reject);
    w.once('exit', resolve);
  });
  clearInterval(nudge);
  const cpuS = childrenCpuS() - cpu0;
  if (t0 === undefined || t1 === undefined)
    throw new Error(`wrk exited (${code}) before all ${paths.length} answers:\n${out}\n${err}`);
  const m = /(\d+) requests in/.exec(out);
  if (!m || Number(m[1]) !== paths.length) throw new Error(`wrk: expected ${paths.length} answers:\n${out}`);
  if (/Non-2xx|Socket errors/.test(out)) throw new Error(`wrk: errors or non-2xx answers:\n${out}`);
  const pct = (p: number) => {
    const l = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)`, 'm').exec(out);
    return l ? Number(l[1]) * MS[l[2]!]! : NaN;
  };
  const avg = /^\s*Latency\s+([\d.]+)(us|ms|s|m)/m.exec(out);
  return {
    requests: paths.length,
    elapsedMs: t1 - t0,
    p50Ms: pct(50),
    p99Ms: pct(99),
    meanMs: avg ? Number(avg[1]) * MS[avg[2]!]! : NaN,
    cpuS,
  };
}
