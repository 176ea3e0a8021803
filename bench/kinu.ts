// The kinu side: a real `kinu serve` child on loopback, and a keep-alive node:http client.
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { Sample } from './load.ts';

const BIN = fileURLToPath(new URL('../bin/kinu.js', import.meta.url));

export interface KinuChild {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly base: string;
  /** The last lines kinu wrote, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

export async function startKinu(source: string, env: NodeJS.ProcessEnv, timeoutMs = 20_000): Promise<KinuChild> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--source', source], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  const keep = (chunk: Buffer) => {
    tail.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (tail.length > 40) tail.splice(0, tail.length - 40);
  };
  child.stderr!.on('data', keep);
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));

  const base = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => fail(new Error(`kinu did not print its listening line within ${timeoutMs} ms`)), timeoutMs);
    const fail = (e: Error) => { clearTimeout(timer); reject(e); };
    child.once('error', fail);
    child.once('exit', (code, signal) => fail(new Error(`kinu exited (${signal ?? `code ${code}`}) before listening:\n${tail.join('\n')}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      keep(chunk);
      buf += chunk.toString('utf8');
      const m = /kinu listening on (http:\/\/\S+)/.exec(buf);
      if (m) { clearTimeout(timer); resolve(m[1]!); }
    });
  }).catch(async (e) => { child.kill('SIGKILL'); await exit; throw e; });

  return {
    child, pid: child.pid!, base,
    output: () => tail.join('\n'),
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exit;
      clearTimeout(force);
    },
  };
}

export function createClient(base: string, concurrency: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const url = new URL(base);

  function get(path: string): Promise<Sample & { width: number }> {
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
      const req = request({ agent, host: url.hostname, port: url.port, path, method: 'GET', headers: { accept: 'image/jpeg' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('error', reject);
        res.once('end', () => {
          const ms = performance.now() - t0;
          const body = Buffer.concat(chunks);
          const type = res.headers['content-type'] ?? '';
          if (res.statusCode !== 200 || type !== 'image/jpeg') {
            reject(new Error(`GET ${path}: ${res.statusCode} ${type}\n${body.subarray(0, 500).toString('utf8')}`));
            return;
          }
          const timing: Record<string, number> = {};
          for (const part of String(res.headers['server-timing'] ?? '').split(',')) {
            const m = /^\s*([\w-]+);dur=([\d.]+)/.exec(part);
            if (m) timing[m[1]!] = Number(m[2]);
          }
          resolve({ ms, bytes: body.length, timing, width: jpegWidth(body) });
        });
      });
      req.setTimeout(60_000, () => req.destroy(new Error(`GET ${path}: no answer in 60 s`)));
      req.once('error', (e) => reject(new Error(`GET ${path}: ${e.message}`)));
      req.end();
    });
  }

  return { get, close: () => agent.destroy() };
}

/** Width from the first SOFn marker of a JPEG, or -1: a cheap check that the right size came back. */
export function jpegWidth(b: Buffer): number {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return -1;
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return -1;
    const marker = b[i + 1]!;
    if (marker === 0xff) { i++; continue; }
    const len = b.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return b.readUInt16BE(i + 7);
    i += 2 + len;
  }
  return -1;
}
