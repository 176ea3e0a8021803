// CRASH: the price of running `kinu serve` under its supervisor (src/supervisor.ts), and what it buys.
//   hits/s (wrk, one memory-cached URL, 32 keep-alive connections) and misses/s (a new width per request,
//   4 in flight) through the supervised server and through the same server with KINU_SUPERVISE=off,
//   alternating rounds; the RSS of the supervisor and of the idle spare; and the time from a SIGKILL of the
//   serving worker to the first 200 on a new connection, with a spare ready and with KINU_SPARE_WORKERS=0.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { childPids } from './load.ts';

const BIN = fileURLToPath(new URL('../bin/kinu.js', import.meta.url));

export interface CrashResult {
  readonly hitsPerSec: { readonly supervised: number; readonly single: number };
  readonly missesPerSec: { readonly supervised: number; readonly single: number };
  /** MB: VmRSS, and RssAnon (what a memory cgroup is charged beyond shared pages). */
  readonly supervisorMb: { readonly rss: number; readonly anon: number };
  readonly spareMb: { readonly rss: number; readonly anon: number };
  readonly workerMb: { readonly rss: number; readonly anon: number };
  /** ms from SIGKILL of the serving worker to the first 200, per kill. */
  readonly resumeMs: { readonly withSpare: number[]; readonly noSpare: number[] };
}

interface Server {
  child: ChildProcess;
  base: string;
  spares: () => number;
  stop(): Promise<void>;
}

async function start(source: string, env: NodeJS.ProcessEnv): Promise<Server> {
  const child = spawn(process.execPath, [BIN, 'serve', '--host', '127.0.0.1', '--port', '0', '--source', source], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let spares = 0;
  let tail = '';
  const base = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`kinu exited ${code} before listening`)));
    child.stdout!.on('data', (d: Buffer) => {
      // Only the last partial line is kept: the access log of a hit run is large.
      const s = tail + d.toString('latin1');
      spares += s.split('"spare worker ready"').length - 1;
      const m = /kinu listening on (http:\/\/\S+)/.exec(s);
      if (m) resolve(m[1]!);
      tail = s.slice(s.lastIndexOf('\n') + 1);
    });
  });
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    base,
    spares: () => spares,
    async stop() {
      child.kill('SIGTERM');
      await exit;
    },
  };
}

function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    })
      .on('error', reject)
      .end();
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor(cond: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('CRASH: timed out waiting for a spare worker');
    await sleep(20);
  }
}

function children(pid: number): number[] {
  return childPids(pid).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('kinu.js');
    } catch {
      return false;
    }
  });
}

function memory(pid: number): { rss: number; anon: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { rss: Math.round(kb('VmRSS') / 1024), anon: Math.round(kb('RssAnon') / 1024) };
}

function wrk(url: string, seconds: number): number {
  const r = spawnSync('wrk', ['-t1', '-c32', `-d${seconds}s`, url], { encoding: 'utf8' });
  const m = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout);
  if (!m) throw new Error(`CRASH: wrk failed: ${r.stderr || r.stdout}`);
  return Number(m[1]);
}

async function misses(base: string, photo: string, seconds: number, width: { next: number }): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let done = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (performance.now() < end) {
        const status = await get(`${base}/${photo}?w=${width.next++}&q=80`);
        if (status !== 200) throw new Error(`CRASH: a miss answered ${status}`);
        done++;
      }
    }),
  );
  return done / ((performance.now() - t0) / 1000);
}

async function resume(server: Server): Promise<number> {
  const serving = servingPid(server);
  const t0 = performance.now();
  process.kill(serving, 'SIGKILL');
  for (;;) {
    try {
      if ((await get(`${server.base}/_kinu/health`)) === 200) return Math.round(performance.now() - t0);
    } catch {
      /* reset: retry */
    }
    await sleep(5);
  }
}

/** The worker holding the listening socket: a spare gets it only when it takes over. */
function servingPid(server: Server): number {
  const port = `:${Number(new URL(server.base).port).toString(16).toUpperCase().padStart(4, '0')}`;
  const listening = readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((f) => f[1]?.endsWith(port) && f[3] === '0A')?.[9];
  const pid = children(server.child.pid!).find((p) =>
    readdirSync(`/proc/${p}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${p}/fd/${fd}`) === `socket:[${listening}]`;
      } catch {
        return false;
      }
    }),
  );
  if (pid === undefined) throw new Error('CRASH: no serving worker found');
  return pid;
}

