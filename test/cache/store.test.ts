// The shared result store against a real S3-protocol server (s3rver, in-process on 127.0.0.1) through the
// real AWS SDK with path-style addressing; and against stores that are down or never answer.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { CacheEntry } from '../../src/cache/cache.ts';
import { createResultStore, parseStoreUrl } from '../../src/cache/store.ts';
import { createS3Client } from '../../src/source/s3-client.ts';
import { closedPort, S3RVER_CREDENTIALS, startS3, startSilentServer, type S3TestServer } from './s3-server.ts';

const entry = (sourceKey: string, bytes: number, fill = 1, over: Partial<CacheEntry> = {}): CacheEntry => ({
  body: Buffer.alloc(bytes, fill),
  contentType: 'image/webp',
  etag: '"v1-abc"',
  lastModified: 1_700_000_000_000,
  varyAccept: false,
  sourceKey,
  ...over,
});
// Variant keys are base64url, 27 characters.
const vkey = (s: string) => createHash('sha256').update(s).digest('base64url').slice(0, 27);

let s3: S3TestServer;
before(async () => {
  s3 = await startS3();
});
after(async () => {
  await s3.stop();
});

let n = 0;
/** A store in its own prefix, so tests do not see each other's objects. */
function store(extra: { timeoutMs?: number } = {}) {
  const url = `s3://${s3.bucket}/results/t${++n}`;
  return { url, cache: createResultStore({ url, client: s3.client(), ...extra }) };
}

test('store: parses s3://bucket/prefix', () => {
  assert.deepEqual(parseStoreUrl('s3://b/some/prefix/'), { bucket: 'b', prefix: 'some/prefix/' });
  assert.deepEqual(parseStoreUrl('s3://b'), { bucket: 'b', prefix: '' });
  assert.throws(() => parseStoreUrl('http://b/x'));
});

test('store: a miss is undefined; set/get round trip gives the same bytes and fields', async () => {
  const { cache } = store();
  assert.equal(cache.tier, 'store');
  assert.equal(await cache.get(vkey('a')), undefined);
  const body = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) & 0xff));
  const e = entry('fotos/café ü/日本.jpg', 0, 0, { body, varyAccept: true, contentType: 'application/json' });
  await cache.set(vkey('a'), e);
  const got = await cache.get(vkey('a'));
  assert.ok(got);
  assert.ok(got.body.equals(body));
  assert.deepEqual({ ...got, body: undefined }, { ...e, body: undefined });
  await cache.close();
});

test('store: another instance on the same prefix sees the variant', async () => {
  const { url, cache: a } = store();
  const b = createResultStore({ url, client: s3.client() });
  await a.set(vkey('shared'), entry('s.png', 500, 9));
  const got = await b.get(vkey('shared'));
  assert.ok(got?.body.equals(Buffer.alloc(500, 9)));
});

test('store: object layout is <prefix>/v/<variant> plus a marker under <prefix>/s/<sha256(source)>/', async () => {
  const { cache } = store();
  const client = s3.client();
  await cache.set(vkey('l'), entry('dir/x.jpg', 10));
  const keys = (await client.list(s3.bucket, `results/t${n}/`)).sort();
  const hash = createHash('sha256').update('dir/x.jpg').digest('hex');
  assert.deepEqual(keys, [`results/t${n}/s/${hash}/${vkey('l')}`, `results/t${n}/v/${vkey('l')}`]);
});

test('store: purge removes every variant of one original and only those', async () => {
  const { cache } = store();
  await cache.set(vkey('a1'), entry('a.jpg', 10, 1));
  await cache.set(vkey('a2'), entry('a.jpg', 20, 2));
  await cache.set(vkey('b1'), entry('b.jpg', 30, 3));
  assert.equal(await cache.purge('a.jpg'), 2);
  assert.equal(await cache.get(vkey('a1')), undefined);
  assert.equal(await cache.get(vkey('a2')), undefined);
  assert.ok((await cache.get(vkey('b1')))?.body.equals(Buffer.alloc(30, 3)));
  assert.equal(await cache.purge('a.jpg'), 0);
  assert.equal(await cache.purge('never-stored.jpg'), 0);
  const left = await s3.client().list(s3.bucket, `results/t${n}/`);
  assert.equal(left.length, 2, `only b.jpg's data and marker remain: ${left.join(', ')}`);
});

test('store: a damaged object is a miss (same length other bytes, truncated, no metadata)', async () => {
  const { cache } = store();
  const client = s3.client();
  const dataKey = (k: string) => `results/t${n}/v/${k}`;
  for (const k of ['x', 'y', 'z']) await cache.set(vkey(k), entry('d.jpg', 1000, 5));
  const original = await client.get(s3.bucket, dataKey(vkey('x')));
  assert.ok(original);

  // Same length and metadata, one byte different: only the checksum can tell.
  const flipped = Buffer.from(original.body);
  flipped[500] = flipped[500]! ^ 0xff;
  await client.put(s3.bucket, dataKey(vkey('x')), flipped, 'image/webp', original.metadata);
  assert.equal(await cache.get(vkey('x')), undefined);

  await client.put(s3.bucket, dataKey(vkey('y')), original.body.subarray(0, 600), 'image/webp', original.metadata);
  assert.equal(await cache.get(vkey('y')), undefined);

  await client.put(s3.bucket, dataKey(vkey('z')), original.body, 'image/webp', {});
  assert.equal(await cache.get(vkey('z')), undefined);

  // And a rewrite through the store heals it.
  await cache.set(vkey('x'), entry('d.jpg', 1000, 5));
  assert.ok(await cache.get(vkey('x')));
});

