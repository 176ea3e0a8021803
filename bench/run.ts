// npm run bench [-- <folder>] [--only W1,W2,W3,W4,W5,MEM] [--jemalloc | --malloc-arena-max n] [--json] …  (--help)
//
// Five throughput workloads, each against a reference measured in the same run, in alternating rounds:
//   W1  cache-miss JPEG w=400+k q80, concurrency 4 (wrk)  vs in-process sharp
//   W2  cache-miss WebP w=1200+k q80 effort 4, c=4 (wrk)  vs in-process sharp
//   W3  memory-cache hit, 20 URLs, concurrency 32 (wrk)   vs a bare node:http child answering from a Map;
//       kinu with its defaults (access log at info, to a file), and W3q with the access log off
//   W4  disk-cache hit (memory tier off), same URLs, c=32 vs the bare server reading the file per request
//   W5  304s: the same URLs with their ETag in If-None-Match vs the bare server comparing it
// QUALITY: bytes, SSIMULACRA 2, SSIM and CPU per miss per format, default q vs q=auto vs fmt=best, beside ipx and
// Next.js's optimizer defaults (bench/quality-table.ts), in process.
// and MEM: peak RSS of the kinu child at concurrency 16 on 24 MP photos, and RSS across a 5,000-request
// soak, per allocator (glibc, MALLOC_ARENA_MAX=2, jemalloc); POOL: KINU_CONCURRENCY above libuv's 4 pipelines
// at once (bench/pool.ts); CAPACITY: CPU per miss per format and size, the capacity model's inputs
// (bench/capacity.ts). See bench/README.md.
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { prepareCorpus, type Photo } from './corpus.ts';
import { JEMALLOC, allocatorLabel, childSharpConcurrency, stopAll, withAllocator, type Allocator } from './kinu.ts';
import { runMemory, type MemoryResult } from './memory.ts';
import { crashTable, runCrash, type CrashResult } from './crash.ts';
import { hostileTable, runHostile, type HostileRow } from './hostile.ts';
import { MAX_PIXELS } from './reference.ts';
import { log, round, runHit, runMiss, NOISE_CORES, type WorkloadResult } from './workloads.ts';
import { median } from './load.ts';
import { hasWrk, WRK_MISSING } from './wrk.ts';
import { poolTable, runPool, type PoolRow } from './pool.ts';
import { capacityTable, runCapacity, type CapacityRow } from './capacity.ts';
import { qualityTable, runQuality, type QualityRow } from './quality-table.ts';

const WORKLOADS = ['W1', 'W2', 'W3', 'W4', 'W5', 'MEM', 'POOL', 'CAPACITY', 'CRASH', 'HOSTILE', 'QUALITY'] as const;
type Workload = (typeof WORKLOADS)[number];
// Issue 18: W1/W2 throughput at least this share of in-process sharp's at the same number in flight, and kinu's
// CPU per image (the server's; the HTTP client's is shown apart) at most missCpu times its; W3/W4: CPU per hit of
// kinu with its defaults (access log on) at most this many times the bare server's; W5: the same for 304s.
const GOALS = { W1: 0.97, W2: 0.97, missCpu: 1.03, W3cpu: 1.5, W4cpu: 2, W5cpu: 1.5, peakMb: 1024, growthPct: 10 };

