// npm run bench [-- <folder>] [--duration s | --requests n] [--rounds n] [--concurrency n] [--warmup n] [--sharp-first] [--no-24mp] [--json]
//
// kinu over HTTP on loopback against an in-process sharp loop doing the same decode → resize → encode, on real
// photos, every request unique (cache-miss). The two run one after the other in this process tree, in
// alternating rounds (kinu→sharp, sharp→kinu, …) so that drift in machine load hits both sides alike; in each
// round the second side replays exactly as many requests as the first managed, so both do the same work.
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { prepareCorpus } from './corpus.ts';
import type { KinuChild } from './kinu.ts';
import { stopRule, summarise, type Sample, type StopRule, type Summary } from './load.ts';
import { MAX_PIXELS } from './reference.ts';
import { BASE_WIDTH, QUALITY, kinuSide, sharpSide, type PhaseStats, type Side } from './sides.ts';

const GOAL = 0.85;
const NOISE_CORES = 0.15; // other processes busier than this during the phases make req/s unreliable

const HELP = `npm run bench [-- <folder>] [options]

  <folder>            photos to use (default: $KINU_CORPUS/photos, else ../shared/corpus/photos)
  --duration <s>      measured seconds per side, split over the rounds (default 20)
  --requests <n>      a fixed number of measured requests per side instead of --duration
  --rounds <n>        alternating kinu/sharp rounds (default 4)
  --concurrency <n>   requests in flight, and KINU_CONCURRENCY of the child (default 4)
  --warmup <n>        unmeasured requests per side first (default 8)
  --sharp-first       start round 1 with sharp instead of kinu
  --no-24mp           do not add the generated 24 MP photo
  --json              print the results as JSON instead of a table
`;

interface SideResult extends Summary {
  /** CPU ms per request of the process doing the image work. */
  readonly cpuMsPerReq: number | undefined;
  /** CPU ms per request of this process as HTTP client (kinu only). */
  readonly clientCpuMsPerReq: number | undefined;
  /** Cores kept busy by other processes (and steal) during this side's phases: noise, ideally ~0. */
  readonly otherCores: number | undefined;
  readonly peakRssMb: number | undefined;
  readonly baselineRssMb: number | undefined;
  readonly rssNote: string;
}

const log = (s: string) => process.stderr.write(`${s}\n`);
const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;

function positive(name: string, v: string | undefined, def: number, integer = true): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!(n > 0) || (integer && !Number.isInteger(n))) throw new Error(`--${name}: expected a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(v)}`);
  return n;
}

