// Slow and silent clients over raw sockets against a listening server: headers dripped past
// KINU_HEADERS_TIMEOUT, an answer never read past KINU_WRITE_TIMEOUT, connections over KINU_MAX_CONNECTIONS,
// bodies dripped to other routes past KINU_REQUEST_TIMEOUT, while an honest slow upload within
// KINU_UPLOAD_TIMEOUT succeeds. Bounds are small here; waits are generous upper bounds, never timings.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { KinuServer } from '../../src/server.ts';
import { corpus, noisePng, tempDir, testServer } from '../helpers.ts';
import { createFileSource } from '../../src/source/file.ts';
import { heldSource, listen } from './fakes.ts';

const TOKEN = 'connections-test-token-0123';
const JPEG = readFileSync(corpus('metadata/gps-nikon.jpg')); // 640×480, 158 KiB

interface Client {
  socket: Socket;
  data(): Buffer;
  closed: Promise<void>;
  isClosed(): boolean;
}

const clients: Socket[] = [];
/** Ends every client a test left open, so a server that never cuts one can still close. */
const hangUp = () => {
  for (const s of clients.splice(0)) s.destroy();
};

function open(port: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    clients.push(socket);
    const chunks: Buffer[] = [];
    let closed = false;
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {}); // a reset is one way of being closed
    const done = new Promise<void>((r) =>
      socket.once('close', () => {
        closed = true;
        r();
      }),
    );
    socket.once('connect', () =>
      resolve({ socket, data: () => Buffer.concat(chunks), closed: done, isClosed: () => closed }),
    );
    socket.once('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves when `p` does, or fails after `ms` (a generous bound: what it guards is "never", not "how fast"). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_r, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([p, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** Writes `parts` one after another with `gapMs` between them, until the socket closes. */
async function drip(socket: Socket, parts: (string | Buffer)[], gapMs: number): Promise<void> {
  for (const part of parts) {
    if (socket.destroyed || !socket.writable) return;
    socket.write(part);
    await sleep(gapMs);
  }
}

function parse(raw: Buffer): { status: number; headers: Record<string, string>; body: Buffer } {
  const end = raw.indexOf('\r\n\r\n');
  assert.ok(end > 0, `no complete HTTP answer in ${JSON.stringify(raw.subarray(0, 200).toString())}`);
  const [line, ...rest] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const h of rest) {
    const i = h.indexOf(':');
    headers[h.slice(0, i).toLowerCase()] = h.slice(i + 1).trim();
  }
  return { status: Number(line!.split(' ')[1]), headers, body: raw.subarray(end + 4) };
}

/** A problem+json answer with nosniff, closing its connection. */
function assertProblem(raw: Buffer, status: number, code: string): void {
  const res = parse(raw);
  assert.equal(res.status, status, raw.toString().slice(0, 300));
  assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
  assert.equal(res.headers['x-content-type-options'], 'nosniff');
  assert.equal(res.headers.connection, 'close');
  const p = JSON.parse(res.body.toString()) as { code: string; status: number };
  assert.equal(p.code, code);
  assert.equal(p.status, status);
}

