// The S3 source against a real S3-protocol server (s3rver) through the real SDK, and kinu serving from it:
// the same images as the file source, misses and byte limits, then faults injected by a proxy in between:
// retries, the breaker, timeouts, stale-if-error and readiness.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { createS3Source } from '../../src/source/s3.ts';
import { withResilience } from '../../src/source/resilient.ts';
import type { KinuError } from '../../src/errors.ts';
import { CORPUS, corpus, decode, testServer } from '../helpers.ts';
import { startS3, useS3rverCredentials, type S3TestServer } from '../cache/s3-server.ts';
import { problem } from '../http/fakes.ts';
import { startFaultProxy, type FaultProxy } from './fault-proxy.ts';

useS3rverCredentials();

const FILES = ['orientation/Landscape_6.jpg', 'png/rgba.png', 'gif/animated.gif', 'jpeg/progressive-kimono.jpg'].filter(
  (f) => {
    try {
      readFileSync(corpus(f));
      return true;
    } catch {
      return false;
    }
  },
);

let s3: S3TestServer;
before(async () => {
  s3 = await startS3();
  const c = s3.client();
  for (const f of FILES)
    await c.put(s3.bucket, `originals/${f}`, readFileSync(corpus(f)), 'application/octet-stream', {});
  await c.put(s3.bucket, 'originals/big.bin', Buffer.alloc(3 * 1024 * 1024, 7), 'application/octet-stream', {});
});
after(async () => {
  await s3.stop();
});

const s3env = (extra: Record<string, string> = {}) => ({
  KINU_SOURCE: `s3://${s3.bucket}/originals`,
  KINU_S3_ENDPOINT: s3.endpoint,
  KINU_STAT_TTL: '0',
  ...extra,
});

describe('S3 source adapter', () => {
  test('stat, read, get, list; the ETag is the version', async () => {
    assert.ok(FILES.length >= 3, 'corpus files for the S3 tests are missing');
    const src = createS3Source({ url: `s3://${s3.bucket}/originals/`, client: s3.client({ maxAttempts: 1 }) });
    const f = FILES[0]!;
    const bytes = readFileSync(corpus(f));
    const st = await src.stat(f, {});
    assert.equal(st.size, bytes.length);
    assert.match(st.version, /^[0-9a-f]{32}$/);
    assert.ok(st.lastModified.getTime() > 0);
    assert.deepEqual(await src.read(f, { maxBytes: 1e9 }), bytes);
    const o = await src.get(f, {});
    const chunks: Buffer[] = [];
    for await (const c of o.body) chunks.push(c as Buffer);
    assert.deepEqual(Buffer.concat(chunks), bytes);
    const keys = await src.list!({ limit: 100 });
    assert.ok(keys.includes(f) && keys.includes('big.bin'), keys.join(','));
    assert.deepEqual(await src.list!({ limit: 2 }), keys.slice(0, 2));
    assert.equal(await src.ready(), true);
  });

  test('missing key → not_found; over the byte limit → source_too_large before the body is read', async () => {
    const src = createS3Source({ url: `s3://${s3.bucket}/originals`, client: s3.client({ maxAttempts: 1 }) });
    await assert.rejects(src.stat('nope.jpg', {}), (e: KinuError) => e.code === 'not_found');
    await assert.rejects(src.read('nope.jpg', { maxBytes: 1e9 }), (e: KinuError) => e.code === 'not_found');
    await assert.rejects(
      src.read('big.bin', { maxBytes: 1024 * 1024 }),
      (e: KinuError) => e.code === 'source_too_large',
    );
  });

  test('put stores exactly the bytes (known length) and delete removes them', async () => {
    const src = createS3Source({ url: `s3://${s3.bucket}/scratch`, client: s3.client({ maxAttempts: 1 }) });
    const bytes = readFileSync(corpus(FILES[1]!));
    const st = await src.put!('a/b.png', bytes, { contentType: 'image/png' });
    assert.equal(st.size, bytes.length);
    const stored = await s3.client().get(s3.bucket, 'scratch/a/b.png');
    assert.deepEqual(stored?.body, bytes);
    assert.equal(stored?.contentType, 'image/png');
    assert.equal(await src.delete!('a/b.png', {}), true);
    assert.equal(await src.delete!('a/b.png', {}), false);
    assert.equal(await s3.client().get(s3.bucket, 'scratch/a/b.png'), undefined);
  });

  test('a wrong bucket is a permanent failure: not retried', async () => {
    const src = withResilience(
      createS3Source({ url: 's3://no-such-bucket/x', client: s3.client({ maxAttempts: 1 }) }),
      {
        timeoutMs: 5000,
        retries: 3,
        breakerFailures: 100,
        breakerCooldownMs: 1000,
      },
    );
    await assert.rejects(src.read('a.jpg', { maxBytes: 1e6 }), (e: KinuError) => e.code === 'source_failed');
    assert.equal(src.health().retries, 0);
  });
});

