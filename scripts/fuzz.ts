// Mutation fuzz: damaged copies of corpus images (flipped, cut, repeated and spliced bytes) served by a real
// `kinu serve` child on 127.0.0.1, a few URLs per file, N requests in flight. Reports every 5xx but 503/504
// (those are load answers) and any death of the server. Seeded: the same seed makes the same files and URLs.
//
//   npm run fuzz -- --seed 7 --requests 3000 --concurrency 4 --family gif --family webp
//
// Files, the request log (requests.jsonl) and the server's output stay in --out; `--replay <out>` sends
// that run's requests again (with --requests as a cap), e.g. under MALLOC_CHECK_=3.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';

const FAMILIES = {
  jpeg: ['jpg', 'jpeg'],
  png: ['png'],
  gif: ['gif'],
  webp: ['webp'],
  avif: ['avif', 'avifs'],
  tiff: ['tif', 'tiff'],
} as const;
type Family = keyof typeof FAMILIES;

// What a visitor may ask of any image: resize, crop, effects, every output format, frames kept or not.
const URLS = [
  'w=200',
  'w=500&blur=2&sharpen=1',
  'fmt=webp&w=300',
  'fmt=avif&w=120',
  'fmt=png&h=150&fit=cover',
  'fmt=gif&w=100',
  'fmt=jpeg&w=250&h=250&fit=contain&bg=ff8800',
  'crop=5,5,60,40&w=50',
  'rot=90&w=160',
  'trim=10&w=200',
  'pixelate=8&w=200',
  'gray=1&flip=hv&w=180',
  'anim=0&w=240',
  'pad=4&w=100&fmt=webp',
  'w=64&h=64&pos=attention',
  'fmt=json&w=90',
  'dpr=2&w=90',
];

const { values: opt } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    requests: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '4' },
    family: { type: 'string', multiple: true },
    'urls-per-file': { type: 'string', default: '3' },
    corpus: { type: 'string', default: new URL('../test/corpus', import.meta.url).pathname },
    out: { type: 'string' },
    replay: { type: 'string' },
    'max-file-mb': { type: 'string', default: '4' },
    'answer-timeout': { type: 'string', default: '60' },
  },
});

const seed = Number(opt.seed);
const total = Number(opt.requests);
const inFlight = Number(opt.concurrency);
const perFile = Math.max(1, Number(opt['urls-per-file']));
const families = (opt.family?.flatMap((f) => f.split(',')) ?? Object.keys(FAMILIES)) as Family[];
for (const f of families)
  if (!(f in FAMILIES)) throw new Error(`--family ${f}: expected one of ${Object.keys(FAMILIES).join(', ')}`);

// mulberry32: a seeded generator small enough to inline, so a seed names a run forever.
let state = seed >>> 0;
const rand = () => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  );
}
const familyOf = (file: string): Family | undefined =>
  (Object.keys(FAMILIES) as Family[]).find((f) =>
    (FAMILIES[f] as readonly string[]).includes(extname(file).slice(1).toLowerCase()),
  );
const seeds = walk(opt.corpus)
  .filter((f) => families.includes(familyOf(f)!) && statSync(f).size <= Number(opt['max-file-mb']) * 2 ** 20)
  .sort();
if (seeds.length === 0) throw new Error(`no corpus files of ${families.join(', ')} under ${opt.corpus}`);
const bytesOf = new Map(seeds.map((f) => [f, readFileSync(f)]));

// Past the header more often than not: damage there is what a decoder meets mid-stream.
const position = (b: Buffer) =>
  rand() < 0.7 ? Math.min(b.length - 1, 16 + int(Math.max(1, b.length - 16))) : int(b.length);