const HELP = `npm run bench [-- <folder>] [options]

  <folder>                photos to use (default: test/corpus/photos)
  --only <list>           workloads to run, comma-separated: W1,W2,W3,W4,W5,MEM,POOL,CAPACITY,
                          CRASH,HOSTILE,QUALITY (default all)
  --duration <s>          W1/W2: measured seconds per side, split over the rounds (default 10)
  --requests <n>          W1/W2: a fixed number of measured requests per side instead of --duration
  --hit-duration <s>      W3–W5: measured seconds per side, split over the rounds (default 8)
  --rounds <n>            W1/W2: alternating kinu/reference rounds (default 4)
  --hit-rounds <n>        W3–W5: alternating rounds (default 8: 1 s phases, as a shared VM slows for seconds at a time)
  --concurrency <n>       W1/W2 requests in flight, and KINU_CONCURRENCY of every kinu child (default 4)
  --hit-concurrency <n>   W3–W5 requests in flight (default 32)
  --hit-urls <n>          W3–W5 hot set size (default 20)
  --warmup <n>            W1/W2 unmeasured requests per side first (default 8)
  --sharp-first           start round 1 with the reference instead of kinu
  --no-24mp               do not generate the 24 MP photos
  --jemalloc              run the kinu children with LD_PRELOAD=${JEMALLOC}
  --malloc-arena-max <n>  run the kinu children with MALLOC_ARENA_MAX=n (glibc)
  --allocators <list>     MEM: allocators to compare, of glibc,arena2,jemalloc (default: all three, or only the
                          one --jemalloc / --malloc-arena-max picks)
  --peak-requests <n>     MEM: misses on the large photos for the peak (default 96)
  --peak-concurrency <n>  MEM: (default 16)
  --soak-requests <n>     MEM: (default 5000, sampled every 500)
  --soak-concurrency <n>  MEM: (default 8)
  --mem-cache-mb <n>      MEM: KINU_MEMORY_CACHE_MB of the MEM children (default: kinu's, 256); a small one
                          fills early, so later growth is not the cache filling up
  --capacity-seconds <s>  CAPACITY: seconds of work per side, shape and round (default 4; 2 rounds)
  --quality-photos <n>    QUALITY: how many of the real photos (default 5)
  --quality-width <px>    QUALITY: output width (default 1200)
  --json                  print the results as JSON instead of tables
`;

function positive(name: string, v: string | undefined, def: number, integer = true): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!(n > 0) || (integer && !Number.isInteger(n)))
    throw new Error(`--${name}: expected a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(v)}`);
  return n;
}

function allocatorFromEnv(env: NodeJS.ProcessEnv): Allocator {
  if (env.LD_PRELOAD?.includes('jemalloc')) return { name: 'jemalloc' };
  const n = Number(env.MALLOC_ARENA_MAX);
  return Number.isInteger(n) && n > 0 ? { name: 'arena', max: n } : { name: 'glibc' };
}

