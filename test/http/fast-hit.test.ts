// The node:http fast path for memory hits and 304s: its reused header blocks, its hand-built access line and
// its write timeout must answer exactly what the general path would.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import sharp from 'sharp';
import type { Delivery } from '../../src/deliver.ts';
import { createAccess } from '../../src/http/access.ts';
import { createHeaderBlocks, deliveryHeaders } from '../../src/http/headers.ts';
import { createMetrics } from '../../src/metrics.ts';
import { IDENTITY } from '../../src/transform.ts';
import { corpus, decode, IDLE_LIMITER, noisePng, tempDir, testServer } from '../helpers.ts';
import { listen, raw } from './fakes.ts';

const CC = 'public, max-age=31536000, immutable';
type Variant = Delivery & { kind: 'variant' };
// One body for every case: a 200's block hangs off its body, so each change below is a change under the same key.
const BODY = Buffer.alloc(10);
const variant = (over: Partial<Variant> = {}): Variant => ({
  kind: 'variant',
  status: 200,
  etag: '"abc"',
  lastModified: new Date('2026-01-02T03:04:05Z'),
  contentType: 'image/jpeg',
  varyAccept: false,
  sourceKey: 'a b/c.jpg',
  cache: 'memory',
  timings: { cache: 0.04 },
  body: BODY,
  ...over,
});
const asObject = (list: string[]) => Object.fromEntries(list.flatMap((v, i) => (i % 2 ? [] : [[v, list[i + 1]!]])));
const expected = (d: Variant, reqId: string) => ({
  ...Object.fromEntries(Object.entries(deliveryHeaders(d, CC)).map(([k, v]) => [k, String(v)])),
  'x-request-id': reqId,
});

test('a reused header block says what deliveryHeaders says, for every request and every change under one ETag', () => {
  const blocks = createHeaderBlocks(CC);
  const cases: Variant[] = [
    variant(),
    variant({ timings: { cache: 12.345 } }), // per-request Server-Timing
    variant({ body: Buffer.alloc(20) }), // new bytes under the same tag
    variant({ lastModified: new Date('2027-01-01T00:00:00Z') }),
    variant({ contentType: 'image/webp', varyAccept: true }),
    variant({ stale: 'source_failed' }),
    variant({ sourceKey: 'other.jpg', cache: 'disk' }),
    variant({ quality: 63 }), // q=auto's choice, X-Kinu-Quality
    variant({ etag: '"other"' }), // the same bytes under another variant's tag
    variant({ etag: '"other"', cache: 'disk' }),
    variant({ timings: {} }), // no Server-Timing at all
    variant(),
    variant({ status: 304, body: undefined, timings: {} }),
    variant({ status: 304, body: undefined, timings: {}, lastModified: new Date('2028-01-01T00:00:00Z') }),
  ];
  cases.forEach((d, i) => {
    const list = blocks(d, `id-${i}`);
    assert.equal(list.length % 2, 0);
    assert.deepEqual(asObject(list), expected(d, `id-${i}`), `case ${i}`);
    assert.deepEqual(
      list.filter((_, j) => j % 2 === 0),
      [...Object.keys(deliveryHeaders(d, CC)), 'x-request-id'],
      `order, case ${i}`,
    );
  });
});

test('Server-Timing: a hit under 10 ms from the table, to the nearest tenth; other timings written out', () => {
  const timing = (timings: Variant['timings']) => deliveryHeaders(variant({ timings }), CC)['server-timing'];
  assert.equal(timing({ cache: 0.04 }), 'cache;dur=0.0');
  assert.equal(timing({ cache: 3.26 }), 'cache;dur=3.3');
  assert.equal(timing({ cache: 9.94 }), 'cache;dur=9.9');
  assert.equal(timing({ cache: 9.96 }), 'cache;dur=10.0');
  assert.equal(timing({ cache: 12.345 }), 'cache;dur=12.3');
  assert.equal(timing({ cache: 0.2, fetch: 1.25, encode: 7 }), 'cache;dur=0.2, fetch;dur=1.3, encode;dur=7.0');
  assert.equal(timing({}), undefined);
});