class Totals {
  samples: Sample[] = [];
  elapsedMs = 0;
  ownCpuS: number | undefined = 0;
  clientCpuS: number | undefined = 0;
  otherBusyS: number | undefined = 0;
  add(p: PhaseStats): void {
    this.samples.push(...p.loop.samples);
    this.elapsedMs += p.loop.elapsedMs;
    const plus = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : a + b);
    this.ownCpuS = plus(this.ownCpuS, p.ownCpuS);
    this.clientCpuS = p.clientCpuS === undefined ? undefined : plus(this.clientCpuS, p.clientCpuS);
    this.otherBusyS = plus(this.otherBusyS, p.otherBusyS);
  }
  result(side: Side): SideResult {
    const n = this.samples.length;
    const s = this.elapsedMs / 1000;
    return {
      ...summarise({ samples: this.samples, elapsedMs: this.elapsedMs }),
      cpuMsPerReq: this.ownCpuS === undefined ? undefined : (this.ownCpuS * 1000) / n,
      clientCpuMsPerReq: this.clientCpuS === undefined ? undefined : (this.clientCpuS * 1000) / n,
      otherCores: this.otherBusyS === undefined ? undefined : this.otherBusyS / s,
      peakRssMb: side.peakRssMb(), baselineRssMb: side.baselineRssMb, rssNote: side.rssNote,
    };
  }
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      duration: { type: 'string' }, requests: { type: 'string' }, rounds: { type: 'string' }, concurrency: { type: 'string' },
      warmup: { type: 'string' }, 'sharp-first': { type: 'boolean' }, 'no-24mp': { type: 'boolean' }, json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { process.stdout.write(HELP); return 0; }
  if (positionals.length > 1) throw new Error('expected at most one folder');
  if (values.duration !== undefined && values.requests !== undefined) throw new Error('give --duration or --requests, not both');
  const requests = values.requests === undefined ? undefined : positive('requests', values.requests, 0);
  const seconds = requests === undefined ? positive('duration', values.duration, 20, false) : undefined;
  const rounds = positive('rounds', values.rounds, 4);
  const concurrency = positive('concurrency', values.concurrency, 4);
  const warmup = values.warmup === '0' ? 0 : positive('warmup', values.warmup, 8);
  if (requests !== undefined && requests < rounds) throw new Error(`--requests ${requests}: at least one per round (--rounds ${rounds})`);

  const repo = fileURLToPath(new URL('..', import.meta.url));
  const cwd = process.env.INIT_CWD ?? process.cwd(); // npm runs scripts from the package root
  const from = positionals[0] !== undefined
    ? (isAbsolute(positionals[0]) ? positionals[0] : resolve(cwd, positionals[0]))
    : join(process.env.KINU_CORPUS ?? join(repo, '..', 'shared', 'corpus'), 'photos');

  const tmp = await mkdtemp(join(tmpdir(), 'kinu-bench-'));
  let child: KinuChild | undefined;
  const cleanup = async () => {
    await child?.stop().catch(() => {});
    child = undefined;
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
  };
  const onSignal = (sig: NodeJS.Signals) => { log(`\n${sig}: stopping kinu and cleaning up`); void cleanup().then(() => process.exit(130)); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    log(`preparing originals from ${from} in ${tmp} …`);
    const photos = await prepareCorpus(from, tmp, { add24mp: !values['no-24mp'] });
    const env = environment();
    // The child gets this process's environment (UV_THREADPOOL_SIZE, VIPS_*, …) plus its own settings.
    const childEnv: NodeJS.ProcessEnv = {
      ...process.env,
      KINU_CONCURRENCY: String(concurrency), KINU_QUEUE: '100000', KINU_LOG_LEVEL: 'warn', KINU_HOST: '127.0.0.1',
      KINU_MAX_PIXELS: String(MAX_PIXELS),
    };
    for (const k of ['KINU_CONFIG', 'KINU_SECRET', 'KINU_SOURCE', 'KINU_PORT', 'KINU_TIMEOUT', 'KINU_DIALECTS', 'KINU_PRESETS']) delete childEnv[k];

    log('kinu: starting the listener …');
    const kinu = await kinuSide(photos, tmp, childEnv, concurrency, (c) => { child = c; });
    log(`kinu: warm-up (${warmup}) …`);
    await kinu.warm(warmup);
    const ref = sharpSide(photos, concurrency);
    log(`sharp: warm-up (${warmup}) …`);
    await ref.warm(warmup);

    const totals = { kinu: new Totals(), sharp: new Totals() };
    const perRound: { requests: number; kinuRps: number; sharpRps: number; ratio: number }[] = [];
    let offset = 0;
    for (let r = 0; r < rounds; r++) {
      const kinuFirst = (r % 2 === 0) !== Boolean(values['sharp-first']);
      const [first, second] = kinuFirst ? [kinu, ref] : [ref, kinu];
      const stop: StopRule = requests !== undefined
        ? ((n) => (issued) => issued >= n)(Math.floor(((r + 1) * requests) / rounds) - Math.floor((r * requests) / rounds))
        : stopRule({ seconds: seconds! / rounds, cycle: photos.length });
      log(`round ${r + 1}/${rounds}: ${first.name} …`);
      const a = await first.phase(offset, stop);
      const n = a.loop.samples.length;
      log(`round ${r + 1}/${rounds}: ${second.name}, the same ${n} requests …`);
      const b = await second.phase(offset, (issued) => issued >= n);
      offset += n;
      const [k, s] = kinuFirst ? [a, b] : [b, a];
      totals.kinu.add(k);
      totals.sharp.add(s);
      perRound.push({ requests: n, kinuRps: round(n / (k.loop.elapsedMs / 1000), 2), sharpRps: round(n / (s.loop.elapsedMs / 1000), 2), ratio: round(s.loop.elapsedMs / k.loop.elapsedMs, 3) });
    }
    const kinuResult = totals.kinu.result(kinu);
    const sharpResult = totals.sharp.result(ref);
    await kinu.close();
    child = undefined;

    const ratio = kinuResult.rps / sharpResult.rps;
    const kinuCpu = kinuResult.cpuMsPerReq === undefined ? undefined : kinuResult.cpuMsPerReq + (kinuResult.clientCpuMsPerReq ?? 0);
    const cpuRatio = kinuCpu === undefined || sharpResult.cpuMsPerReq === undefined ? undefined : sharpResult.cpuMsPerReq / kinuCpu;
    const result = {
      environment: env,
      workload: {
        photos: photos.map((p) => ({ key: p.key, width: p.width, height: p.height, megapixels: round(p.megapixels, 1), bytes: p.bytes, generated: p.generated })),
        request: `GET /<key>?w=<${BASE_WIDTH}+k>&fmt=jpeg&q=${QUALITY}`, concurrency, warmup, rounds,
        perSide: requests !== undefined ? { requests } : { seconds, requests: offset },
      },
      kinu: kinuResult, sharp: sharpResult, rounds: perRound,
      ratio: round(ratio, 3), goal: GOAL, pass: ratio >= GOAL,
      cpuRatio: cpuRatio === undefined ? undefined : round(cpuRatio, 3),
      noisy: Math.max(kinuResult.otherCores ?? 0, sharpResult.otherCores ?? 0) > NOISE_CORES,
    };
    process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : table(result));
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}

function environment() {
  const uv = process.env.UV_THREADPOOL_SIZE;
  return {
    node: process.version,
    sharp: sharp.versions.sharp ?? 'unknown',
    libvips: sharp.versions.vips,
    cores: availableParallelism(),
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    uvThreadpoolSize: uv ?? 'unset (libuv default 4)',
    sharpConcurrency: sharp.concurrency(),
    sharpCache: (({ items, memory, files }) => ({ items: items.max, memoryMb: memory.max, files: files.max }))(sharp.cache()),
    simd: sharp.simd(),
  };
}