function parseAllocator(s: string): Allocator {
  if (s === 'glibc') return { name: 'glibc' };
  if (s === 'jemalloc') return { name: 'jemalloc' };
  const m = /^arena(\d+)$/.exec(s);
  if (m && Number(m[1]) > 0) return { name: 'arena', max: Number(m[1]) };
  throw new Error(`--allocators: unknown "${s}"; expected glibc, arenaN (e.g. arena2) or jemalloc`);
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      only: { type: 'string' },
      duration: { type: 'string' },
      requests: { type: 'string' },
      'hit-duration': { type: 'string' },
      rounds: { type: 'string' },
      'hit-rounds': { type: 'string' },
      concurrency: { type: 'string' },
      'hit-concurrency': { type: 'string' },
      'hit-urls': { type: 'string' },
      warmup: { type: 'string' },
      'sharp-first': { type: 'boolean' },
      'no-24mp': { type: 'boolean' },
      jemalloc: { type: 'boolean' },
      'malloc-arena-max': { type: 'string' },
      allocators: { type: 'string' },
      'peak-requests': { type: 'string' },
      'peak-concurrency': { type: 'string' },
      'soak-requests': { type: 'string' },
      'soak-concurrency': { type: 'string' },
      'capacity-seconds': { type: 'string' },
      'mem-cache-mb': { type: 'string' },
      'quality-photos': { type: 'string' },
      'quality-width': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length > 1) throw new Error('expected at most one folder');
  if (values.duration !== undefined && values.requests !== undefined)
    throw new Error('give --duration or --requests, not both');
  if (values.jemalloc && values['malloc-arena-max'] !== undefined)
    throw new Error('give --jemalloc or --malloc-arena-max, not both');
  const only = new Set<Workload>(
    values.only === undefined
      ? WORKLOADS
      : values.only.split(',').map((s) => {
          const w = s.trim().toUpperCase() as Workload;
          if (!WORKLOADS.includes(w))
            throw new Error(`--only: unknown workload "${s}"; expected ${WORKLOADS.join(',')}`);
          return w;
        }),
  );
  const requests = values.requests === undefined ? undefined : positive('requests', values.requests, 0);
  const seconds = requests === undefined ? positive('duration', values.duration, 10, false) : undefined;
  const hitSeconds = positive('hit-duration', values['hit-duration'], 8, false);
  const rounds = positive('rounds', values.rounds, 4);
  const hitRounds = positive('hit-rounds', values['hit-rounds'], 8);
  const concurrency = positive('concurrency', values.concurrency, 4);
  const hitConcurrency = positive('hit-concurrency', values['hit-concurrency'], 32);
  const hitUrls = positive('hit-urls', values['hit-urls'], 20);
  const warmup = values.warmup === '0' ? 0 : positive('warmup', values.warmup, 8);
  if (requests !== undefined && requests < rounds)
    throw new Error(`--requests ${requests}: at least one per round (--rounds ${rounds})`);
  const chosen: Allocator | undefined = values.jemalloc
    ? { name: 'jemalloc' }
    : values['malloc-arena-max'] !== undefined
      ? { name: 'arena', max: positive('malloc-arena-max', values['malloc-arena-max'], 0) }
      : undefined;
  const allocator = chosen ?? allocatorFromEnv(process.env);
  const memAllocators: Allocator[] =
    values.allocators !== undefined
      ? values.allocators.split(',').map((s) => parseAllocator(s.trim()))
      : chosen
        ? [chosen]
        : [
            { name: 'glibc' },
            { name: 'arena', max: 2 },
            ...(existsSync(JEMALLOC) ? [{ name: 'jemalloc' } as const] : []),
          ];
  const memOpts = {
    memoryCacheMb: values['mem-cache-mb'] === undefined ? 256 : Number(values['mem-cache-mb']),
    peakRequests: positive('peak-requests', values['peak-requests'], 96),
    peakConcurrency: positive('peak-concurrency', values['peak-concurrency'], 16),
    soakRequests: positive('soak-requests', values['soak-requests'], 5000),
    soakConcurrency: positive('soak-concurrency', values['soak-concurrency'], 8),
  };

  const repo = fileURLToPath(new URL('..', import.meta.url));
  const cwd = process.env.INIT_CWD ?? process.cwd(); // npm runs scripts from the package root
  const from =
    positionals[0] !== undefined
      ? isAbsolute(positionals[0])
        ? positionals[0]
        : resolve(cwd, positionals[0])
      : join(repo, 'test', 'corpus', 'photos');

  const tmp = await mkdtemp(join(tmpdir(), 'kinu-bench-'));
  const source = join(tmp, 'source');
  const cleanup = async () => {
    await stopAll();
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
  };
  const onSignal = (sig: NodeJS.Signals) => {
    log(`\n${sig}: stopping the children and cleaning up`);
    void cleanup().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const t0 = performance.now();
  try {
    log(`preparing originals from ${from} in ${source} …`);
    // QUALITY alone needs no 24 MP photos.
    const no24 = values['no-24mp'] || (only.size === 1 && only.has('QUALITY'));
    const corpus = await prepareCorpus(from, source, { generate24mp: no24 ? 0 : 3 });
    // The children get this process's environment (UV_THREADPOOL_SIZE, VIPS_*, …) plus their own settings.
    const base: NodeJS.ProcessEnv = {
      ...process.env,
      KINU_CONCURRENCY: String(concurrency),
      KINU_QUEUE: '100000',
      KINU_LOG_LEVEL: 'warn',
      KINU_HOST: '127.0.0.1',
      KINU_MAX_PIXELS: String(MAX_PIXELS),
      // W1–MEM read the serving process's CPU and RSS from /proc/PID: run it unsupervised (CRASH compares both).
      KINU_SUPERVISE: 'off',
    };
    for (const k of [
      'KINU_CONFIG',
      'KINU_SECRET',
      'KINU_SOURCE',
      'KINU_PORT',
      'KINU_TIMEOUT',
      'KINU_DIALECTS',
      'KINU_PRESETS',
      'KINU_MEMORY_CACHE_MB',
      'KINU_CACHE_DIR',
      'KINU_DISK_CACHE_MB',
      'KINU_RESULT_STORE',
      'KINU_STAT_TTL',
    ])
      delete base[k];
    const env = withAllocator(base, allocator);
    const childSharp = childSharpConcurrency(env);
    const ownSharp = sharp.concurrency();
    const notes: string[] = [];
    if (childSharp !== undefined && childSharp !== ownSharp && (only.has('W1') || only.has('W2'))) {
      // The reference runs with the libvips threads per image kinu runs with.
      sharp.concurrency(childSharp);
      notes.push(
        `in-process sharp.concurrency() set from ${ownSharp} to ${childSharp}, as in the kinu child (${allocatorLabel(allocator)})`,
      );
    }
    const environment = {
      node: process.version,
      sharp: sharp.versions.sharp ?? 'unknown',
      libvips: sharp.versions.vips,
      cores: availableParallelism(),
      cpu: cpus()[0]?.model.trim() ?? 'unknown',
      uvThreadpoolSize: process.env.UV_THREADPOOL_SIZE ?? 'unset (kinu sizes it: KINU_CONCURRENCY + 4)',
      allocator: allocatorLabel(allocator),
      kinuSharpConcurrency: childSharp,
      benchSharpConcurrency: sharp.concurrency(),
      simd: sharp.simd(),
    };

    const results: (WorkloadResult & { timing?: Record<string, number> | undefined; restMs?: number | undefined })[] =
      [];
    const overHttp = (['W1', 'W2', 'W3', 'W4', 'W5', 'CAPACITY'] as const).some((w) => only.has(w));
    if (overHttp && !hasWrk()) log(`\n*** ${WRK_MISSING} ***\n`);
    const common = {
      wrkDir: hasWrk() ? tmp : undefined,
      source,
      env,
      concurrency,
      seconds,
      requests,
      rounds,
      warmup,
      sharpFirst: Boolean(values['sharp-first']),
      notes,
    };
    if (only.has('W1'))
      results.push(
        await runMiss({
          ...common,
          id: 'W1',
          title: 'miss, JPEG w=400+k q80',
          photos: corpus.main,
          goal: GOALS.W1,
          spec: { format: 'jpeg', quality: 80, baseWidth: 400, warmWidth: 300 },
        }),
      );
    if (only.has('W2'))
      results.push(
        await runMiss({
          ...common,
          id: 'W2',
          title: 'miss, WebP w=1200+k q80 effort 4',
          photos: corpus.main,
          goal: GOALS.W2,
          spec: { format: 'webp', quality: 80, baseWidth: 1200, warmWidth: 1100 },
        }),
      );
    const hits = only.has('W3') || only.has('W4') || only.has('W5');
    const wrk = hits && hasWrk();
    const hit = {
      photos: corpus.main,
      source,
      env,
      work: tmp,
      concurrency: hitConcurrency,
      seconds: hitSeconds,
      rounds: hitRounds,
      urls: hitUrls,
      sharpFirst: Boolean(values['sharp-first']),
      wrk,
    };
    if (only.has('W3'))
      results.push(...(await runHit({ ...hit, id: 'W3', tier: 'memory', cpuGoal: GOALS.W3cpu, quiet: true })));
    if (only.has('W4'))
      results.push(...(await runHit({ ...hit, id: 'W4', tier: 'disk', cpuGoal: GOALS.W4cpu, quiet: false })));
    if (only.has('W5'))
      results.push(
        ...(await runHit({
          ...hit,
          id: 'W5',
          tier: 'memory',
          cpuGoal: GOALS.W5cpu,
          quiet: false,
          revalidate: true,
        })),
      );
    const memory: MemoryResult[] = [];
    if (only.has('MEM')) {
      for (const a of memAllocators) {
        const memEnv =
          values['mem-cache-mb'] === undefined ? base : { ...base, KINU_MEMORY_CACHE_MB: values['mem-cache-mb'] };
        memory.push(
          await runMemory(a, {
            ...memOpts,
            large: corpus.large,
            main: corpus.main,
            source,
            env: memEnv,
            kinuConcurrency: concurrency,
            segment: 500,
          }),
        );
      }
    }
    const pool: PoolRow[] | undefined = only.has('POOL') ? await runPool({ env: process.env, log }) : undefined;
    const capacity: CapacityRow[] | undefined = only.has('CAPACITY')
      ? await runCapacity({
          photos: corpus.main,
          source,
          env,
          concurrency,
          wrkDir: common.wrkDir,
          seconds: positive('capacity-seconds', values['capacity-seconds'], 4, false),
          rounds: 2,
          log,
        })
      : undefined;
    const crash: CrashResult | undefined = only.has('CRASH')
      ? await runCrash({ source, photo: corpus.main[0]!.key, env: base, seconds: 5, rounds: 2, kills: 3, log })
      : undefined;
    // Measured as shipped (supervised, default budget and timeout): only the log level is changed.
    const hostile: HostileRow[] | undefined = only.has('HOSTILE')
      ? await runHostile({ env: process.env, log })
      : undefined;
    const qualityWidth = positive('quality-width', values['quality-width'], 1200);
    const qualityPhotos: string[] = [];
    const quality: QualityRow[] | undefined = only.has('QUALITY')
      ? await runQuality({
          photos: corpus.main.filter((p) => !p.generated).map((p) => p.path),
          count: positive('quality-photos', values['quality-photos'], 5),
          width: qualityWidth,
          log,
          used: qualityPhotos,
        })
      : undefined;
    const out = {
      environment,
      photos: corpus.all.map((p) => ({
        key: p.key,
        width: p.width,
        height: p.height,
        megapixels: round(p.megapixels, 1),
        bytes: p.bytes,
        generated: p.generated,
      })),
      sets: { main: corpus.main.map((p) => p.key), large: corpus.large.map((p) => p.key) },
      options: {
        concurrency,
        hitConcurrency,
        hitUrls,
        rounds,
        warmup,
        secondsPerSide: seconds,
        requestsPerSide: requests,
        hitSecondsPerSide: hitSeconds,
        ...memOpts,
      },
      goals: GOALS,
      workloads: results,
      memory,
      pool,
      capacity,
      crash,
      hostile,
      quality,
      totalSeconds: round((performance.now() - t0) / 1000, 0),
    };
    process.stdout.write(
      values.json ? `${JSON.stringify(out, null, 2)}\n` : table(out, corpus.main, corpus.large, memOpts, concurrency),
    );
    if (pool && !values.json) process.stdout.write(`\n${poolTable(pool)}\n`);
    if (capacity && !values.json) {
      const w3 = results.find((w) => w.id === 'W3');
      process.stdout.write(
        `\n${capacityTable(capacity, { concurrency, hitMs: w3?.kinu.cpuMsPerReq, photos: corpus.main })}\n`,
      );
    }
    if (crash && !values.json) process.stdout.write(`\n${crashTable(crash)}\n`);
    if (hostile && !values.json) process.stdout.write(`\n${hostileTable(hostile)}\n`);
    if (quality && !values.json)
      process.stdout.write(`\n${qualityTable(quality, qualityWidth, qualityPhotos.length)}\n`);
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}

const f = (x: number | undefined, d = 1) => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d));

