// Shared test helpers: corpus paths, a server built for inject(), decoding of responses.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp, { type Sharp } from 'sharp';
import { loadConfig, type Config } from '../src/config.ts';
import { KinuError, type ErrorCode } from '../src/errors.ts';
import type { LimiterStats } from '../src/pipeline/limiter.ts';
import { buildServer, type KinuServer, type ServerDeps } from '../src/server.ts';

/** The test images: `test/corpus` in the repository (see its SOURCES.md), nothing outside it. */
export const CORPUS = fileURLToPath(new URL('./corpus', import.meta.url));

/** Calls `fn` with each whole line a child process writes (a `kinu serve` log is one JSON object a line). */
export function onLines(stream: NodeJS.ReadableStream, fn: (line: string) => void): void {
  let buf = '';
  stream.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      fn(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
}

/** Polls (no timing assertion) until `cond` holds, failing with `what` after a generous bound. */
export async function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), `timed out waiting for: ${what}`);
}

/** A `kinu serve` child process on 127.0.0.1, any port, logging at info: its JSON log lines and listening lines. */
export interface KinuProcess {
  child: ChildProcess;
  logs: Record<string, unknown>[];
  listening: string[];
  exit: Promise<number | null>;
}

export function startKinu(args: string[], env: NodeJS.ProcessEnv = process.env): KinuProcess {
  const bin = fileURLToPath(new URL('../bin/kinu.js', import.meta.url));
  const child = spawn(
    process.execPath,
    [bin, 'serve', '--host', '127.0.0.1', '--port', '0', '--log-level', 'info', ...args],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const kinu: KinuProcess = {
    child,
    logs: [],
    listening: [],
    exit: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
  onLines(child.stdout!, (line) => {
    if (line.startsWith('{')) kinu.logs.push(JSON.parse(line) as Record<string, unknown>);
    else if (line.startsWith('kinu listening on ')) kinu.listening.push(line);
  });
  return kinu;
}

/** An uncompressed PNG of grey noise, `side`² pixels: noise does not compress, so it stays large in any format. */
export function noisePng(side: number): Promise<Buffer> {
  const noise = { type: 'gaussian', mean: 128, sigma: 60 } as const;
  return sharp({ create: { width: side, height: side, channels: 3, background: '#808080', noise } })
    .png({ compressionLevel: 0 })
    .toBuffer();
}

export const EXAMPLES = fileURLToPath(new URL('../examples/images', import.meta.url));

/** A corpus file's path; a missing file fails the test that asks for it, not every file importing this one. */
export function corpus(file: string): string {
  const path = join(CORPUS, file);
  if (!existsSync(path)) throw new Error(`test corpus file not found: ${path}`);
  return path;
}

export function tempDir(prefix = 'kinu-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A source folder (removed after the test) with `small.jpg` and `big.jpg`: a real JPEG padded after its end marker to `bigBytes` (originals are sniffed). */
export function bigJpegDir(t: { after(fn: () => void): void }, prefix: string, bigBytes: number): string {
  const dir = tempDir(prefix);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const jpeg = readFileSync(corpus('photos/hato-pigeons.jpg'));
  writeFileSync(join(dir, 'big.jpg'), Buffer.concat([jpeg, Buffer.alloc(bigBytes - jpeg.length)]));
  copyFileSync(corpus('photos/hato-pigeons.jpg'), join(dir, 'small.jpg'));
  return dir;
}

/** What a limiter reports with nothing running or waiting (and no memory budget). */
export const IDLE_LIMITER_STATS: LimiterStats = Object.freeze({
  active: 0,
  ahead: 0,
  queued: 0,
  rejected: 0,
  reservedBytes: 0,
  memoryWaiting: 0,
  memoryBytes: Infinity,
});

/** A limiter with nothing running or waiting, for code that only reads its stats (metrics). */
export const IDLE_LIMITER = { stats: (): LimiterStats => ({ ...IDLE_LIMITER_STATS }) };

/** A server over `root` (default: the corpus) with env-style settings, for app.inject(). */
export function testServer(
  env: Record<string, string> = {},
  deps: ServerDeps = {},
): { app: KinuServer; config: Config } {
  const config = loadConfig({ env: { KINU_SOURCE: CORPUS, ...env } });
  return { app: buildServer(config, { logger: false, ...deps }), config };
}

export async function decode(body: Buffer) {
  return sharp(body, { animated: true }).metadata();
}

/** Mean RGB of an image region, for colour and geometry checks. */
export async function meanColour(
  body: Buffer,
  region?: { left: number; top: number; width: number; height: number },
): Promise<[number, number, number]> {
  // sharp's stats() reads its input, not the pipeline's output: the region is cut to a PNG first.
  const input = region ? await sharp(body).extract(region).png().toBuffer() : body;
  const { channels } = await sharp(input).removeAlpha().toColourspace('srgb').stats();
  return [channels[0]!.mean, channels[1]!.mean, channels[2]!.mean];
}

/** 8-bit sRGB pixels of an image, alpha dropped: what the pixel comparisons and the metrics (RgbImage) read. */
export async function rgbPixels(input: Buffer | Sharp) {
  const img = Buffer.isBuffer(input) ? sharp(input) : input;
  const { data, info } = await img.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 as const };
}

/** Mean absolute difference of two pixel buffers of one shape, 0–255. */
export function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  assert.equal(a.length, b.length, 'same size');
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

/** The KinuError a promise rejects with (fails if it resolves or rejects with anything else). */
export async function rejection(p: Promise<unknown>): Promise<KinuError> {
  const e = await p.then(
    () => assert.fail('expected a refusal'),
    (err: unknown) => err,
  );
  assert.ok(e instanceof KinuError, String(e));
  return e;
}

/** Asserts a KinuError with this code and, when `part` is given, a detail that names it first (`part: …`). */
export function rejectsKinu(fn: () => unknown, code: ErrorCode, part?: string, label = ''): void {
  const at = label ? `${label}: ` : '';
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof KinuError, `${at}expected KinuError, got ${String(e)}`);
    assert.equal(e.code, code, `${at}${e.detail}`);
    if (part !== undefined) assert.ok(e.detail.startsWith(`${part}:`), `${at}detail should name ${part}: ${e.detail}`);
    return true;
  });
}

/** A peer-dialect URL and its native twin give the same status, type, ETag and bytes (and the size, if given). */
export async function assertSameAsNative(
  app: KinuServer,
  peer: string,
  nativeUrl: string,
  size?: [number, number],
): Promise<void> {
  const a = await app.inject({ url: peer });
  const b = await app.inject({ url: nativeUrl });
  assert.equal(a.statusCode, 200, `${peer}: ${a.body}`);
  assert.equal(b.statusCode, 200, `${nativeUrl}: ${b.body}`);
  assert.equal(a.headers['content-type'], b.headers['content-type']);
  assert.equal(a.headers.etag, b.headers.etag, `${peer} and ${nativeUrl} should share an ETag`);
  assert.ok(a.rawPayload.equals(b.rawPayload), `${peer} and ${nativeUrl} should give identical bytes`);
  if (size) {
    const meta = await decode(a.rawPayload);
    assert.deepEqual([meta.width, meta.height], size);
  }
}
