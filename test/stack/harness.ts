// The whole stack as separate processes (DESIGN §6): kinu instances started as `node bin/kinu.js serve`
// children, and varnishd with the shipped VCL in its own -n folder on a loopback port, stopped by PID.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const VCL = join(ROOT, 'deploy/varnish/kinu.vcl');
export const VARNISHD = process.env.KINU_VARNISHD ?? '/usr/sbin/varnishd';
/** varnishadm and varnishncsa, from the same package as varnishd (/usr/bin on Debian). */
const VARNISH_BIN = process.env.KINU_VARNISH_BIN ?? '/usr/bin';

const live = new Set<ChildProcess>();
// Last resort if the test process dies without running its after(): no orphaned servers.
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/** Stops a child by PID: `signal`, then SIGKILL after `graceMs`; resolves once it has exited. */
export async function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface KinuProcess {
  readonly name: string;
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** Everything it printed (stdout and stderr), for failure messages. */
  output(): string;
}

/** `node bin/kinu.js serve` in `root` with only the given KINU_* settings; resolves on its listening line. */
export async function startKinu(name: string, env: Record<string, string>, root = ROOT): Promise<KinuProcess> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('KINU_') && !k.startsWith('AWS_')),
  );
  const child = spawn(process.execPath, [join(root, 'bin/kinu.js'), 'serve'], {
    cwd: root,
    env: { ...clean, KINU_HOST: '127.0.0.1', KINU_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    out += s;
  });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    out += s;
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not print its listening line in 30 s:\n${out}`));
    }, 30_000);
    const onData = () => {
      const m = /kinu listening on (http:\/\/127\.0\.0\.1:\d+) \(source: [^)]*\)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before listening:\n${out}`));
    });
  });
  return { name, url, port: Number(new URL(url).port), child, output: () => out };
}

/** The site-specific include of kinu.vcl for these instances (the shape of kinu-backends.example.vcl). */
export function backendsVcl(instances: readonly { name: string; port: number }[]): string {
  const backends = instances
    .map(
      (k) => `backend ${k.name} {
    .host = "127.0.0.1";
    .port = "${k.port}";
    .probe = kinu_health;
    .connect_timeout = 1s;
    .first_byte_timeout = 30s;
    .between_bytes_timeout = 10s;
}
`,
    )
    .join('\n');
  return `${backends}
sub kinu_add_backends {
${instances.map((k) => `    kinu.add_backend(${k.name});`).join('\n')}
}

acl kinu_purge {
    "127.0.0.1";
}
`;
}

export interface VarnishProcess {
  readonly url: string;
  readonly workdir: string;
  readonly child: ChildProcess;
  output(): string;
  /** varnishadm against this instance. */
  adm(...args: string[]): Promise<string>;
  /** Backend fetches that reached a kinu instance (a connection was opened), as Varnish logged them. */
  backendFetches(): Promise<{ url: string; status: number; kinuCache: string; backend: string }[]>;
  stop(): Promise<void>;
}

/**
 * varnishd -F with the shipped VCL; `dir` holds kinu-backends.vcl (vcl_path) and the -n working folder.
 * Resolves once every backend named in `backends` is healthy by its probe. Listens on `listenPort` if given
 * (reserved earlier with freePort()), else on a free port, trying another if it was taken meanwhile.
 */
export async function startVarnish(
  dir: string,
  backends: readonly { name: string; port: number }[],
  listenPort?: number,
): Promise<VarnishProcess> {
  writeFileSync(join(dir, 'kinu-backends.vcl'), backendsVcl(backends));
  const workdir = join(dir, 'varnish');
  let lastError = '';
  for (let attempt = 0; attempt < (listenPort === undefined ? 3 : 1); attempt++) {
    const port = listenPort ?? (await freePort());
    const child = spawn(
      VARNISHD,
      [
        '-F', // foreground: the child's PID is varnishd's manager; SIGTERM stops it and its cache process
        '-j',
        'none', // no privilege separation: nothing needs root
        '-n',
        workdir,
        '-a',
        `127.0.0.1:${port}`,
        '-T',
        '127.0.0.1:0',
        '-f',
        VCL,
        '-p',
        `vcl_path=${dir}`,
        '-s',
        'malloc,64m',
        '-l',
        '16m',
        '-p',
        'thread_pools=1',
        '-p',
        'thread_pool_min=20',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    track(child);
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      out += s;
    });
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      out += s;
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const v: VarnishProcess = {
      url: `http://127.0.0.1:${port}`,
      workdir,
      child,
      output: () => out,
      adm: async (...args) => (await run(join(VARNISH_BIN, 'varnishadm'), ['-n', workdir, ...args])).stdout,
      backendFetches: async () => {
        const { stdout } = await run(
          join(VARNISH_BIN, 'varnishncsa'),
          ['-n', workdir, '-d', '-b', '-F', '%s\t%{X-Kinu-Cache}o\t%{VSL:BackendOpen[2]}x\t%U%q'],
          { maxBuffer: 64 << 20 },
        );
        return stdout
          .split('\n')
          .filter(Boolean)
          .map((line) => {
            const [status, kinuCache, backend, url] = line.split('\t') as [string, string, string, string];
            return { url, status: Number(status), kinuCache, backend };
          })
          .filter((f) => f.backend !== '-');
      },
      stop: () => stop(child),
    };
    const ready = await Promise.race([
      waitHealthy(
        v,
        backends.map((b) => b.name),
      ).then(() => true),
      exited.then(() => false),
    ]);
    if (ready) return v;
    lastError = out;
    await stop(child);
  }
  throw new Error(`varnishd did not start:\n${lastError}`);
}

async function waitHealthy(v: VarnishProcess, names: readonly string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  let list = '';
  while (Date.now() < deadline) {
    if (v.child.exitCode !== null) return;
    try {
      list = await v.adm('backend.list');
      const healthy = names.filter((n) => new RegExp(`\\.${n}\\s+\\S+\\s+\\S+\\s+healthy`).test(list));
      if (healthy.length === names.length) return;
    } catch {
      /* the CLI is not up yet */
    }
    await sleep(100);
  }
  throw new Error(`backends not healthy in 30 s:\n${list}\n${v.output()}`);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `fn` until it returns a value that `ok` accepts, or `ms` pass; returns the last value either way. */
export async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  let v = await fn();
  while (!ok(v) && Date.now() < deadline) {
    await sleep(100);
    v = await fn();
  }
  return v;
}

export function varnishAvailable(): boolean {
  return existsSync(VARNISHD);
}

/**
 * A stack test's `skip`: false when varnishd is here. Without it, under CI=true the test file fails (.ci/run
 * installs varnish); elsewhere it says loudly that `what` is skipped.
 */
export function varnishSkip(what: string): string | false {
  if (varnishAvailable()) return false;
  if (process.env.CI === 'true')
    throw new Error(`${VARNISHD} not found: CI must run ${what} (.ci/run installs varnish)`);
  console.warn(`\n*** ${what} SKIPPED: ${VARNISHD} not found (apt-get install varnish, or set KINU_VARNISHD) ***\n`);
  return `${VARNISHD} not found`;
}
