import assert from 'node:assert/strict';
import { copyFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createFileSource } from '../../src/source/file.ts';
import type { Source } from '../../src/source/source.ts';
import { corpus, decode, tempDir, testServer } from '../helpers.ts';

const URL_ = '/photos/hato-pigeons.jpg?w=64&fmt=webp';

function counting(inner: Source) {
  const n = { stat: 0, read: 0 };
  const source: Source = {
    ...inner,
    stat: (k, o) => {
      n.stat++;
      return inner.stat(k, o);
    },
    read: (k, o) => {
      n.read++;
      return inner.read(k, o);
    },
  };
  return { source, n };
}

test('a repeat is a memory hit: same bytes and ETag, X-Kinu-Cache and Server-Timing say so', async () => {
  const { app } = testServer();
  const first = await app.inject({ url: URL_ });
  assert.equal(first.headers['x-kinu-cache'], 'miss');
  const second = await app.inject({ url: URL_ });
  assert.equal(second.statusCode, 200);
  assert.equal(second.headers['x-kinu-cache'], 'memory');
  assert.equal(second.headers.etag, first.headers.etag);
  assert.ok(second.rawPayload.equals(first.rawPayload));
  assert.match(String(second.headers['server-timing']), /^cache;dur=[\d.]+$/);
  assert.equal(second.headers['content-type'], 'image/webp');
  await app.close();
});

test('N concurrent requests for one new variant run the pipeline once', async () => {
  const { source, n } = counting(createFileSource({ root: corpus('') }));
  const { app } = testServer({}, { source });
  const results = await Promise.all(
    Array.from({ length: 12 }, () => app.inject({ url: '/photos/lunch-food.jpg?w=80' })),
  );
  assert.equal(n.read, 1);
  assert.ok(results.every((r) => r.statusCode === 200 && r.rawPayload.equals(results[0]!.rawPayload)));
  assert.equal((await decode(results[0]!.rawPayload)).width, 80);
  await app.close();
});

test('an error reaches every waiter and is not cached', async () => {
  const { source, n } = counting(createFileSource({ root: corpus('') }));
  const { app } = testServer({}, { source });
  const results = await Promise.all(
    Array.from({ length: 4 }, () => app.inject({ url: '/corrupt/truncated.png?w=10' })),
  );
  assert.ok(results.every((r) => r.statusCode === 422));
  assert.equal(n.read, 1);
  assert.equal((await app.inject({ url: '/corrupt/truncated.png?w=10' })).statusCode, 422);
  assert.equal(n.read, 2);
  await app.close();
});

test('an updated original is never answered with an old variant', async () => {
  const dir = tempDir();
  const file = join(dir, 'p.jpg');
  copyFileSync(corpus('orientation/Landscape_1.jpg'), file);
  const { app } = testServer({ KINU_SOURCE: dir, KINU_STAT_TTL: '0' });
  const before = await app.inject({ url: '/p.jpg?w=50' });
  assert.equal((await app.inject({ url: '/p.jpg?w=50' })).headers['x-kinu-cache'], 'memory');
  copyFileSync(corpus('orientation/Portrait_1.jpg'), file);
  utimesSync(file, new Date(), new Date(Date.now() + 5000));
  const after = await app.inject({ url: '/p.jpg?w=50' });
  assert.equal(after.headers['x-kinu-cache'], 'miss');
  assert.notEqual(after.headers.etag, before.headers.etag);
  const [b, a] = [await decode(before.rawPayload), await decode(after.rawPayload)];
  assert.equal(b.height, Math.round((1200 * 50) / 1800));
  assert.equal(a.height, 75);
  await app.close();
});

test('a 404 is remembered for KINU_STAT_TTL; other lookups are remembered too', async () => {
  const { source, n } = counting(createFileSource({ root: corpus('') }));
  const { app } = testServer({ KINU_STAT_TTL: '60' }, { source });
  for (let i = 0; i < 3; i++) assert.equal((await app.inject({ url: '/nope.jpg?w=10' })).statusCode, 404);
  for (let i = 0; i < 3; i++) assert.equal((await app.inject({ url: URL_ })).statusCode, 200);
  assert.equal(n.stat, 2);
  await app.close();
});