function grid(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((x) => (x[i] ?? '').length)));
  const line = (x: string[]) =>
    x
      .map((c, i) => (i <= 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const head = line(rows[0]!);
  return [head, '-'.repeat(head.length), ...rows.slice(1).map(line)];
}

function table(
  r: {
    environment: {
      node: string;
      sharp: string;
      libvips: string;
      cores: number;
      cpu: string;
      uvThreadpoolSize: string;
      allocator: string;
      kinuSharpConcurrency: number | undefined;
      benchSharpConcurrency: number;
      simd: boolean;
    };
    workloads: (WorkloadResult & { timing?: Record<string, number> | undefined; restMs?: number | undefined })[];
    memory: MemoryResult[];
    totalSeconds: number;
  },
  main: readonly Photo[],
  large: readonly Photo[],
  mem: {
    memoryCacheMb: number;
    peakRequests: number;
    peakConcurrency: number;
    soakRequests: number;
    soakConcurrency: number;
  },
  kinuConcurrency: number,
): string {
  const e = r.environment;
  const names = (ps: readonly Photo[]) =>
    ps.map((p) => `${p.key.replace(/\.[^.]+$/, '')} ${p.megapixels.toFixed(1)}`).join(', ');
  const lines = [
    '',
    `kinu bench · node ${e.node} · sharp ${e.sharp} · libvips ${e.libvips} · ${e.cores} cores (${e.cpu}) · simd ${e.simd}`,
    `  kinu children: ${e.allocator}, sharp.concurrency() ${e.kinuSharpConcurrency ?? '?'}, KINU_CONCURRENCY ${kinuConcurrency} · bench process sharp.concurrency() ${e.benchSharpConcurrency} · UV_THREADPOOL_SIZE ${e.uvThreadpoolSize}`,
    `  photos (W1/W2/soak): ${names(main)}`,
    `  large (MEM peak): ${names(large)}`,
    '',
  ];
  if (r.workloads.length > 0) {
    const cpu = (s: WorkloadResult['kinu']) =>
      s.clientCpuMsPerReq === undefined ? f(s.cpuMsPerReq, 2) : `${f(s.cpuMsPerReq, 2)}+${f(s.clientCpuMsPerReq, 2)}`;
    const rows = [
      [
        '',
        'workload (reference)',
        'conc',
        's/side',
        'kinu req/s',
        'ref req/s',
        'ratio',
        'goal',
        '',
        'kinu p50/p99 ms',
        'ref p50/p99 ms',
        'CPU ms/req kinu(+client)',
        'ref',
        'others',
      ],
    ];
    for (const w of r.workloads) {
      rows.push([
        w.id,
        `${w.title} (${w.reference})`,
        String(w.concurrency),
        f(w.secondsPerSide),
        f(w.kinu.rps, 1),
        f(w.ref.rps, 1),
        w.ratio.toFixed(3),
        w.goal === undefined ? '—' : `≥ ${w.goal}`,
        w.pass === undefined ? '' : w.pass ? 'PASS' : 'FAIL',
        `${f(w.kinu.p50, 1)}/${f(w.kinu.p99, 1)}`,
        `${f(w.ref.p50, 1)}/${f(w.ref.p99, 1)}`,
        cpu(w.kinu),
        cpu(w.ref),
        f(Math.max(w.kinu.otherCores ?? 0, w.ref.otherCores ?? 0), 2),
      ]);
    }
    lines.push(...grid(rows));
    for (const w of r.workloads) {
      const t = w.timing;
      // Misses are judged on the median of the rounds' CPU ratios (each round's kinu phase over its reference
      // phase), as the throughput ratio is; the pooled ratio is shown beside it.
      const pooledCpu =
        w.reference === 'in-process sharp' && w.kinu.cpuMsPerReq !== undefined && w.ref.cpuMsPerReq !== undefined
          ? w.kinu.cpuMsPerReq / w.ref.cpuMsPerReq
          : undefined;
      const cpuTimes = pooledCpu === undefined ? undefined : median(w.roundCpu ?? []);
      lines.push(
        `${w.id} per-round ratios ${w.roundRatios.map((x) => x.toFixed(2)).join(' ')}` +
          (w.roundRatios.length ? ` (median ${median(w.roundRatios).toFixed(3)})` : '') +
          (cpuTimes === undefined || pooledCpu === undefined
            ? ''
            : ` · CPU kinu/ref per round ${(w.roundCpu ?? []).map((x) => x.toFixed(3)).join(' ')}: median ${cpuTimes.toFixed(3)}× (goal ≤ ${GOALS.missCpu}×: ${cpuTimes <= GOALS.missCpu ? 'PASS' : 'FAIL'}), pooled ${pooledCpu.toFixed(3)}×`) +
          ` · CPU-efficiency ref/kinu ${f(w.cpuRatio, 3)} · peak RSS kinu ${f(w.kinu.peakRssMb, 0)} MB, ref ${f(w.ref.peakRssMb, 0)} MB` +
          (t
            ? ` · Server-Timing ms: ${Object.entries(t)
                .map(([k, v]) => `${k} ${v.toFixed(1)}`)
                .join(', ')}, rest ${f(w.restMs)}`
            : '') +
          (w.noisy ? ` · NOISY: other processes > ${NOISE_CORES} cores` : ''),
      );
      for (const n of w.notes) if (!lines.includes(`  note: ${n}`)) lines.push(`  note: ${n}`);
    }
    lines.push(
      "  ratio = kinu req/s ÷ reference req/s over all rounds; CPU ms/req from /proc/<pid>/stat (kinu, bare and in-process sharp children; wrk's from the reaped children of this process).",
    );
    lines.push('');
  }
  if (r.memory.length > 0) {
    const rows = [
      [
        '',
        `MEM (KINU_CONCURRENCY ${kinuConcurrency}, MEMORY_CACHE_MB ${mem.memoryCacheMb})`,
        'sharp conc',
        'peak MB',
        'goal',
        '',
        'idle MB',
        `@500`,
        `@${mem.soakRequests}`,
        'growth',
        'net of LRU',
        'goal',
        '',
        'trend MB/1k',
        'soak peak MB',
        'soak req/s',
        'CPU ms/req',
      ],
    ];
    for (const m of r.memory) {
      const s = m.soak;
      rows.push([
        '',
        m.allocator,
        String(m.sharpConcurrency ?? '?'),
        f(m.peak.peakRssMb, 0),
        `< ${GOALS.peakMb}`,
        m.peak.peakRssMb < GOALS.peakMb ? 'PASS' : 'FAIL',
        f(s.idleRssMb, 0),
        f(s.rssAfterFirstMb, 0),
        f(s.rssAfterAllMb, 0),
        `${s.growthPct >= 0 ? '+' : ''}${s.growthPct.toFixed(1)}%`,
        `${s.growthNetOfCachePct >= 0 ? '+' : ''}${s.growthNetOfCachePct.toFixed(1)}%`,
        `≤ ${GOALS.growthPct}%`,
        s.growthPct <= GOALS.growthPct ? 'PASS' : 'FAIL',
        `${s.trendMbPer1k >= 0 ? '+' : ''}${s.trendMbPer1k.toFixed(1)}`,
        f(s.peakRssMb, 0),
        f(s.rps, 1),
        f(s.cpuMsPerReq, 2),
      ]);
    }
    lines.push(...grid(rows));
    for (const m of r.memory)
      lines.push(
        `${m.allocator}: RSS MB every 500 (LRU · V8 heap · external MB): ${m.soak.curve.map((c) => `${c.rssMb.toFixed(0)}(${c.cacheMb.toFixed(0)}·${c.heapMb.toFixed(0)}·${c.externalMb.toFixed(0)})`).join(' ')} · peak run ${m.peak.requests} req in ${m.peak.seconds} s · soak ${m.soak.seconds} s, ${m.soak.misses} misses`,
      );
    lines.push(
      `  peak = VmHWM of a fresh child after ${mem.peakRequests} unique misses at concurrency ${mem.peakConcurrency} over the large photos (JPEG 400, WebP 1200, JPEG 2400, AVIF 800).`,
    );
    lines.push(
      `  soak = fresh child, ${mem.soakRequests} requests at concurrency ${mem.soakConcurrency}, 1 in 4 a unique miss (JPEG/WebP/AVIF 120–290 px), the rest hits on 20 URLs; VmRSS between`,
    );
    lines.push(
      '  segments of 500, at rest. "net of LRU" takes off what the memory cache legitimately gained (bodies + 512 B each) between @500 and the end;',
    );
    lines.push(
      '  "trend" is the least-squares slope of the whole curve. One RSS sample jitters by ±5–8 %: judge growth on the trend and on longer soaks.',
    );
    lines.push('');
  }
  lines.push(`total ${r.totalSeconds} s`);
  return `${lines.join('\n')}\n`;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  async (e: unknown) => {
    log(`bench failed: ${e instanceof Error ? e.message : String(e)}`);
    await stopAll();
    process.exitCode = 1;
  },
);