test('the access line written directly is the line pino writes for the same fields', async () => {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const log = pino({ level: 'info' }, stream);
  const access = createAccess({
    log,
    metrics: createMetrics({
      limiter: IDLE_LIMITER,
    }),
  });
  const urls = ['/a.jpg?w=1', '/"quoted"\\/ü%20\u0001.jpg?x=<y>', undefined];
  for (const [i, url] of urls.entries()) {
    for (const cache of ['memory', undefined]) {
      const req = { method: i === 2 ? undefined : 'HEAD', url } as unknown as IncomingMessage;
      access.done(req, { reqId: `r-${i}`, status: 304, bytes: 0, cache, started: performance.now() - 1.234 });
      assert.equal(lines.length, 2 * (2 * i + (cache ? 0 : 1)), 'written at the end of the turn, not at once');
      await new Promise(setImmediate);
      const mine = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
      assert.ok(lines.at(-1)!.endsWith('}\n'));
      log.info({ reqId: `r-${i}`, method: req.method, url, status: 304, bytes: 0, cache, ms: mine.ms }, 'request');
      const theirs = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
      assert.equal(typeof mine.time, 'number');
      assert.deepEqual(Object.keys(mine), Object.keys(theirs));
      assert.deepEqual({ ...mine, time: 0 }, { ...theirs, time: 0 });
    }
  }
});

test('access lines still queued when the process exits are written, through the batching log destination', () => {
  // A child exits in the same turn as its responses: the lines wait in the access queue and in log.ts's chunk.
  const src = (f: string) => JSON.stringify(fileURLToPath(new URL(`../../src/${f}`, import.meta.url)));
  const script = `
    import pino from 'pino';
    const { createAccess } = await import(${src('http/access.ts')});
    const { createMetrics } = await import(${src('metrics.ts')});
    const { logDestination } = await import(${src('log.ts')});
    const log = pino({ level: 'info' }, logDestination());
    const limiter = { stats: () => ({ active: 0, ahead: 0, queued: 0, rejected: 0, reservedBytes: 0, memoryWaiting: 0, memoryBytes: 0 }) };
    const access = createAccess({ log, metrics: createMetrics({ limiter }) });
    for (let i = 0; i < 3; i++)
      access.done({ method: 'GET', url: '/x-' + i + '.jpg' }, { reqId: 'id-' + i, status: 200, bytes: 7, cache: 'memory', started: performance.now() });
    process.exit(0);`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
  });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { reqId: string; url: string; msg: string });
  assert.deepEqual(
    lines.map((l) => [l.reqId, l.url, l.msg]),
    [0, 1, 2].map((i) => [`id-${i}`, `/x-${i}.jpg`, 'request']),
  );
});

