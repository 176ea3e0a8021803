// POOL: KINU_CONCURRENCY pipelines run at once on as many threads, for a KINU_CONCURRENCY above libuv's default
// pool of 4, in a `kinu serve` as shipped (supervised; only KINU_CONCURRENCY, the timeout and the memory budget
// are raised, so that only the pool could hold the pipelines back). Counted by sharp itself, not by timing:
// the peak of kinu_libvips_running (sharp.counters().process, pipelines on pool threads) while N slow misses
// (a wide blur of a 6 MP photo) are in flight. Beside it, the same server with UV_THREADPOOL_SIZE=4 set by the
// operator, as kinu ran before it sized the pool itself: the peak the pool allows then. sharp counts a pipeline
// from its start on a pool thread to its callback on the main thread, so a read may include one that has just
// finished there (the old default's row can read 5).
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { get, withKinu } from './hostile.ts';

const PIGEONS = fileURLToPath(new URL('../examples/images/pigeons.jpg', import.meta.url));

export interface PoolRow {
  /** How the libuv pool was sized. */
  readonly pool: 'kinu' | 'UV_THREADPOOL_SIZE=4';
  readonly concurrency: number;
  readonly statuses: number[];
  /** Most pipelines on pool threads at one time, from kinu_libvips_running. */
  readonly peakRunning: number;
  /** Until the last answer. */
  readonly seconds: number;
}

/** N above libuv's 4: twice the cores, and at least 8. */
export const poolConcurrency = () => Math.max(8, 2 * availableParallelism());

async function running(base: string): Promise<number> {
  const text = await (await fetch(`${base}/_kinu/metrics`)).text();
  return Number(/^kinu_libvips_running (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
}

export async function runPool(o: {
  env: NodeJS.ProcessEnv;
  log: (s: string) => void;
  concurrency?: number;
}): Promise<PoolRow[]> {
  const n = o.concurrency ?? poolConcurrency();
  const dir = mkdtempSync(join(tmpdir(), 'kinu-pool-'));
  try {
    copyFileSync(PIGEONS, join(dir, 'pigeons.jpg'));
    const shipped: NodeJS.ProcessEnv = { ...o.env };
    for (const k of Object.keys(shipped)) if (k.startsWith('KINU_') || k === 'UV_THREADPOOL_SIZE') delete shipped[k];
    const raised = {
      ...shipped,
      KINU_LOG_LEVEL: 'warn',
      KINU_CONCURRENCY: String(n),
      KINU_TIMEOUT: '600',
      KINU_MEMORY_BUDGET: '8192',
    };
    const rows: PoolRow[] = [];
    for (const pool of ['kinu', 'UV_THREADPOOL_SIZE=4'] as const) {
      const env = pool === 'kinu' ? raised : { ...raised, UV_THREADPOOL_SIZE: '4' };
      const row = await withKinu(dir, env, async (s) => {
        const t0 = performance.now();
        let done = 0;
        // Distinct variants, so no two share a pipeline; each is a second or more of libvips work on one core.
        const answers = Array.from({ length: n }, (_, i) =>
          get(`${s.base}/pigeons.jpg?w=${2000 + i}&blur=30&fmt=jpeg`).finally(() => done++),
        );
        let peakRunning = 0;
        while (done < n && peakRunning < n) {
          peakRunning = Math.max(peakRunning, await running(s.base));
          await new Promise((r) => setTimeout(r, 20));
        }
        const statuses = await Promise.all(answers);
        return { pool, concurrency: n, statuses, peakRunning, seconds: (performance.now() - t0) / 1000 };
      });
      o.log(
        `POOL ${pool}: KINU_CONCURRENCY ${n}, at most ${row.peakRunning} pipelines at once, ${row.statuses.join(',')}`,
      );
      rows.push(row);
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function poolTable(rows: readonly PoolRow[]): string {
  const lines = [
    `POOL — KINU_CONCURRENCY N misses at once in a kinu serve as shipped (${availableParallelism()} cores); pipelines at once = the peak of kinu_libvips_running`,
    '| libuv pool sized by | N | pipelines at once | goal | statuses | all answered in |',
    '|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.pool} | ${r.concurrency} | ${r.peakRunning} | ${r.pool === 'kinu' ? `≥ N: ${r.peakRunning >= r.concurrency && r.statuses.every((x) => x === 200) ? 'PASS' : 'FAIL'}` : '— (the old default)'} | ${r.statuses.join(', ')} | ${r.seconds.toFixed(1)} s |`,
    ),
  ];
  return lines.join('\n');
}

// `tsx bench/pool.ts [N]` runs it alone.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const n = process.argv[2] === undefined ? undefined : Number(process.argv[2]);
  const rows = await runPool({ env: process.env, log: (s) => process.stderr.write(`${s}\n`), concurrency: n });
  process.stdout.write(`${poolTable(rows)}\n`);
}
