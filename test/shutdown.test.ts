// Graceful shutdown of a real `kinu serve` child. A request is held in flight by a client that stops reading
// a large original (TCP backpressure stalls the server's write), so nothing here depends on timing.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bigJpegDir, onLines } from './helpers.ts';
import { until } from './http/fakes.ts';

const BIN = fileURLToPath(new URL('../bin/kinu.js', import.meta.url));
/** Far more than loopback socket buffers hold, so a client that does not read keeps the response in flight. */
const BIG = 48 * 1024 * 1024;

const sourceDir = (t: { after(fn: () => void): void }) => bigJpegDir(t, 'kinu-shutdown-', BIG);

interface Kinu {
  child: ChildProcess;
  port: number;
  logs: Record<string, unknown>[];
  exit: Promise<number | null>;
}

async function start(args: string[]): Promise<Kinu> {
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--host', '127.0.0.1', '--port', '0', '--log-level', 'info', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const logs: Record<string, unknown>[] = [];
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const port = await new Promise<number>((resolve, reject) => {
    onLines(child.stdout!, (line) => {
      const m = /^kinu listening on http:\/\/127\.0\.0\.1:(\d+) /.exec(line);
      if (m) resolve(Number(m[1]));
      else if (line.startsWith('{')) logs.push(JSON.parse(line) as Record<string, unknown>);
    });
    void exit.then((code) => reject(new Error(`kinu exited ${code}: ${err}`)));
  });
  return { child, port, logs, exit };
}

/** A raw keep-alive connection that records every byte it receives. */
async function socketTo(port: number): Promise<{ socket: Socket; received: () => Buffer; ended: Promise<void> }> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => {});
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, received: () => Buffer.concat(chunks), ended };
}

const get = (path: string, id: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${id}\r\n\r\n`;

/** Splits a byte stream of Content-Length-framed responses. */
function responses(buf: Buffer): { status: number; headers: Record<string, string>; body: Buffer }[] {
  const out = [];
  let at = 0;
  while (at < buf.length) {
    const end = buf.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const [statusLine, ...lines] = buf.subarray(at, end).toString('latin1').split('\r\n');
    const headers = Object.fromEntries(
      lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
    );
    const length = Number(headers['content-length']);
    out.push({ status: Number(statusLine!.split(' ')[1]), headers, body: buf.subarray(end + 4, end + 4 + length) });
    at = end + 4 + length;
  }
  return out;
}

async function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

test('SIGTERM: in-flight requests finish, ready and new image requests get 503, no new connections, exit 0', {
  timeout: 60_000,
}, async (t) => {
  const kinu = await start(['--source', sourceDir(t), '--drain-timeout', '30']);
  const a = await socketTo(kinu.port);
  const b = await socketTo(kinu.port);
  a.socket.write(get('/big.jpg', 'held-a'));
  b.socket.write(get('/big.jpg', 'held-b'));
  await until(() => a.received().length > 0 && b.received().length > 0, 'both responses started');
  a.socket.pause();
  b.socket.pause();

  kinu.child.kill('SIGTERM');
  await until(() => kinu.logs.some((l) => l.msg === 'shutting down: finishing in-flight requests'), 'shutdown logged');
  // The listener is closed while both responses are still in flight.
  let closed = false;
  for (let i = 0; i < 100 && !closed; i++) closed = await refused(kinu.port);
  assert.ok(closed, 'new connections are refused');

  // Requests arriving on the open connections during the drain: parsed once the big responses are read.
  a.socket.write(get('/_kinu/ready', 'late-ready'));
  b.socket.write(get('/small.jpg?w=10', 'late-image'));
  a.socket.resume();
  b.socket.resume();
  await Promise.all([a.ended, b.ended]);
  assert.equal(await kinu.exit, 0);

  const [bigA, ready] = responses(a.received());
  const [bigB, image] = responses(b.received());
  for (const big of [bigA!, bigB!]) {
    assert.equal(big.status, 200);
    assert.equal(big.body.length, BIG, 'the in-flight response was sent whole');
  }
  assert.equal(ready!.status, 503);
  assert.equal(JSON.parse(ready!.body.toString()).code, 'not_ready');
  assert.equal(ready!.headers['x-request-id'], 'late-ready');
  assert.equal(image!.status, 503);
  assert.equal(JSON.parse(image!.body.toString()).code, 'shutting_down');
  assert.equal(image!.headers['x-request-id'], 'late-image');
  assert.equal(image!.headers.connection, 'close');

  const access = kinu.logs.filter((l) => l.msg === 'request');
  assert.deepEqual(access.map((l) => [l.reqId, l.status]).sort(), [
    ['held-a', 200],
    ['held-b', 200],
    ['late-image', 503],
    ['late-ready', 503],
  ]);
  assert.ok(!kinu.logs.some((l) => l.msg === 'drain deadline passed: closing the connections still open'));
  assert.ok(kinu.logs.some((l) => l.msg === 'stopped'));
});

test('a keep-alive connection left idle after its in-flight response does not hold the exit', {
  timeout: 60_000,
}, async (t) => {
  // Below node's 5 s keep-alive timeout: were the idle connection kept until then, the deadline would pass first.
  const kinu = await start(['--source', sourceDir(t), '--drain-timeout', '4']);
  const a = await socketTo(kinu.port);
  a.socket.write(get('/big.jpg', 'keep'));
  await until(() => a.received().length > 0, 'response started');
  a.socket.pause();
  kinu.child.kill('SIGTERM');
  await until(() => kinu.logs.some((l) => l.msg === 'shutting down: finishing in-flight requests'), 'shutdown logged');
  a.socket.resume();
  // The client sends nothing more and keeps its end open: kinu must not wait for the deadline.
  assert.equal(await kinu.exit, 0);
  const [big] = responses(a.received());
  assert.equal(big!.body.length, BIG);
  assert.ok(!kinu.logs.some((l) => l.msg === 'drain deadline passed: closing the connections still open'));
});

test('SIGINT with a request still in flight at the drain deadline: its connection is closed, exit 0', {
  timeout: 60_000,
}, async (t) => {
  const kinu = await start(['--source', sourceDir(t), '--drain-timeout', '0.5']);
  const a = await socketTo(kinu.port);
  a.socket.write(get('/big.jpg', 'stuck'));
  await until(() => a.received().length > 0, 'response started');
  a.socket.pause();
  kinu.child.kill('SIGINT');
  assert.equal(await kinu.exit, 0);
  a.socket.resume();
  await a.ended;
  assert.ok(a.received().length < BIG, 'the stuck response was cut');
  assert.ok(kinu.logs.some((l) => l.msg === 'drain deadline passed: closing the connections still open'));
  const line = kinu.logs.find((l) => l.msg === 'request' && l.reqId === 'stuck');
  assert.equal(line?.aborted, true);
});