export async function runCrash(opts: {
  source: string;
  photo: string;
  env: NodeJS.ProcessEnv;
  seconds: number;
  rounds: number;
  kills: number;
  log: (s: string) => void;
}): Promise<CrashResult> {
  const env = { ...opts.env, KINU_LOG_LEVEL: 'info' };
  const hits = { supervised: [] as number[], single: [] as number[] };
  const miss = { supervised: [] as number[], single: [] as number[] };
  const width = { next: 200 };
  for (let round = 0; round < opts.rounds; round++) {
    for (const mode of round % 2 === 0 ? (['supervised', 'single'] as const) : (['single', 'supervised'] as const)) {
      const server = await start(opts.source, {
        ...env,
        KINU_SUPERVISE: mode === 'supervised' ? 'on' : 'off',
        KINU_SPARE_WORKERS: '1',
      });
      try {
        // Measured once the spare has started, not while it competes for the CPU.
        if (mode === 'supervised') await waitFor(() => server.spares() >= 1);
        const hot = `${server.base}/${opts.photo}?w=320`;
        await get(hot);
        hits[mode].push(wrk(hot, opts.seconds));
        miss[mode].push(await misses(server.base, opts.photo, opts.seconds, width));
        opts.log(
          `CRASH round ${round + 1} ${mode}: ${Math.round(hits[mode].at(-1)!)} hits/s, ${miss[mode].at(-1)!.toFixed(1)} misses/s`,
        );
      } finally {
        await server.stop();
      }
    }
  }

  const resumeMs = { withSpare: [] as number[], noSpare: [] as number[] };
  let mem: Pick<CrashResult, 'supervisorMb' | 'spareMb' | 'workerMb'> | undefined;
  // With a spare: kills in a row, each once the next spare is ready. Without: one kill per server, so that each
  // is a first (immediate) restart and not slowed by the crash-loop backoff.
  for (const spares of [1, 0]) {
    for (let run = 0; run < (spares === 1 ? 1 : opts.kills); run++) {
      const server = await start(opts.source, { ...env, KINU_SUPERVISE: 'on', KINU_SPARE_WORKERS: String(spares) });
      try {
        await get(`${server.base}/${opts.photo}?w=320`);
        for (let k = 0; k < (spares === 1 ? opts.kills : 1); k++) {
          if (spares === 1) await waitFor(() => server.spares() >= k + 1);
          if (spares === 1 && k === 0) {
            const serving = servingPid(server);
            const spare = children(server.child.pid!).find((p) => p !== serving)!;
            mem = { supervisorMb: memory(server.child.pid!), spareMb: memory(spare), workerMb: memory(serving) };
          }
          const ms = await resume(server);
          (spares === 1 ? resumeMs.withSpare : resumeMs.noSpare).push(ms);
          opts.log(`CRASH SIGKILL of the worker, ${spares} spare: serving again after ${ms} ms`);
        }
      } finally {
        await server.stop();
      }
    }
  }
  const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
  return {
    hitsPerSec: { supervised: Math.round(mean(hits.supervised)), single: Math.round(mean(hits.single)) },
    missesPerSec: {
      supervised: Number(mean(miss.supervised).toFixed(1)),
      single: Number(mean(miss.single).toFixed(1)),
    },
    ...mem!,
    resumeMs,
  };
}

export function crashTable(r: CrashResult): string {
  const pct = (a: number, b: number) => `${a >= b ? '+' : ''}${(((a - b) / b) * 100).toFixed(1)} %`;
  return [
    'CRASH: supervised (default) vs KINU_SUPERVISE=off',
    `  hits/s    supervised ${r.hitsPerSec.supervised}  single ${r.hitsPerSec.single}  (${pct(r.hitsPerSec.supervised, r.hitsPerSec.single)})`,
    `  misses/s  supervised ${r.missesPerSec.supervised}  single ${r.missesPerSec.single}  (${pct(r.missesPerSec.supervised, r.missesPerSec.single)})`,
    `  memory    supervisor ${r.supervisorMb.rss} MB RSS (${r.supervisorMb.anon} MB anon), idle spare ${r.spareMb.rss} MB (${r.spareMb.anon} anon), serving worker ${r.workerMb.rss} MB (${r.workerMb.anon} anon)`,
    `  SIGKILL → first 200: with a spare ${r.resumeMs.withSpare.join(', ')} ms; KINU_SPARE_WORKERS=0 ${r.resumeMs.noSpare.join(', ')} ms`,
  ].join('\n');
}
