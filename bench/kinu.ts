// The servers under test, each a child process on loopback: a real `kinu serve`, and the bare node:http
// references (bare.ts for hits, bare-sharp.ts for misses). Each prints a listening line with its URL.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const BIN = fileURLToPath(new URL('../bin/kinu.js', import.meta.url));
const BARE = fileURLToPath(new URL('./bare.ts', import.meta.url));
const BARE_SHARP = fileURLToPath(new URL('./bare-sharp.ts', import.meta.url));
export const JEMALLOC = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';

export interface Child {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly base: string;
  /** The last lines it wrote, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

export type KinuChild = Child;

const live = new Set<Child>();

/** Stops every child still running (on a signal or a failure). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((c) => c.stop().catch(() => {})));
}

/** Which malloc the kinu child runs with. */
export type Allocator =
  | { readonly name: 'glibc' }
  | { readonly name: 'arena'; readonly max: number }
  | { readonly name: 'jemalloc' };

export function allocatorLabel(a: Allocator): string {
  return a.name === 'glibc'
    ? 'glibc malloc (default)'
    : a.name === 'arena'
      ? `glibc, MALLOC_ARENA_MAX=${a.max}`
      : 'jemalloc (LD_PRELOAD)';
}

/** `env` with the allocator's variables set, and the other allocators' removed. */
export function withAllocator(env: NodeJS.ProcessEnv, a: Allocator): NodeJS.ProcessEnv {
  const out = { ...env };
  delete out.MALLOC_ARENA_MAX;
  if (out.LD_PRELOAD?.includes('jemalloc')) delete out.LD_PRELOAD;
  if (a.name === 'arena') out.MALLOC_ARENA_MAX = String(a.max);
  if (a.name === 'jemalloc') {
    if (!existsSync(JEMALLOC)) throw new Error(`${JEMALLOC} not found: apt-get install -y libjemalloc2`);
    out.LD_PRELOAD = [out.LD_PRELOAD, JEMALLOC].filter(Boolean).join(':');
  }
  return out;
}

/** What sharp.concurrency() is in a kinu process started with `env`, once its pipeline module has set it. */
export function childSharpConcurrency(env: NodeJS.ProcessEnv): number | undefined {
  const script =
    "await import('./dist/pipeline/pipeline.js'); console.log((await import('sharp')).default.concurrency())";
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env,
    cwd: REPO,
    encoding: 'utf8',
  });
  const n = Number(r.stdout.trim());
  return r.status === 0 && Number.isInteger(n) ? n : undefined;
}

/** `logFile`: its stdout (the log) goes to this file, as in production, instead of a pipe read by the bench. */
export function startKinu(
  source: string,
  env: NodeJS.ProcessEnv,
  timeoutMs = 20_000,
  logFile?: string,
): Promise<Child> {
  return startChild(
    'kinu',
    [BIN, 'serve', '--port', '0', '--source', source],
    env,
    /kinu listening on (http:\/\/\S+)/,
    timeoutMs,
    logFile,
  );
}

/** The bare reference: answers the URLs of `manifest` from a Map in memory, or by reading the file per request. */
export function startBare(manifest: string, mode: 'memory' | 'disk', env: NodeJS.ProcessEnv): Promise<Child> {
  return startChild('bare', ['--import', 'tsx', BARE, manifest, mode], env, /bare listening on (http:\/\/\S+)/, 20_000);
}

/** The bare miss reference: node:http + the in-process side's sharp call, reading originals from `source`. */
export function startBareSharp(source: string, env: NodeJS.ProcessEnv): Promise<Child> {
  return startChild(
    'bare-sharp',
    ['--import', 'tsx', BARE_SHARP, source],
    env,
    /bare-sharp listening on (http:\/\/\S+)/,
    20_000,
  );
}

async function startChild(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  listening: RegExp,
  timeoutMs: number,
  logFile?: string,
): Promise<Child> {
  const fd = logFile === undefined ? undefined : openSync(logFile, 'a');
  const child = spawn(process.execPath, args, { env, cwd: REPO, stdio: ['ignore', fd ?? 'pipe', 'pipe'] });
  if (fd !== undefined) closeSync(fd);
  const fileTail = () =>
    logFile === undefined ? [] : readFileSync(logFile, 'utf8').split('\n').filter(Boolean).slice(-40);
  const tail: string[] = [];
  const keep = (chunk: Buffer) => {
    tail.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (tail.length > 40) tail.splice(0, tail.length - 40);
  };
  child.stderr!.on('data', keep);
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );

  const base = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(
      () => fail(new Error(`${name} did not print its listening line within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const fail = (e: Error) => {
      clearTimeout(timer);
      reject(e);
    };
    child.once('error', fail);
    child.once('exit', (code, signal) =>
      fail(
        new Error(
          `${name} exited (${signal ?? `code ${code}`}) before listening:\n${[...fileTail(), ...tail].join('\n')}`,
        ),
      ),
    );
    if (logFile !== undefined) {
      const poll = setInterval(() => {
        const m = listening.exec(readFileSync(logFile, 'utf8'));
        if (m) {
          clearInterval(poll);
          clearTimeout(timer);
          resolve(m[1]!);
        }
      }, 50);
      child.once('exit', () => clearInterval(poll));
      return;
    }
    child.stdout!.on('data', (chunk: Buffer) => {
      keep(chunk);
      buf += chunk.toString('utf8');
      const m = listening.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  }).catch(async (e) => {
    child.kill('SIGKILL');
    await exit;
    throw e;
  });

  const handle: Child = {
    child,
    pid: child.pid!,
    base,
    output: () => [...fileTail(), ...tail].join('\n'),
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exit;
      clearTimeout(force);
    },
  };
  live.add(handle);
  void exit.then(() => live.delete(handle));
  return handle;
}