test('a memory hit and a 304 from the fast path; after a new version of the original, its new headers and bytes', async (t) => {
  const dir = tempDir();
  copyFileSync(corpus('jpeg/progressive-kimono.jpg'), join(dir, 'p.jpg'));
  const token = 'fast-hit-test-token-0123';
  const { app } = testServer({ KINU_SOURCE: dir, KINU_TOKEN: token });
  t.after(() => app.close());
  const port = await listen(app);
  const url = '/p.jpg?w=40';
  const miss = await raw(port, url);
  assert.equal(miss.headers['x-kinu-cache'], 'miss');
  const hit = await raw(port, url, 'GET', { 'x-request-id': 'hit-1' });
  assert.equal(hit.headers['x-kinu-cache'], 'memory');
  assert.deepEqual(hit.body, miss.body);
  for (const h of [
    'etag',
    'last-modified',
    'cache-control',
    'x-kinu-key',
    'content-type',
    'x-content-type-options',
    'content-length',
  ]) {
    assert.equal(hit.headers[h], miss.headers[h], h);
  }
  assert.equal(hit.headers['x-request-id'], 'hit-1');
  assert.match(String(hit.headers['server-timing']), /^cache;dur=\d+\.\d$/);

  const notModified = await raw(port, url, 'GET', {
    'if-none-match': String(hit.headers.etag),
    'x-request-id': 'nm-1',
  });
  assert.equal(notModified.status, 304);
  assert.equal(notModified.body.length, 0);
  assert.equal(notModified.headers.etag, hit.headers.etag);
  assert.equal(notModified.headers['cache-control'], hit.headers['cache-control']);
  // RFC 9110 §15.4.5: no metadata a cache does not update its stored response with.
  for (const h of ['last-modified', 'x-kinu-key', 'x-kinu-cache']) assert.equal(notModified.headers[h], undefined, h);
  assert.equal(notModified.headers['x-request-id'], 'nm-1');
  assert.equal(notModified.headers['content-type'], undefined);
  assert.equal(notModified.headers['content-length'], undefined);

  // A new, different original under the same key: the variant, its tag and its headers change.
  const other = await sharp({ create: { width: 90, height: 30, channels: 3, background: '#0000ff' } })
    .jpeg()
    .toBuffer();
  const put = await fetch(`http://127.0.0.1:${port}/_kinu/objects/p.jpg`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'image/jpeg' },
    body: new Uint8Array(other),
  });
  assert.ok(put.ok, String(put.status));
  await raw(port, url); // made again
  const newHit = await raw(port, url);
  assert.equal(newHit.headers['x-kinu-cache'], 'memory');
  assert.notEqual(newHit.headers.etag, hit.headers.etag);
  assert.equal(Number(newHit.headers['content-length']), newHit.body.length);
  const img = await decode(newHit.body);
  assert.deepEqual([img.width, img.height], [40, 13]);
  const old = await raw(port, url, 'GET', { 'if-none-match': String(hit.headers.etag) });
  assert.equal(old.status, 200);
  assert.equal(old.headers.etag, newHit.headers.etag);
});

test("a disk hit and its 304 are answered before Fastify, with the general path's headers and bytes", async (t) => {
  const dir = tempDir();
  copyFileSync(corpus('jpeg/progressive-kimono.jpg'), join(dir, 'p.jpg'));
  const { app } = testServer({ KINU_SOURCE: dir, KINU_CACHE_DIR: tempDir(), KINU_MEMORY_CACHE_MB: '0' });
  t.after(() => app.close());
  const routed: string[] = []; // what reached Fastify
  app.addHook('onRequest', async (req) => {
    routed.push(req.url);
  });
  const port = await listen(app);
  const url = '/p.jpg?w=40';
  const miss = await raw(port, url);
  assert.equal(miss.headers['x-kinu-cache'], 'miss');
  assert.deepEqual(routed, [], 'the miss was made and answered before Fastify too');
  // The disk write is in the background: the fast path answers once it has landed.
  let hit = await raw(port, url, 'GET', { 'x-request-id': 'disk-1' });
  for (let i = 0; i < 50 && hit.headers['x-kinu-cache'] !== 'disk'; i++) {
    await new Promise((r) => setTimeout(r, 20));
    hit = await raw(port, url, 'GET', { 'x-request-id': 'disk-1' });
  }
  assert.equal(hit.headers['x-kinu-cache'], 'disk');
  assert.deepEqual(hit.body, miss.body);
  for (const h of ['etag', 'last-modified', 'cache-control', 'x-kinu-key', 'content-type', 'content-length'])
    assert.equal(hit.headers[h], miss.headers[h], h);
  assert.equal(hit.headers['x-request-id'], 'disk-1');
  const before = routed.length;
  await raw(port, url);
  const nm = await raw(port, url, 'GET', { 'if-none-match': String(hit.headers.etag) });
  assert.equal(nm.status, 304);
  assert.equal(routed.length, before, 'the disk hit and the 304 never reached Fastify');
  // Another size is a miss, made as usual.
  const other = await raw(port, '/p.jpg?w=30');
  assert.equal(other.headers['x-kinu-cache'], 'miss');
  assert.equal((await decode(other.body)).width, 30);
  assert.deepEqual(routed, []);
});