function mutate(src: Buffer, family: Family): { data: Buffer; how: string[] } {
  let b = Buffer.from(src);
  const how: string[] = [];
  for (let n = 1 + int(3); n > 0 && b.length > 1; n--) {
    const kind = pick(['flip', 'flip', 'cut', 'repeat', 'splice'] as const);
    const at = position(b);
    if (kind === 'flip') {
      const count = 1 + int(8);
      for (let i = 0; i < count; i++) {
        const p = Math.min(b.length - 1, at + int(64));
        b[p] = b[p]! ^ (1 << int(8));
      }
      how.push(`flip ${count}@${at}`);
    } else if (kind === 'cut') {
      const len = rand() < 0.5 ? b.length - at : 1 + int(Math.min(4096, b.length - at));
      b = Buffer.concat([b.subarray(0, at), b.subarray(at + len)]);
      how.push(`cut ${len}@${at}`);
    } else if (kind === 'repeat') {
      const len = 1 + int(Math.min(4096, b.length - at));
      b = Buffer.concat([b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len)]);
      how.push(`repeat ${len}@${at}`);
    } else {
      const donorName = pick(seeds.filter((f) => familyOf(f) === family));
      const donor = bytesOf.get(donorName)!;
      const from = int(donor.length);
      const len = 1 + int(Math.min(8192, donor.length - from));
      b = Buffer.concat([b.subarray(0, at), donor.subarray(from, from + len), b.subarray(at + int(len + 1))]);
      how.push(`splice ${len} from ${relative(opt.corpus, donorName)}@${from} to @${at}`);
    }
  }
  return { data: b, how };
}

// --replay DIR sends the requests of an earlier run again (its files, its URLs, in its order).
const replay = opt.replay;
const out = replay ?? opt.out ?? mkdtempSync(join(tmpdir(), `kinu-fuzz-${seed}-`));
const images = join(out, 'images');
mkdirSync(images, { recursive: true });

// The jobs: files made up front (deterministic), then their URLs.
interface Job {
  id: string;
  url: string;
  file: string;
  seed: string;
  how: string[];
}
const jobs: Job[] = [];
if (replay) {
  for (const line of readFileSync(join(replay, 'requests.jsonl'), 'utf8').split('\n').filter(Boolean).slice(0, total)) {
    const r = JSON.parse(line) as Omit<Job, 'file'>;
    jobs.push({ ...r, file: r.url.slice(1).split('?')[0]! });
  }
}
for (let n = 0; !replay && jobs.length < total; n++) {
  const original = pick(seeds);
  const family = familyOf(original)!;
  const { data, how } = mutate(bytesOf.get(original)!, family);
  const file = `f${n}.${extname(original).slice(1)}`;
  writeFileSync(join(images, file), data);
  for (let k = 0; k < perFile && jobs.length < total; k++) {
    jobs.push({
      id: `fz-${seed}-${jobs.length}`,
      url: `/${file}?${pick(URLS)}`,
      file,
      seed: relative(opt.corpus, original),
      how,
    });
  }
}

// The server: its stdout is pino JSON, read for the error behind each 500 (by request id).
const log = createWriteStream(join(out, replay ? 'server-replay.log' : 'server.log'));
const child = spawn(
  process.execPath,
  [
    new URL('../bin/kinu.js', import.meta.url).pathname,
    'serve',
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--source',
    images,
  ],
  {
    env: {
      ...process.env,
      KINU_LOG_LEVEL: 'warn',
      KINU_MEMORY_CACHE_MB: '0',
      KINU_CACHE_DIR: '',
      KINU_PLAYGROUND: 'off',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  },
);
const errorsById = new Map<string, string>();
let tail: string[] = [];
let port: Promise<number>;
{
  let resolvePort!: (p: number) => void;
  let rejectPort!: (e: Error) => void;
  port = new Promise((res, rej) => {
    resolvePort = res;
    rejectPort = rej;
  });
  let buffered = '';
  const onLine = (line: string) => {
    log.write(`${line}\n`);
    tail = [...tail.slice(-30), line];
    const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
    if (m) resolvePort(Number(m[1]));
    if (line.startsWith('{')) {
      try {
        const rec = JSON.parse(line) as {
          level?: number;
          reqId?: string;
          err?: { message?: string };
          cause?: { message?: string };
          msg?: string;
        };
        if (rec.reqId && (rec.level ?? 0) >= 50)
          errorsById.set(rec.reqId, rec.cause?.message ?? rec.err?.message ?? rec.msg ?? '');
      } catch {
        /* not a log record */
      }
    }
  };
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      lines.forEach(onLine);
    });
  }
  child.on('exit', (code, signal) =>
    rejectPort(new Error(`kinu exited before listening (code ${code}, signal ${signal})`)),
  );
}