test('KINU_MEMORY_CACHE_MB=0 turns the memory tier off', async () => {
  const { app } = testServer({ KINU_MEMORY_CACHE_MB: '0' });
  await app.inject({ url: URL_ });
  assert.equal((await app.inject({ url: URL_ })).headers['x-kinu-cache'], 'miss');
  await app.close();
});

test('the disk tier survives a restart, then fills memory; purge empties every tier', async () => {
  const dir = tempDir();
  const env = { KINU_CACHE_DIR: dir };
  const one = testServer(env).app;
  const first = await one.inject({ url: URL_ });
  await one.kinu.cache.flush();
  await one.close();
  const two = testServer(env).app;
  const fromDisk = await two.inject({ url: URL_ });
  assert.equal(fromDisk.headers['x-kinu-cache'], 'disk');
  assert.ok(fromDisk.rawPayload.equals(first.rawPayload));
  assert.equal(fromDisk.headers['content-type'], 'image/webp');
  await two.kinu.cache.flush();
  assert.equal((await two.inject({ url: URL_ })).headers['x-kinu-cache'], 'memory');
  assert.equal(await two.kinu.cache.purge('photos/hato-pigeons.jpg'), 2);
  assert.equal((await two.inject({ url: URL_ })).headers['x-kinu-cache'], 'miss');
  await two.close();
});

test('fmt=auto variants are cached per Accept class and keep Vary: Accept on hits', async () => {
  const { app } = testServer();
  const url = '/photos/hato-pigeons.jpg?w=40&fmt=auto';
  const webp = { accept: 'image/webp,*/*' };
  await app.inject({ url, headers: webp });
  const hit = await app.inject({ url, headers: webp });
  assert.equal(hit.headers['x-kinu-cache'], 'memory');
  assert.equal(hit.headers['content-type'], 'image/webp');
  assert.equal(hit.headers.vary, 'Accept');
  const jpeg = await app.inject({ url, headers: { accept: '*/*' } });
  assert.equal(jpeg.headers['x-kinu-cache'], 'miss');
  assert.equal(jpeg.headers['content-type'], 'image/jpeg');
  await app.close();
});

test('over a real socket, memory hits and 304s take the fast path with the same headers', async () => {
  const { app } = testServer();
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const miss = await fetch(`${base}${URL_}`);
  const missBody = Buffer.from(await miss.arrayBuffer());
  const hit = await fetch(`${base}${URL_}`);
  assert.equal(hit.headers.get('x-kinu-cache'), 'memory');
  assert.match(hit.headers.get('server-timing') ?? '', /^cache;dur=[\d.]+$/);
  assert.ok(Buffer.from(await hit.arrayBuffer()).equals(missBody));
  for (const h of [
    'etag',
    'last-modified',
    'cache-control',
    'content-type',
    'content-length',
    'x-content-type-options',
  ]) {
    assert.equal(hit.headers.get(h), miss.headers.get(h), h);
  }
  const head = await fetch(`${base}${URL_}`, { method: 'HEAD' });
  assert.equal(head.headers.get('content-length'), String(missBody.length));
  const notModified = await fetch(`${base}${URL_}`, { headers: { 'if-none-match': miss.headers.get('etag')! } });
  assert.equal(notModified.status, 304);
  assert.equal(notModified.headers.get('etag'), miss.headers.get('etag'));
  // Errors still go through Fastify and its problem+json.
  const bad = await fetch(`${base}/photos/hato-pigeons.jpg?w=abc`);
  assert.equal(bad.status, 400);
  assert.match(bad.headers.get('content-type') ?? '', /problem\+json/);
  app.kinu.drain();
  assert.equal((await fetch(`${base}${URL_}`)).status, 503, 'a draining instance sends no hits either');
  await app.close();
});
