// wrk (C) as the load generator of the hit workloads: a client written in Node saturates before a fast Node
// server does and pulls every ratio towards 1. One thread, keep-alive connections, the hot set in turn.
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const WRK_MISSING =
  'wrk is not on PATH: the hit workloads (W3/W4) fall back to the Node client, which saturates before kinu ' +
  "does and hides kinu's cost (ratios pulled towards 1). Install it: apt-get install wrk (Debian/Ubuntu), brew install wrk.";

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
    execFile(
      'wrk',
      ['-t1', `-c${o.connections}`, `-d${o.seconds}s`, '--latency', '-s', script, base],
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