const flying = new Set<Job>();
let inFlightAtDeath: Job[] = [];
let stopping = false;
let died: { code: number | null; signal: string | null } | undefined;
child.on('exit', (code, signal) => {
  if (stopping) return;
  died = { code, signal };
  inFlightAtDeath = [...flying];
});

const base = `http://127.0.0.1:${await port}`;
const requestLog = createWriteStream(join(out, replay ? 'replayed.jsonl' : 'requests.jsonl'));
const answerLog = createWriteStream(join(out, replay ? 'replay-answers.jsonl' : 'answers.jsonl'));
const statuses = new Map<string, number>();
const bad: { job: Job; status: number | string; detail: string }[] = [];
let next = 0;
let completed = 0;
const started = performance.now();

async function worker(): Promise<void> {
  while (next < jobs.length && !died) {
    const job = jobs[next++]!;
    flying.add(job);
    requestLog.write(`${JSON.stringify({ id: job.id, url: job.url, seed: job.seed, how: job.how })}\n`);
    let status: number | string;
    let body = '';
    try {
      const res = await fetch(base + job.url, {
        headers: { 'x-request-id': job.id },
        signal: AbortSignal.timeout(Number(opt['answer-timeout']) * 1000),
      });
      status = res.status;
      if (status >= 500) body = await res.text();
      else await res.arrayBuffer(); // drained, so the connection is reused
    } catch (e) {
      status = died
        ? 'server died'
        : (e as Error).name === 'TimeoutError'
          ? 'no answer'
          : `error: ${(e as Error).message}`;
    }
    flying.delete(job);
    answerLog.write(`${JSON.stringify({ id: job.id, status })}\n`);
    statuses.set(String(status), (statuses.get(String(status)) ?? 0) + 1);
    if (typeof status === 'string' || (status >= 500 && status !== 503 && status !== 504)) {
      // Give the log line a moment to arrive: it is written as the answer is sent.
      await new Promise((r) => setTimeout(r, 20));
      bad.push({ job, status, detail: errorsById.get(job.id) ?? body.slice(0, 300) });
    }
    const done = ++completed;
    if (done % 250 === 0)
      process.stderr.write(`  ${done}/${jobs.length} (${Math.round((performance.now() - started) / 1000)} s)\n`);
  }
}

await Promise.all(Array.from({ length: inFlight }, worker));
const seconds = Math.round((performance.now() - started) / 1000);
stopping = true;
if (!died) child.kill('SIGTERM');
await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r)));

console.log(
  `fuzz seed ${seed}: ${next} of ${jobs.length} requests, ${inFlight} in flight, families ${families.join(',')}, ${seconds} s; files and logs in ${out}`,
);
console.log(
  `statuses: ${[...statuses]
    .sort()
    .map(([s, n]) => `${s}×${n}`)
    .join(' ')}`,
);
for (const { job, status, detail } of bad) {
  console.log(
    `${status} ${job.url}  (${job.seed}: ${job.how.join(', ')})\n    ${detail.replace(/\s+/g, ' ').slice(0, 240)}`,
  );
}
if (died) {
  console.log(
    `SERVER DIED (code ${died.code}, signal ${died.signal}); in flight: ${inFlightAtDeath.map((j) => j.url).join(' ')}`,
  );
  console.log(`last output:\n  ${tail.slice(-10).join('\n  ')}`);
}
process.exitCode = bad.length > 0 || died ? 1 : 0;
