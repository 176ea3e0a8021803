// X-Request-Id: taken from the request when short and safe, else generated; echoed on every response (fast
// path, pipeline, problem+json, router errors). One JSON access-log line per request, captured from pino.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { requestId } from '../../src/http/access.ts';
import { createLimiter } from '../../src/pipeline/limiter.ts';
import type { ServerDeps } from '../../src/server.ts';
import { testServer } from '../helpers.ts';
import { heldSource, listen, raw, until } from './fakes.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface Line {
  msg: string;
  reqId?: string;
  method?: string;
  url?: string;
  status?: number;
  bytes?: number;
  cache?: string;
  ms?: number;
  aborted?: boolean;
  level: number;
}

/** A server on a real listener whose log lines are collected. */
async function logged(t: { after(fn: () => unknown): void }, env: Record<string, string> = {}, deps: ServerDeps = {}) {
  const lines: Line[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Line);
      cb();
    },
  });
  const { app } = testServer({ KINU_LOG_LEVEL: 'info', ...env }, { logger: { level: 'info', stream }, ...deps });
  t.after(() => app.close());
  const port = await listen(app);
  const access = () => lines.filter((l) => l.msg === 'request');
  return { app, port, lines, access };
}

test('a safe X-Request-Id is echoed on every kind of response, with one access-log line each', async (t) => {
  const { port, access } = await logged(t);
  const cases: [string, number, string | undefined][] = [
    ['/photos/hato-pigeons.jpg?w=12', 200, 'miss'], // Fastify route, pipeline
    ['/photos/hato-pigeons.jpg?w=12', 200, 'memory'], // node:http fast path
    ['/photos/nope.jpg?w=12', 404, undefined], // problem+json from the route
    ['/photos/hato-pigeons.jpg?w=0', 400, undefined], // problem+json from the dialect
    ['/%zz.jpg?w=1', 400, undefined], // router error (bad percent-encoding)
    ['/_kinu/health', 200, undefined],
    ['/_kinu/nope', 404, undefined],
  ];
  let i = 0;
  for (const [path, status, cache] of cases) {
    const id = `req-${i++}.a:b/c+d=e_F`;
    const res = await raw(port, path, 'GET', { 'x-request-id': id });
    assert.equal(res.status, status, path);
    assert.equal(res.headers['x-request-id'], id, path);
    assert.equal(res.headers['x-kinu-cache'], cache, path);
  }
  await until(() => access().length === cases.length, 'one access line per request');
  const lines = access();
  cases.forEach(([path, status, cache], n) => {
    const l = lines[n]!;
    assert.equal(l.reqId, `req-${n}.a:b/c+d=e_F`, path);
    assert.equal(l.method, 'GET');
    assert.equal(l.url, path);
    assert.equal(l.status, status, path);
    assert.equal(l.cache, cache, path);
    assert.equal(typeof l.ms, 'number');
    assert.ok(l.ms! >= 0);
    assert.equal(l.level, 30);
    assert.equal(l.aborted, undefined);
  });
  assert.ok(lines[0]!.bytes! > 0);
  assert.equal(lines[0]!.bytes, lines[1]!.bytes, 'the same variant, from the pipeline and from memory');
});

test('bytes in the access line are the body sent: none for HEAD and 304', async (t) => {
  const { port, access } = await logged(t);
  const full = await raw(port, '/photos/hato-pigeons.jpg?w=14');
  const head = await raw(port, '/photos/hato-pigeons.jpg?w=14', 'HEAD');
  const notModified = await raw(port, '/photos/hato-pigeons.jpg?w=14', 'GET', {
    'if-none-match': String(full.headers.etag),
  });
  const original = await raw(port, '/photos/hato-pigeons.jpg');
  const originalHead = await raw(port, '/photos/hato-pigeons.jpg', 'HEAD');
  assert.deepEqual(
    [full.status, head.status, notModified.status, original.status, originalHead.status],
    [200, 200, 304, 200, 200],
  );
  await until(() => access().length === 5, 'five access lines');
  assert.deepEqual(
    access().map((l) => l.bytes),
    [full.body.length, 0, 0, original.body.length, 0],
  );
  assert.ok(original.body.length > 100_000);
});

