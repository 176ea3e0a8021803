// kinu serve --workers N: one listening line, requests spread over the worker processes, a dead worker
// replaced, and SIGTERM drains every worker and exits 0.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main } from '../src/cli.ts';
import { until } from './http/fakes.ts';

const BIN = fileURLToPath(new URL('../bin/kinu.js', import.meta.url));

function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    // A new connection each time, so the primary hands each to the next worker.
    request(url, { agent: false, headers: { connection: 'close' } }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); }).on('error', reject).end();
  });
}

test('a bad --workers value exits 2 before any worker is forked', async () => {
  const err: string[] = [];
  const code = await main(['serve', '--workers', 'lots'], {}, { out: () => {}, err: (s) => err.push(s) });
  assert.equal(code, 2);
  assert.match(err.join('\n'), /KINU_WORKERS \(--workers\)/);
});

test('--workers 2: serves from two processes, replaces a dead one, exits 0 on SIGTERM', { timeout: 60_000 }, async () => {
  const child = spawn(process.execPath, [BIN, 'serve', '--host', '127.0.0.1', '--port', '0', '--workers', '2', '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const logs: Record<string, unknown>[] = [];
  const listening: string[] = [];
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.startsWith('{')) logs.push(JSON.parse(line) as Record<string, unknown>);
      else if (line.startsWith('kinu listening on ')) listening.push(line);
    }
  });
  try {
    await until(() => listening.length > 0, 'the listening line');
    const base = /^kinu listening on (http:\/\/127\.0\.0\.1:\d+) \(source: .*examples\/images\)$/.exec(listening[0]!)?.[1];
    assert.ok(base, listening[0]);

    for (let i = 0; i < 6; i++) assert.equal(await get(`${base}/pigeons.jpg?w=40`), 200);
    await until(() => logs.filter((l) => l.msg === 'request').length === 6, 'six access lines');
    const pids = new Set(logs.filter((l) => l.msg === 'request').map((l) => l.pid as number));
    assert.equal(pids.size, 2, 'both workers served');
    assert.ok(!pids.has(child.pid!), 'the primary serves nothing');

    // A worker that dies is replaced, and the port keeps answering.
    const [victim] = pids;
    process.kill(victim!, 'SIGKILL');
    await until(() => logs.some((l) => l.msg === 'worker died: starting another'), 'the primary noticed');
    await until(() => logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('Server listening')).length === 3, 'a third worker listening');
    for (let i = 0; i < 4; i++) assert.equal(await get(`${base}/pigeons.jpg?w=41`), 200);
    assert.equal(listening.length, 1, 'one listening line, however many workers');

    child.kill('SIGTERM');
    assert.equal(await exit, 0);
    const stopped = new Set(logs.filter((l) => l.msg === 'stopped').map((l) => l.pid));
    assert.equal(stopped.size, 2, 'both live workers drained and stopped');
    assert.ok(!stopped.has(victim));
  } finally {
    child.kill('SIGKILL');
  }
});