function table(r: {
  environment: ReturnType<typeof environment>;
  workload: { photos: { key: string; megapixels: number; generated: boolean }[]; concurrency: number; warmup: number; rounds: number; perSide: { requests?: number | undefined; seconds?: number | undefined } };
  kinu: SideResult; sharp: SideResult; rounds: { ratio: number }[]; ratio: number; goal: number; pass: boolean; cpuRatio: number | undefined; noisy: boolean;
}): string {
  const e = r.environment;
  const w = r.workload;
  const f = (x: number | undefined, d = 1) => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d));
  const mps = w.photos.map((p) => p.megapixels);
  const cols = ['', 'requests', 'seconds', 'req/s', 'p50 ms', 'p99 ms', 'mean ms', 'peak RSS MB', 'idle RSS MB', 'CPU ms/req', 'others cores', 'out KB'];
  const cpu = (s: SideResult) => (s.clientCpuMsPerReq === undefined ? f(s.cpuMsPerReq) : `${f(s.cpuMsPerReq)} + ${f(s.clientCpuMsPerReq)}`);
  const row = (name: string, s: SideResult) => [name, String(s.requests), f(s.seconds), f(s.rps, 2), f(s.p50), f(s.p99), f(s.mean), f(s.peakRssMb, 0), f(s.baselineRssMb, 0), cpu(s), f(s.otherCores, 2), f(s.meanBytes / 1024)];
  const rows = [cols, row('kinu (HTTP, loopback)', r.kinu), row('sharp (in-process)', r.sharp)];
  const widths = cols.map((_, i) => Math.max(...rows.map((x) => x[i]!.length)));
  const line = (x: string[]) => x.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const rule = '-'.repeat(line(cols).length);
  const t = r.kinu.timing;
  const ratios = r.rounds.map((x) => x.ratio);
  const sorted = [...ratios].sort((a, b) => a - b);
  const median = (sorted[Math.floor((sorted.length - 1) / 2)]! + sorted[Math.ceil((sorted.length - 1) / 2)]!) / 2;
  return [
    '',
    `kinu bench: JPEG q${QUALITY} at width ${BASE_WIDTH}+k, concurrency ${w.concurrency}, every request unique (cache-miss)`,
    `  node ${e.node} · sharp ${e.sharp} · libvips ${e.libvips} · ${e.cores} cores (${e.cpu}) · simd ${e.simd}`,
    `  UV_THREADPOOL_SIZE ${e.uvThreadpoolSize} · sharp.concurrency() ${e.sharpConcurrency} · sharp.cache() ${e.sharpCache.items} items/${e.sharpCache.memoryMb} MB · same env for the kinu child`,
    `  ${w.photos.length} originals, ${Math.min(...mps).toFixed(1)}–${Math.max(...mps).toFixed(1)} MP: ${w.photos.map((p) => `${p.key.replace(/\.[^.]+$/, '')} ${p.megapixels.toFixed(1)}`).join(', ')}`,
    `  ${w.warmup} warm-up per side, then ${w.perSide.requests} measured requests per side${w.perSide.seconds !== undefined ? ` (~${w.perSide.seconds} s)` : ''} in ${w.rounds} alternating rounds`,
    '',
    line(cols), rule, line(rows[1]!), line(rows[2]!), rule,
    `throughput ratio kinu/sharp: ${r.ratio.toFixed(3)}   goal ≥ ${r.goal}: ${r.pass ? 'PASS' : 'FAIL'}   (per round: ${ratios.map((x) => x.toFixed(2)).join(' ')}; median ${median.toFixed(2)})`,
    `CPU-efficiency ratio, sharp CPU/req ÷ kinu CPU/req incl. client: ${f(r.cpuRatio, 3)}`,
    r.noisy ? `WARNING: other processes kept > ${NOISE_CORES} cores busy during the phases ("others cores"): req/s is unreliable; trust the CPU ratio more, or rerun on a quiet machine` : '',
    t ? `kinu Server-Timing, mean ms: ${Object.entries(t).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(' · ')} · rest (stat, queue, HTTP) ${(r.kinu.mean - Object.values(t).reduce((a, b) => a + b, 0)).toFixed(1)}` : '',
    `peak RSS: kinu = ${r.kinu.rssNote};`,
    `          sharp = ${r.sharp.rssNote}. idle RSS = RSS before the warm-up.`,
    'CPU ms/req: user+system CPU of the kinu child (+ this process as HTTP client) / of this process for sharp (/proc/<pid>/stat, process.cpuUsage()).',
    'others cores: busy CPU of the machine (/proc/stat, steal included) minus ours, per second of that side\'s phases.',
    '',
  ].filter((x, i, a) => x !== '' || a[i - 1] !== '').join('\n');
}

main().then((code) => { process.exitCode = code; }, (e: unknown) => {
  log(`bench failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