describe('slow and silent clients', () => {
  let app: KinuServer;
  let port: number;
  const dir = tempDir();
  // Originals wait for release(): an answer longer in the making than the write timeout.
  const held = heldSource(createFileSource({ root: dir }));
  before(async () => {
    // ~27 MB: far more than the socket buffers of both ends hold.
    writeFileSync(join(dir, 'noise.png'), await noisePng(3000));
    ({ app } = testServer(
      {
        KINU_SOURCE: dir,
        KINU_TOKEN: TOKEN,
        KINU_HEADERS_TIMEOUT: '0.5',
        KINU_REQUEST_TIMEOUT: '0.5',
        KINU_UPLOAD_TIMEOUT: '20',
        KINU_WRITE_TIMEOUT: '0.5',
      },
      { source: held.source },
    ));
    port = await listen(app);
  });
  after(async () => {
    held.release();
    hangUp();
    await app.close();
  });

  test('a client dripping its headers is answered 408 problem+json and cut', async () => {
    const c = await open(port);
    const headers = [
      'GET /noise.png?w=10 HTTP/1.1\r\n',
      'Host: kinu\r\n',
      ...Array.from({ length: 200 }, (_, i) => `X-Drip-${i}: ${i}\r\n`),
    ];
    void drip(c.socket, headers, 100);
    await within(c.closed, 10_000, 'the server to close a connection whose headers never end');
    assertProblem(c.data(), 408, 'request_timeout');
  });

  test('an answer the client never reads is cut after the write timeout, not while it is being made', async () => {
    const serverSide = new Promise<Socket>((r) => app.server.once('connection', r));
    const c = await open(port);
    const server = await serverSide;
    let serverClosed = false;
    const closing = new Promise<void>((r) =>
      server.once('close', () => {
        serverClosed = true;
        r();
      }),
    );
    c.socket.pause(); // reads nothing: the server's writes stall once both sockets' buffers are full
    c.socket.write('GET /noise.png HTTP/1.1\r\nHost: kinu\r\n\r\n');
    await sleep(1500); // three write timeouts while the source holds the original: nothing to write yet
    assert.equal(serverClosed, false, 'the connection was cut while its answer was being made');
    held.release();
    await within(closing, 15_000, 'the server to give up an answer nobody reads');
    // What reached the client before the cut is less than the whole answer.
    c.socket.resume();
    await within(c.closed, 10_000, 'the client to see the end');
    const res = parse(c.data());
    assert.equal(res.status, 200);
    assert.ok(
      res.body.length < Number(res.headers['content-length']),
      `got ${res.body.length} of ${res.headers['content-length']} bytes`,
    );
  });

  test('an honest slow upload within KINU_UPLOAD_TIMEOUT succeeds; a body dripped as slowly to another route is cut', async () => {
    const parts = 15; // over ~1.5 s: three times KINU_REQUEST_TIMEOUT
    const size = Math.ceil(JPEG.length / parts);
    const slowly = (socket: Socket) =>
      drip(
        socket,
        Array.from({ length: parts }, (_, i) => JPEG.subarray(i * size, (i + 1) * size)),
        100,
      );
    const upload = await open(port);
    upload.socket.write(
      `PUT /_kinu/objects/slow/upload.jpg HTTP/1.1\r\nHost: kinu\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: ${JPEG.length}\r\nConnection: close\r\n\r\n`,
    );
    const other = await open(port);
    // Announces more than it sends, and keeps sending (activity Node's idle timers would count): a body that never ends.
    other.socket.write(`POST /noise.png HTTP/1.1\r\nHost: kinu\r\nContent-Length: ${JPEG.length * 10}\r\n\r\n`);
    void drip(
      other.socket,
      Array.from({ length: 300 }, (_, i) => JPEG.subarray(i * 100, i * 100 + 100)),
      100,
    );
    await slowly(upload.socket);

    await within(upload.closed, 15_000, 'the upload answer');
    const res = parse(upload.data());
    assert.equal(res.status, 201, res.body.toString());
    assert.ok(readFileSync(join(dir, 'slow/upload.jpg')).equals(JPEG));
    // The 405 comes at once; the connection (whose body Node would read to its end) goes with the request timeout.
    await within(other.closed, 10_000, 'the server to close a connection whose body is dripped');
    assert.equal(parse(other.data()).status, 405);
  });

  test('an upload refused for its token is answered at once and its body not read', async () => {
    const c = await open(port);
    c.socket.write(`PUT /_kinu/objects/x.jpg HTTP/1.1\r\nHost: kinu\r\nContent-Length: ${JPEG.length * 10}\r\n\r\n`);
    void drip(
      c.socket,
      Array.from({ length: 300 }, (_, i) => JPEG.subarray(i * 100, i * 100 + 100)),
      100,
    );
    // Otherwise the connection would stay for KINU_UPLOAD_TIMEOUT (20 s here) while the stranger drips.
    await within(c.closed, 10_000, 'the server to close a refused upload');
    const res = parse(c.data());
    assert.equal(res.status, 401);
    assert.equal(res.headers.connection, 'close');
  });

  test('headers over 16 KiB are answered 431 problem+json; a malformed request 400 problem+json', async () => {
    const big = await open(port);
    big.socket.write(`GET /noise.png HTTP/1.1\r\nHost: kinu\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    await within(big.closed, 10_000, 'the 431');
    assertProblem(big.data(), 431, 'headers_too_large');

    const bad = await open(port);
    bad.socket.write('GET /noise.png HTTP/1.1\r\nHost: kinu\r\nBad Header\r\n\r\n');
    await within(bad.closed, 10_000, 'the 400');
    assertProblem(bad.data(), 400, 'bad_request');
  });
});

describe('an upload dripped past KINU_UPLOAD_TIMEOUT', () => {
  test('is answered 408 problem+json and cut', async () => {
    const { app } = testServer({
      KINU_SOURCE: tempDir(),
      KINU_TOKEN: TOKEN,
      KINU_HEADERS_TIMEOUT: '0.5',
      KINU_REQUEST_TIMEOUT: '0.5',
      KINU_UPLOAD_TIMEOUT: '1',
    });
    try {
      const port = await listen(app);
      const c = await open(port);
      c.socket.write(
        `PUT /_kinu/objects/never.jpg HTTP/1.1\r\nHost: kinu\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: ${JPEG.length}\r\n\r\n`,
      );
      void drip(
        c.socket,
        Array.from({ length: 200 }, (_, i) => JPEG.subarray(i * 100, i * 100 + 100)),
        100,
      );
      await within(c.closed, 15_000, 'the server to close an upload that never ends');
      assertProblem(c.data(), 408, 'request_timeout');
    } finally {
      hangUp();
      await app.close();
    }
  });
});

describe('KINU_MAX_CONNECTIONS', () => {
  test('connections over the cap are closed unanswered; those under it are served', async () => {
    const { app } = testServer({ KINU_MAX_CONNECTIONS: '2' });
    try {
      const port = await listen(app);
      const a = await open(port);
      const b = await open(port);
      await within(
        (async () => {
          while ((await count(app)) < 2) await sleep(10);
        })(),
        10_000,
        'two connections',
      );
      const c = await open(port); // the kernel completes the handshake; Node closes it at once
      c.socket.write('GET /_kinu/health HTTP/1.1\r\nHost: kinu\r\n\r\n');
      await within(c.closed, 10_000, 'the connection over the cap to be closed');
      assert.equal(c.data().length, 0, 'a connection over the cap gets no answer');
      for (const ok of [a, b]) {
        ok.socket.write('GET /_kinu/health HTTP/1.1\r\nHost: kinu\r\nConnection: close\r\n\r\n');
        await within(ok.closed, 10_000, 'an answer under the cap');
        assert.equal(parse(ok.data()).status, 200);
      }
    } finally {
      hangUp();
      await app.close();
    }
  });
});

function count(app: KinuServer): Promise<number> {
  return new Promise((resolve, reject) => app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}