test('a memory hit the client never reads is cut after the write timeout', async (t) => {
  const dir = tempDir();
  // A JPEG of many MB from it: more than the socket buffers of both ends hold.
  writeFileSync(join(dir, 'noise.png'), await noisePng(2500));
  const { app } = testServer({ KINU_SOURCE: dir, KINU_WRITE_TIMEOUT: '0.5', KINU_MEMORY_CACHE_MB: '256' });
  t.after(() => app.close());
  const port = await listen(app);
  const url = '/noise.png?w=2500&fmt=jpeg&q=100';
  const made = await raw(port, url);
  assert.equal(made.status, 200);
  assert.ok(made.body.length > 8_000_000, `a variant of ${made.body.length} bytes`);

  const serverSide = new Promise<Socket>((r) => app.server.once('connection', r));
  const client = connect({ host: '127.0.0.1', port });
  client.on('error', () => {});
  const server = await serverSide;
  const closed = new Promise<void>((r) => server.once('close', () => r()));
  client.pause();
  client.write(`GET ${url} HTTP/1.1\r\nHost: kinu\r\n\r\n`);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    closed,
    new Promise((_r, reject) => {
      timer = setTimeout(() => reject(new Error('the server never cut a hit nobody reads')), 15_000);
    }),
  ]);
  clearTimeout(timer);
  client.destroy();
});