describe('kinu with KINU_SOURCE=s3://…', () => {
  test('serves the same images, originals and errors as the file source', async () => {
    const { app: fromS3 } = testServer(s3env());
    const { app: fromFiles } = testServer({ KINU_SOURCE: CORPUS });
    for (const f of FILES) {
      for (const q of ['?w=120&fmt=png', '?w=64&h=64&fit=cover&fmt=webp', '']) {
        const [a, b] = await Promise.all([fromS3.inject({ url: `/${f}${q}` }), fromFiles.inject({ url: `/${f}${q}` })]);
        assert.equal(a.statusCode, 200, `${f}${q}: ${a.body.slice(0, 200)}`);
        assert.equal(a.headers['content-type'], b.headers['content-type']);
        if (q === '') assert.deepEqual(a.rawPayload, readFileSync(corpus(f)));
        else {
          const [ma, mb] = await Promise.all([decode(a.rawPayload), decode(b.rawPayload)]);
          assert.deepEqual(
            [ma.width, ma.height, ma.format, ma.pages],
            [mb.width, mb.height, mb.format, mb.pages],
            `${f}${q}`,
          );
        }
      }
    }
    problem(await fromS3.inject({ url: '/missing.jpg?w=10' }), 404, 'not_found');
    problem(await fromS3.inject({ url: '/big.bin?w=10' }), 415, 'unsupported_format');
    const { app: small } = testServer(s3env({ KINU_MAX_BYTES: '1048576' }));
    problem(await small.inject({ url: '/big.bin?w=10' }), 413, 'source_too_large');
    problem(await small.inject({ url: '/big.bin' }), 413, 'source_too_large');
    const ready = await fromS3.inject({ url: '/_kinu/ready' });
    assert.equal(ready.statusCode, 200);
    await Promise.all([fromS3.close(), fromFiles.close(), small.close()]);
  });
});

