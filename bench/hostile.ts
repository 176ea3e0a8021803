// HOSTILE: what the URLs a stranger can send cost a `kinu serve` with the shipped defaults, next to an
// ordinary miss: status, answer time, and peak memory of the whole process tree (supervisor, worker, spare),
// sampled from /proc every 20 ms, net of the tree at rest. Each case runs in a fresh server, alone and then
// three at once (distinct URLs, so no request shares another's pipeline).
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { processTree } from './load.ts';

const BIN = fileURLToPath(new URL('../bin/kinu.js', import.meta.url));
const PIGEONS = fileURLToPath(new URL('../examples/images/pigeons.jpg', import.meta.url));
const CHROME = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8';

export const HOSTILE_CASES: readonly { readonly name: string; readonly path: string; readonly accept?: string }[] = [
  { name: 'ordinary miss: 400 px, fmt=auto (Chrome)', path: '/pigeons.jpg?w=400&fmt=auto', accept: CHROME },
  { name: '8192² AVIF', path: '/pigeons.jpg?w=8192&h=8192&enlarge=1&fmt=avif' },
  { name: '8192² AVIF, dpr=1.22', path: '/pigeons.jpg?w=8192&h=8192&enlarge=1&fmt=avif&dpr=1.22' },
  { name: '8192² fmt=auto (Chrome)', path: '/pigeons.jpg?w=8192&h=8192&enlarge=1&fmt=auto', accept: CHROME },
  { name: '4096² AVIF (fits memory, not half of KINU_TIMEOUT)', path: '/pigeons.jpg?w=4096&h=4096&enlarge=1&fmt=avif' },
  { name: '100 MP solid JPEG → AVIF', path: '/bomb.jpg?fmt=avif' },
];

export interface HostileRow {
  readonly name: string;
  readonly path: string;
  readonly parallel: number;
  readonly statuses: number[];
  /** Slowest answer, ms. */
  readonly answerMs: number;
  /** Peak of the tree's summed VmRSS, and at rest before, MB. */
  readonly peakMb: number;
  readonly restMb: number;
}

function treeRssMb(root: number): number {
  let kb = 0;
  for (const pid of processTree(root)) {
    try {
      kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      /* gone */
    }
  }
  return kb / 1024;
}

/** The status of a GET without keep-alive, 0 when the connection failed. */
export function get(url: string, accept?: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, headers: accept ? { accept } : {} }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** A `kinu serve` as shipped (supervised) on loopback, port 0, reading `source`; `pid` is the supervisor's. */
export async function serve(source: string, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [BIN, 'serve', '--host', '127.0.0.1', '--port', '0', '--source', source], {
    env,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const base = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.once('exit', (code) => reject(new Error(`kinu exited ${code} before listening`)));
    child.stdout!.on('data', (d: Buffer) => {
      buf = (buf + d.toString('latin1')).slice(-4096);
      const m = /kinu listening on (http:\/\/\S+)/.exec(buf);
      if (m) resolve(m[1]!);
    });
  });
  const exit = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    pid: child.pid!,
    base,
    async stop() {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exit;
      clearTimeout(t);
    },
  };
}

/** Runs `fn` against a fresh `serve(source, env)`, stopped afterwards whatever happens. */
export async function withKinu<T>(
  source: string,
  env: NodeJS.ProcessEnv,
  fn: (s: Awaited<ReturnType<typeof serve>>) => Promise<T>,
): Promise<T> {
  const s = await serve(source, env);
  try {
    return await fn(s);
  } finally {
    await s.stop();
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runHostile(o: {
  env: NodeJS.ProcessEnv;
  log: (s: string) => void;
  parallel?: readonly number[];
}): Promise<HostileRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'kinu-hostile-'));
  try {
    copyFileSync(PIGEONS, join(dir, 'pigeons.jpg'));
    // The issue's bomb: a complete 9643×10328 (99.6 MP) JPEG of one colour, 1 MB on disk.
    await sharp({ create: { width: 9643, height: 10328, channels: 3, background: '#7a9' } })
      .jpeg()
      .toFile(join(dir, 'bomb.jpg'));
    // Defaults as shipped, but for the listen address and the access log.
    const env: NodeJS.ProcessEnv = { ...o.env, KINU_LOG_LEVEL: 'warn' };
    for (const k of Object.keys(env)) if (k.startsWith('KINU_') && k !== 'KINU_LOG_LEVEL') delete env[k];
    const rows: HostileRow[] = [];
    for (const c of HOSTILE_CASES) {
      for (const parallel of o.parallel ?? [1, 3]) {
        const row = await withKinu(dir, env, async (s) => {
          await sleep(1500); // the spare worker starts after the listening line
          const restMb = treeRssMb(s.pid);
          let peakMb = restMb;
          const sampler = setInterval(() => {
            peakMb = Math.max(peakMb, treeRssMb(s.pid));
          }, 20);
          const t0 = performance.now();
          const times: number[] = [];
          const statuses = await Promise.all(
            Array.from({ length: parallel }, async (_, i) => {
              const sep = c.path.includes('?') ? '&' : '?';
              const status = await get(`${s.base}${c.path}${i === 0 ? '' : `${sep}q=${60 + i}`}`, c.accept);
              times.push(performance.now() - t0);
              return status;
            }),
          );
          clearInterval(sampler);
          peakMb = Math.max(peakMb, treeRssMb(s.pid));
          return {
            name: c.name,
            path: c.path,
            parallel,
            statuses,
            answerMs: Math.round(Math.max(...times)),
            peakMb: Math.round(peakMb),
            restMb: Math.round(restMb),
          };
        });
        o.log(
          `HOSTILE ${c.name} ×${parallel}: ${row.statuses.join(',')} in ${row.answerMs} ms, peak ${row.peakMb} MB (rest ${row.restMb} MB)`,
        );
        rows.push(row);
      }
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function hostileTable(rows: readonly HostileRow[]): string {
  const lines = [
    'HOSTILE — default settings (KINU_MEMORY_BUDGET 1024 MiB, KINU_TIMEOUT 10 s); memory = the whole process tree',
    '| request | × | statuses | slowest answer | peak RSS | at rest | growth |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.parallel} | ${r.statuses.join(', ')} | ${(r.answerMs / 1000).toFixed(2)} s | ${r.peakMb} MB | ${r.restMb} MB | ${r.peakMb - r.restMb} MB |`,
    ),
  ];
  return lines.join('\n');
}

// `tsx bench/hostile.ts` runs it alone.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = await runHostile({ env: process.env, log: (s) => process.stderr.write(`${s}\n`) });
  process.stdout.write(`${hostileTable(rows)}\n`);
}