test('store: keys that are not variant keys are misses and are not stored', async () => {
  const { cache } = store();
  await cache.set('../escape', entry('e.jpg', 10));
  assert.equal(await cache.get('../escape'), undefined);
  assert.deepEqual(await s3.client().list(s3.bucket, `results/t${n}/`), []);
});

test('store: entries above maxBytes are not stored', async () => {
  const url = `s3://${s3.bucket}/results/t${++n}`;
  const cache = createResultStore({ url, client: s3.client(), maxBytes: 100 });
  await cache.set(vkey('big'), entry('b.jpg', 101));
  await cache.set(vkey('ok'), entry('b.jpg', 100));
  assert.equal(await cache.get(vkey('big')), undefined);
  assert.ok(await cache.get(vkey('ok')));
});

test('store: a store that refuses connections is a quick miss and set does not throw', async () => {
  const endpoint = await closedPort();
  const cache = createResultStore({
    url: 's3://b/p',
    client: createS3Client({ endpoint, credentials: S3RVER_CREDENTIALS, region: 'us-east-1' }),
    timeoutMs: 2000,
  });
  const t0 = performance.now();
  assert.equal(await cache.get(vkey('a')), undefined);
  await cache.set(vkey('a'), entry('a.jpg', 10));
  assert.ok(performance.now() - t0 < 2000, `took ${performance.now() - t0} ms`);
  await assert.rejects(cache.purge('a.jpg'));
  await cache.close();
});

test('store: s3rver stopped mid-life: get is a miss, set does not throw', async () => {
  const own = await startS3('stopped');
  const cache = createResultStore({ url: `s3://${own.bucket}/p`, client: own.client(), timeoutMs: 1000 });
  await cache.set(vkey('a'), entry('a.jpg', 10));
  assert.ok(await cache.get(vkey('a')));
  await own.stop();
  const t0 = performance.now();
  assert.equal(await cache.get(vkey('a')), undefined);
  await cache.set(vkey('b'), entry('b.jpg', 10));
  assert.ok(performance.now() - t0 < 2500, `took ${performance.now() - t0} ms`);
});

test('store: a store that never answers costs one deadline, then the breaker skips it', async () => {
  const silent = await startSilentServer();
  const client = createS3Client({ endpoint: silent.endpoint, credentials: S3RVER_CREDENTIALS, region: 'us-east-1' });
  const cache = createResultStore({
    url: 's3://b/p',
    client,
    timeoutMs: 200,
    breaker: { failures: 2, cooldownMs: 60_000 },
  });
  try {
    let t0 = performance.now();
    assert.equal(await cache.get(vkey('a')), undefined);
    const first = performance.now() - t0;
    assert.ok(first >= 150 && first < 1500, `first get took ${first} ms`);
    await cache.set(vkey('a'), entry('a.jpg', 10)); // second failure opens the breaker
    const seen = silent.connections();
    t0 = performance.now();
    for (let i = 0; i < 5; i++) assert.equal(await cache.get(vkey('a')), undefined);
    await cache.set(vkey('a'), entry('a.jpg', 10));
    assert.ok(performance.now() - t0 < 100, `open breaker still waited ${performance.now() - t0} ms`);
    assert.equal(silent.connections(), seen, 'no new connections while the breaker is open');
  } finally {
    await cache.close();
    await silent.stop();
  }
});

test('s3 client: 404 is undefined, deleteMany counts, every call has a deadline and honours the caller signal', async () => {
  const client = s3.client();
  assert.equal(await client.get(s3.bucket, 'client/none'), undefined);
  await client.put(s3.bucket, 'client/a', Buffer.from('aa'), 'text/plain', { k: 'v' });
  await client.put(s3.bucket, 'client/b', Buffer.from('bbb'), 'text/plain', {});
  const a = await client.get(s3.bucket, 'client/a');
  assert.equal(a?.body.toString(), 'aa');
  assert.equal(a?.contentType, 'text/plain');
  assert.deepEqual(a?.metadata, { k: 'v' });
  await assert.rejects(client.get(s3.bucket, 'client/b', { maxBytes: 2 }), RangeError);
  assert.deepEqual((await client.list(s3.bucket, 'client/')).sort(), ['client/a', 'client/b']);
  assert.equal(await client.deleteMany(s3.bucket, ['client/a', 'client/b']), 2);
  assert.deepEqual(await client.list(s3.bucket, 'client/'), []);
  await assert.rejects(client.get('no-such-bucket', 'x'), 'a missing bucket is an error, not a missing object');

  const silent = await startSilentServer();
  const slow = createS3Client({ endpoint: silent.endpoint, credentials: S3RVER_CREDENTIALS, timeoutMs: 150 });
  try {
    const t0 = performance.now();
    await assert.rejects(slow.list('b', 'p'), (e: Error) => e.name === 'TimeoutError');
    assert.ok(performance.now() - t0 < 1000);
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('caller gave up')), 50);
    await assert.rejects(
      slow.put('b', 'k', Buffer.from('x'), 'text/plain', {}, { signal: ac.signal, timeoutMs: 10_000 }),
      /caller gave up/,
    );
  } finally {
    slow.destroy();
    await silent.stop();
  }
});