test('a hit whose URL names a file (imgproxy fn/att, Next.js) is answered by the fast path with its Content-Disposition', async (t) => {
  const { createServer } = await import('node:http');
  const { createFastHit } = await import('../../src/http/fast-hit.ts');
  const lines: number[] = [];
  const fast = createFastHit({
    mounts: [
      {
        prefix: '',
        parse: (url) => ({
          key: 'a.jpg',
          transform: { ...IDENTITY, width: 10 },
          ...(url.includes('att') ? { disposition: { type: 'attachment' as const, stem: 'holiday' } } : {}),
        }),
      },
    ],
    deliver: {
      peek: (r: { ifNoneMatch?: string }) => (r.ifNoneMatch ? variant({ status: 304, body: undefined }) : variant()),
    } as unknown as Parameters<typeof createFastHit>[0]['deliver'],
    cacheControl: CC,
    draining: () => false,
    log: (_req, l) => lines.push(l.status),
    localTiers: false,
    maxUrlLength: 4096,
    follow: () => {},
    route: (_req, res) => res.writeHead(599).end('not the fast path'),
  });
  const server = createServer((req, res) => fast(req, res, 'rid', performance.now()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  const port = (server.address() as { port: number }).port;
  const att = await raw(port, '/att');
  assert.equal(att.status, 200);
  assert.equal(att.headers['content-disposition'], 'attachment; filename="holiday.jpg"');
  assert.equal(att.headers.etag, '"abc"');
  const plain = await raw(port, '/plain');
  assert.equal(plain.status, 200);
  assert.equal(plain.headers['content-disposition'], undefined, 'the shared header block is not changed');
  const notModified = await raw(port, '/att', 'GET', { 'if-none-match': '"abc"' });
  assert.equal(notModified.status, 304);
  assert.equal(notModified.headers['content-disposition'], undefined);
  assert.deepEqual(lines, [200, 200, 304]);
});

test('a miss made before Fastify answers what the route answers: headers and bytes, and its failures as the same problem+json', async (t) => {
  const dir = tempDir();
  copyFileSync(corpus('jpeg/progressive-kimono.jpg'), join(dir, 'p.jpg'));
  writeFileSync(join(dir, 'broken.jpg'), readFileSync(corpus('jpeg/progressive-kimono.jpg')).subarray(0, 2000));
  writeFileSync(join(dir, 'text.jpg'), 'not an image at all');
  // Two servers on one source: the first answers over a socket (the fast path), the second through app.inject
  // (Fastify's route alone); each request is a miss on both.
  const fast = testServer({ KINU_SOURCE: dir });
  const routed = testServer({ KINU_SOURCE: dir });
  t.after(() => Promise.all([fast.app.close(), routed.app.close()]));
  const reached: string[] = [];
  fast.app.addHook('onRequest', async (req) => {
    reached.push(req.url);
  });
  const port = await listen(fast.app);
  const perRequest = new Set([
    'date',
    'connection',
    'keep-alive',
    'x-request-id',
    'server-timing',
    'transfer-encoding',
  ]);
  const comparable = (h: Record<string, unknown>) =>
    Object.fromEntries(
      Object.entries(h)
        .filter(([k]) => !perRequest.has(k))
        .map(([k, v]) => [k, String(v)]),
    );
  const cases: { url: string; method?: string; headers?: Record<string, string>; status: number }[] = [
    { url: '/p.jpg?w=40', status: 200 },
    { url: '/p.jpg?w=41&fmt=auto', headers: { accept: 'image/avif,image/webp,*/*' }, status: 200 },
    { url: '/p.jpg?w=42&q=auto&fmt=webp', status: 200 },
    { url: '/p.jpg?w=43', method: 'HEAD', status: 200 },
    { url: '/missing.jpg?w=40', status: 404 },
    { url: '/broken.jpg?w=40', status: 422 },
    { url: '/text.jpg?w=40', status: 415 },
  ];
  for (const c of cases) {
    const a = await raw(port, c.url, c.method, { ...c.headers, 'x-request-id': 'same-id' });
    const b = await routed.app.inject({
      url: c.url,
      method: c.method as 'GET' | 'HEAD' | undefined,
      headers: { ...c.headers, 'x-request-id': 'same-id' },
    });
    assert.equal(a.status, c.status, `${c.url}: ${a.body.toString().slice(0, 300)}`);
    assert.equal(b.statusCode, c.status, c.url);
    assert.deepEqual(comparable(a.headers), comparable(b.headers), c.url);
    assert.equal(a.headers['x-request-id'], 'same-id', c.url);
    if (c.status === 200) {
      assert.equal(a.headers['x-kinu-cache'], 'miss', c.url);
      assert.deepEqual(a.body, b.rawPayload, c.url);
      if (c.method !== 'HEAD') assert.equal((await decode(a.body)).width, Number(/w=(\d+)/.exec(c.url)![1]));
    } else {
      const [pa, pb] = [JSON.parse(a.body.toString()), JSON.parse(b.body)];
      assert.equal(pa.status, c.status);
      assert.deepEqual(pa, pb, c.url);
    }
  }
  // Only the failures reached Fastify, once each, to be rendered by its error handler.
  assert.deepEqual(
    reached,
    cases.filter((c) => c.status !== 200).map((c) => c.url),
  );
  // One access line (and its metrics) per request, whoever answered it.
  const metrics = await fetch(`http://127.0.0.1:${port}/_kinu/metrics`).then((r) => r.text());
  const count = (status: number) =>
    [...metrics.matchAll(new RegExp(`^kinu_http_requests_total\\{[^}]*status="${status}"[^}]*\\} (\\d+)`, 'gm'))]
      .map((m) => Number(m[1]))
      .reduce((x, y) => x + y, 0);
  for (const status of [200, 404, 422, 415])
    assert.equal(count(status), cases.filter((c) => c.status === status).length, `requests with status ${status}`);
});