test('a missing, too long or unsafe X-Request-Id is replaced by a generated UUID', async (t) => {
  const { port, access } = await logged(t);
  const bad = ['x'.repeat(129), 'has space', 'quote"d', 'ünïcode', '', 'a,b'];
  const seen = new Set<string>();
  for (const id of [undefined, undefined, ...bad]) {
    const res = await raw(port, '/photos/hato-pigeons.jpg?w=12', 'GET', id === undefined ? {} : { 'x-request-id': id });
    const echoed = String(res.headers['x-request-id']);
    assert.match(echoed, UUID, JSON.stringify(id));
    seen.add(echoed);
  }
  assert.equal(seen.size, bad.length + 2, 'a new id per request');
  await until(() => access().length === bad.length + 2, 'access lines');
  assert.deepEqual(new Set(access().map((l) => l.reqId)), seen);
  const longest = await raw(port, '/photos/hato-pigeons.jpg?w=12', 'GET', { 'x-request-id': 'x'.repeat(128) });
  assert.equal(longest.headers['x-request-id'], 'x'.repeat(128));
});

test('errors logged during a request carry its id; 503 overloaded and shutting_down echo it', async (t) => {
  const held = heldSource();
  const { app, port, lines, access } = await logged(
    t,
    {},
    { source: held.source, limiter: createLimiter({ concurrency: 1, queue: 0 }) },
  );
  const first = raw(port, '/photos/hato-pigeons.jpg?w=20', 'GET', { 'x-request-id': 'first' });
  await until(() => held.state.entered === 1, 'first request holds the slot');
  const overloaded = await raw(port, '/photos/hato-pigeons.jpg?w=21', 'GET', { 'x-request-id': 'second' });
  assert.equal(overloaded.status, 503);
  assert.equal(overloaded.headers['x-request-id'], 'second');
  // The 503 is logged as an error by the error boundary, under the same id.
  assert.ok(lines.some((l) => l.msg !== 'request' && l.reqId === 'second' && l.level >= 50));
  held.release();
  assert.equal((await first).status, 200);
  app.kinu.drain();
  const draining = await raw(port, '/photos/hato-pigeons.jpg?w=22', 'GET', { 'x-request-id': 'third' });
  assert.equal(draining.status, 503);
  assert.equal(JSON.parse(draining.body.toString()).code, 'shutting_down');
  assert.equal(draining.headers['x-request-id'], 'third');
  await until(() => access().length === 3, 'three access lines');
  assert.deepEqual(
    access()
      .map((l) => [l.reqId, l.status])
      .sort(),
    [
      ['first', 200],
      ['second', 503],
      ['third', 503],
    ],
  );
});

test('a client that leaves before the answer still gets exactly one line, marked aborted', async (t) => {
  const held = heldSource();
  const { port, access } = await logged(t, {}, { source: held.source });
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write('GET /photos/hato-pigeons.jpg?w=30 HTTP/1.1\r\nHost: x\r\nX-Request-Id: leaver\r\n\r\n');
  await until(() => held.state.entered === 1, 'request waiting on the source');
  socket.destroy();
  await until(() => access().length === 1, 'the aborted request logged');
  held.release();
  const l = access()[0]!;
  assert.equal(l.reqId, 'leaver');
  assert.equal(l.aborted, true);
  assert.equal(l.status, 499);
  assert.equal(l.bytes, 0);
  // Nothing more is logged for it once the pipeline it started has finished.
  const later = await raw(port, '/_kinu/health');
  assert.equal(later.status, 200);
  await until(() => access().length === 2, 'the health request logged');
  assert.deepEqual(
    access()
      .map((x) => x.reqId)
      .filter((id) => id === 'leaver'),
    ['leaver'],
  );
});

test('at log level warn no access lines are written, but requests are still counted', async (t) => {
  const { app, port, lines } = await logged(t);
  app.log.level = 'warn';
  assert.equal((await raw(port, '/photos/hato-pigeons.jpg?w=12')).status, 200);
  assert.equal((await raw(port, '/photos/hato-pigeons.jpg?w=12')).status, 200);
  const metrics = (await raw(port, '/_kinu/metrics')).body.toString();
  assert.equal(lines.filter((l) => l.msg === 'request').length, 0);
  assert.match(metrics, /^kinu_http_requests_total\{route="image",method="GET",status="200"\} 2$/m);
});

test('generated ids are v4 UUIDs, every one different', () => {
  const ids = Array.from({ length: 20_000 }, () => requestId(undefined));
  for (const id of ids) assert.match(id, UUID);
  assert.equal(new Set(ids).size, ids.length);
  assert.equal(requestId('caller-id.1'), 'caller-id.1');
});