describe('storage faults, through a proxy that misbehaves', () => {
  let proxy: FaultProxy;
  before(async () => {
    proxy = await startFaultProxy(s3.endpoint);
  });
  after(async () => {
    await proxy.stop();
  });
  const faultyEnv = (extra: Record<string, string> = {}) =>
    s3env({ KINU_S3_ENDPOINT: proxy.endpoint, KINU_SOURCE_RETRIES: '3', ...extra });
  const f = () => FILES[1]!;

  test('transient 500, 503 and resets are retried and the request succeeds', async () => {
    proxy.mode = 'pass';
    const { app } = testServer(faultyEnv());
    for (const fault of ['http500', 'http503', 'reset'] as const) {
      proxy.failNext(2, fault);
      const before = proxy.stats.faults;
      const res = await app.inject({ url: `/${f()}?w=${fault.length + 20}` });
      assert.equal(res.statusCode, 200, `${fault}: ${res.body.slice(0, 200)}`);
      assert.equal(proxy.stats.faults - before, 2, `${fault}: both injected faults were met`);
      assert.equal((await decode(res.rawPayload)).width, fault.length + 20);
    }
    assert.ok(app.kinu.source.health!().retries >= 6);
    await app.close();
  });

  test('retries are bounded: a store that keeps failing gives 502 after 1 + retries attempts', async () => {
    proxy.mode = 'http503';
    const { app } = testServer(faultyEnv({ KINU_SOURCE_RETRIES: '2', KINU_BREAKER_FAILURES: '100' }));
    const before = proxy.stats.connections;
    problem(await app.inject({ url: `/${f()}?w=31` }), 502, 'source_failed');
    assert.equal(proxy.stats.connections - before, 3, 'one stat (HEAD): 1 attempt + 2 retries');
    proxy.mode = 'pass';
    await app.close();
  });

  test('the breaker opens after N failed requests, fails fast while open, and closes after a good probe', async () => {
    proxy.mode = 'http500';
    const { app } = testServer(
      faultyEnv({ KINU_SOURCE_RETRIES: '0', KINU_BREAKER_FAILURES: '3', KINU_BREAKER_COOLDOWN: '0.5' }),
    );
    for (let i = 0; i < 3; i++) problem(await app.inject({ url: `/${f()}?w=${40 + i}` }), 502, 'source_failed');
    assert.equal(app.kinu.source.health!().state, 'open');
    const seen = proxy.stats.connections;
    for (let i = 0; i < 5; i++) {
      const res = await app.inject({ url: `/${f()}?w=${50 + i}` });
      const body = problem(res, 502, 'source_failed');
      assert.match(body.detail, /circuit open/);
      assert.ok(Number(res.headers['retry-after']) >= 1);
    }
    assert.equal(proxy.stats.connections, seen, 'no request reached the store while the breaker was open');
    const notReady = await app.inject({ url: '/_kinu/ready' });
    assert.equal(notReady.statusCode, 503);
    proxy.mode = 'pass';
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(app.kinu.source.health!().state, 'half_open');
    const ok = await app.inject({ url: `/${f()}?w=60` });
    assert.equal(ok.statusCode, 200);
    assert.equal(app.kinu.source.health!().state, 'closed');
    assert.equal((await app.inject({ url: '/_kinu/ready' })).statusCode, 200);
    await app.close();
  });

  test('a store that accepts and never answers: 504 source_timeout within the budget', async () => {
    proxy.mode = 'stall';
    const { app } = testServer(faultyEnv({ KINU_SOURCE_TIMEOUT: '0.3', KINU_BREAKER_FAILURES: '100' }));
    const t0 = Date.now();
    problem(await app.inject({ url: `/${f()}?w=70` }), 504, 'source_timeout');
    assert.ok(Date.now() - t0 < 5000, 'bounded by KINU_SOURCE_TIMEOUT, not by the SDK');
    proxy.mode = 'pass';
    await app.close();
  });

  test('stale-if-error: with the store down, variants served before are served stale; new ones fail fast', async () => {
    proxy.mode = 'pass';
    const { app } = testServer(
      faultyEnv({
        KINU_SOURCE_RETRIES: '1',
        KINU_BREAKER_FAILURES: '2',
        KINU_BREAKER_COOLDOWN: '30',
        KINU_SOURCE_TIMEOUT: '0.5',
      }),
    );
    const url = `/${f()}?w=80&fmt=webp`;
    const fresh = await app.inject({ url });
    assert.equal(fresh.statusCode, 200);
    assert.equal(fresh.headers['x-kinu-stale'], undefined);
    for (const fault of ['down', 'stall'] as const) {
      proxy.mode = fault;
      const stale = await app.inject({ url });
      assert.equal(stale.statusCode, 200, `${fault}: ${stale.body.slice(0, 200)}`);
      assert.deepEqual(stale.rawPayload, fresh.rawPayload);
      assert.equal(stale.headers.etag, fresh.headers.etag);
      assert.match(String(stale.headers['x-kinu-stale']), /^source_(failed|timeout)$/);
      assert.equal(stale.headers['cache-control'], 'public, max-age=60');
      const fresh304 = await app.inject({ url, headers: { 'if-none-match': String(fresh.headers.etag) } });
      assert.equal(fresh304.statusCode, 304);
    }
    // A variant never made: nothing to serve, and the breaker (open by now) answers at once.
    const t0 = Date.now();
    const res = await app.inject({ url: `/${f()}?w=81` });
    assert.ok(res.statusCode === 502 || res.statusCode === 504, String(res.statusCode));
    assert.ok(Date.now() - t0 < 400, 'fails fast while the breaker is open');
    problem(await app.inject({ url: `/${f()}` }), 502, 'source_failed');
    proxy.mode = 'pass';
    await app.close();
  });

  test('KINU_STALE_IF_ERROR=0 turns stale serving off', async () => {
    proxy.mode = 'pass';
    const { app } = testServer(faultyEnv({ KINU_STALE_IF_ERROR: '0', KINU_SOURCE_RETRIES: '0' }));
    const url = `/${f()}?w=90`;
    assert.equal((await app.inject({ url })).statusCode, 200);
    proxy.mode = 'http500';
    problem(await app.inject({ url }), 502, 'source_failed');
    proxy.mode = 'pass';
    await app.close();
  });
});
