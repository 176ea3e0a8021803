// Permanent refusals (403, a folder redirected to a 403, a blocked address, an S3 AccessDenied or an S3 key
// too long to exist) are answers about one key: a flood of them leaves other keys served and the instance
// ready, while a real outage (5xx, a refused connection, a store that never answers) still opens the breaker.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { KinuError } from '../../src/errors.ts';
import { permanent } from '../../src/source/failure.ts';
import { withResilience } from '../../src/source/resilient.ts';
import type { Source } from '../../src/source/source.ts';
import { corpus, decode, testServer } from '../helpers.ts';
import { useS3rverCredentials } from '../cache/s3-server.ts';

const IMAGE = readFileSync(corpus('photos/hato-pigeons.jpg'));
const servers: http.Server[] = [];
after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

async function listen(
  handler: http.RequestListener,
): Promise<{ server: http.Server; url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    handler(req, res);
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

describe('withResilience: permanent refusals', () => {
  let keepAlive: NodeJS.Timeout;
  before(() => {
    keepAlive = setInterval(() => {}, 1000);
  });
  after(() => clearInterval(keepAlive));

  const stat = { version: 'v', size: 3, lastModified: new Date(0) };
  function fake(outcome: (key: string) => 'ok' | 'refuse' | 'fail') {
    let calls = 0;
    const go = async (key: string) => {
      calls++;
      const o = outcome(key);
      if (o === 'refuse') throw permanent(new KinuError('source_failed', 'injected 403'));
      if (o === 'fail') throw new KinuError('source_failed', 'injected 500');
    };
    const source: Source = {
      name: 'fake',
      stat: async (key) => {
        await go(key);
        return stat;
      },
      read: async (key) => {
        await go(key);
        return Buffer.from('abc');
      },
      get: async (key) => {
        await go(key);
        return { ...stat, body: Readable.from([Buffer.from('abc')]) };
      },
      ready: async () => true,
    };
    return { source, calls: () => calls };
  }
  const OPTS = { timeoutMs: 2000, retries: 0, breakerFailures: 3, breakerCooldownMs: 100 };

  test("refusals never open the breaker, nor reset a real outage's count", async () => {
    let outage = false;
    const f = fake((key) => (key.startsWith('deny') ? 'refuse' : outage ? 'fail' : 'ok'));
    const r = withResilience(f.source, OPTS);
    for (let i = 0; i < 20; i++)
      await assert.rejects(r.stat(`deny${i}`, {}), (e: KinuError) => e.code === 'source_failed');
    assert.equal(r.health().state, 'closed');
    assert.equal(await r.ready(), true);
    assert.deepEqual(await r.stat('ok', {}), stat);
    outage = true;
    await assert.rejects(r.stat('a', {}));
    await assert.rejects(r.stat('b', {}));
    // Refusals in between do not clear the two failures already counted: the third failure opens it.
    for (let i = 0; i < 5; i++) await assert.rejects(r.stat(`deny${i}`, {}));
    assert.equal(r.health().state, 'closed');
    await assert.rejects(r.stat('c', {}));
    assert.equal(r.health().state, 'open');
    assert.equal(await r.ready(), false);
  });

  test('a half-open probe that meets a refusal leaves the probe to the next caller, breaker still half-open', async () => {
    let outage = true;
    const f = fake((key) => (key.startsWith('deny') ? 'refuse' : outage ? 'fail' : 'ok'));
    const r = withResilience(f.source, OPTS);
    for (let i = 0; i < 3; i++) await assert.rejects(r.stat('x', {}));
    assert.equal(r.health().state, 'open');
    await new Promise((res) => setTimeout(res, 130));
    await assert.rejects(r.stat('deny', {}), (e: KinuError) => /injected 403/.test(e.detail));
    assert.equal(r.health().state, 'half_open');
    outage = false;
    const before = f.calls();
    assert.deepEqual(await r.stat('x', {}), stat, 'the next caller is let through as the probe');
    assert.equal(f.calls(), before + 1);
    assert.equal(r.health().state, 'closed');
  });
});

describe('HTTP origin: refusals vs an outage, through kinu', () => {
  test('20 × 403, 20 × 301→403 and 20 × redirects to a blocked address leave other keys served and /_kinu/ready 200', async () => {
    let outage = false;
    let takenDown = false;
    const o = await listen((req, res) => {
      const url = req.url ?? '/';
      if (outage) {
        res.writeHead(500, { 'content-length': 0 });
        res.end();
        return;
      }
      if (takenDown && url === '/ok.jpg') {
        res.writeHead(403, { 'content-length': 0 });
        res.end();
        return;
      }
      if (url.startsWith('/deny/')) {
        res.writeHead(403, { 'content-length': 9 });
        res.end('forbidden');
        return;
      }
      if (url.startsWith('/folder/') && !url.endsWith('/')) {
        res.writeHead(301, { location: `${url}/`, 'content-length': 0 });
        res.end();
        return;
      }
      if (url.startsWith('/folder/')) {
        res.writeHead(403, { 'content-length': 0 });
        res.end();
        return;
      }
      if (url.startsWith('/meta/')) {
        res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/', 'content-length': 0 });
        res.end();
        return;
      }
      if (url === '/ok.jpg') {
        res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': IMAGE.length, etag: '"v1"' });
        res.end(req.method === 'HEAD' ? undefined : IMAGE);
        return;
      }
      res.writeHead(404, { 'content-length': 0 });
      res.end();
    });
    const { app } = testServer({
      KINU_SOURCE: `${o.url}/`,
      KINU_HTTP_ALLOW_NETS: '127.0.0.0/8',
      KINU_STAT_TTL: '0',
      KINU_BREAKER_FAILURES: '5',
      KINU_SOURCE_RETRIES: '0',
    });
    try {
      for (const prefix of ['deny', 'folder', 'meta']) {
        for (let i = 0; i < 20; i++) {
          const r = await app.inject({ url: `/${prefix}/${i}.jpg?w=100` });
          assert.equal(r.statusCode, 502, `${prefix}/${i}: ${r.body}`);
        }
      }
      assert.equal(app.kinu.source.health?.().state, 'closed');
      assert.equal((await app.inject({ url: '/_kinu/ready' })).statusCode, 200);
      const ok = await app.inject({ url: '/ok.jpg?w=64' });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal((await decode(ok.rawPayload)).width, 64);

      // Stale-if-error is for storage failures: an original the origin now refuses is not served from cache.
      takenDown = true;
      assert.equal((await app.inject({ url: '/ok.jpg?w=64' })).statusCode, 502);
      takenDown = false;

      // A real outage still opens it: five 500s, then requests fail fast and the instance is not ready.
      outage = true;
      for (let i = 0; i < 5; i++) assert.equal((await app.inject({ url: `/ok.jpg?w=${70 + i}` })).statusCode, 502);
      assert.equal(app.kinu.source.health?.().state, 'open');
      const seen = o.requests.length;
      const fast = await app.inject({ url: '/ok.jpg?w=90' });
      assert.equal(fast.statusCode, 502);
      assert.match(fast.json().detail, /circuit open/);
      assert.equal(o.requests.length, seen, 'not tried while open');
      assert.equal((await app.inject({ url: '/_kinu/ready' })).statusCode, 503);
    } finally {
      await app.close();
    }

    // And so does an origin that refuses connections.
    o.server.closeAllConnections();
    await new Promise<void>((resolve) => o.server.close(() => resolve()));
    const { app: gone } = testServer({
      KINU_SOURCE: `${o.url}/`,
      KINU_HTTP_ALLOW_NETS: '127.0.0.0/8',
      KINU_STAT_TTL: '0',
      KINU_BREAKER_FAILURES: '3',
      KINU_SOURCE_RETRIES: '0',
    });
    try {
      for (let i = 0; i < 3; i++) assert.equal((await gone.inject({ url: `/a${i}.jpg?w=10` })).statusCode, 502);
      assert.equal(gone.kinu.source.health?.().state, 'open');
      assert.equal((await gone.inject({ url: '/_kinu/ready' })).statusCode, 503);
    } finally {
      await gone.close();
    }
  });
});

describe('S3: a role without s3:ListBucket, keys too long to exist, and an outage', () => {
  useS3rverCredentials();
  type Mode = 'ok' | 'slowdown' | 'badcreds' | 'stall';
  let mode: Mode = 'ok';
  const xml = (code: string) =>
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code}</Message></Error>`;
  /** A fake S3 (path style): `ok.jpg` exists; any other key is answered as S3 answers a role without s3:ListBucket. */
  const start = () =>
    listen((req, res) => {
      const head = req.method === 'HEAD';
      const answer = (status: number, code: string) => {
        const body = head ? '' : xml(code);
        res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      };
      if (mode === 'stall') return;
      if (mode === 'slowdown') return answer(503, 'SlowDown');
      if (mode === 'badcreds') return answer(403, 'InvalidAccessKeyId');
      const key = decodeURIComponent((req.url ?? '/').split('?')[0]!.replace(/^\/bucket\/?/, ''));
      if (key === '') return answer(403, 'AccessDenied'); // HeadBucket needs s3:ListBucket
      if (Buffer.byteLength(key) > 1024) return answer(400, 'KeyTooLongError');
      if (key !== 'ok.jpg') return answer(403, 'AccessDenied');
      res.writeHead(200, {
        'content-type': 'image/jpeg',
        'content-length': IMAGE.length,
        etag: '"0123456789abcdef0123456789abcdef"',
        'last-modified': new Date(0).toUTCString(),
      });
      res.end(head ? undefined : IMAGE);
    });

  test('missing keys (403 AccessDenied) and keys over 1024 bytes are 404s and never open the breaker; the instance is ready without s3:ListBucket; SlowDown, silence and bad credentials still fail', async () => {
    mode = 'ok';
    const s3 = await start();
    const env = {
      KINU_SOURCE: 's3://bucket/',
      KINU_S3_ENDPOINT: s3.url,
      KINU_STAT_TTL: '0',
      KINU_BREAKER_FAILURES: '5',
      KINU_SOURCE_RETRIES: '0',
      KINU_SOURCE_TIMEOUT: '1',
    };
    const { app } = testServer(env);
    try {
      for (let i = 0; i < 20; i++) {
        const r = await app.inject({ url: `/missing-${i}.jpg?w=100` });
        assert.equal(r.statusCode, 404, r.body);
        assert.equal(r.json().code, 'not_found');
        const orig = await app.inject({ url: `/missing-${i}.jpg` });
        assert.equal(orig.statusCode, 404, orig.body);
      }
      const before = s3.requests.length;
      for (let i = 0; i < 20; i++) {
        // 404 characters, 1,200+ bytes in UTF-8: a valid kinu key that no S3 bucket can hold.
        const r = await app.inject({ url: `/${i}${encodeURIComponent('あ'.repeat(400))}.jpg?w=100` });
        assert.equal(r.statusCode, 404, r.body);
      }
      assert.equal(s3.requests.length, before, 'a key S3 cannot hold is not asked for');
      assert.equal(app.kinu.source.health?.().state, 'closed');
      assert.equal((await app.inject({ url: '/_kinu/ready' })).statusCode, 200);
      const ok = await app.inject({ url: '/ok.jpg?w=48' });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal((await decode(ok.rawPayload)).width, 48);

      mode = 'slowdown';
      for (let i = 0; i < 5; i++) assert.equal((await app.inject({ url: `/ok.jpg?w=${50 + i}` })).statusCode, 502);
      assert.equal(app.kinu.source.health?.().state, 'open');
      assert.equal((await app.inject({ url: '/_kinu/ready' })).statusCode, 503);
    } finally {
      await app.close();
    }

    mode = 'stall';
    const { app: silent } = testServer({ ...env, KINU_SOURCE_TIMEOUT: '0.2', KINU_BREAKER_FAILURES: '2' });
    try {
      for (let i = 0; i < 2; i++) assert.equal((await silent.inject({ url: `/ok.jpg?w=${60 + i}` })).statusCode, 504);
      assert.equal(silent.kinu.source.health?.().state, 'open');
    } finally {
      await silent.close();
      for (const s of servers) s.closeAllConnections();
    }

    // Bad credentials are not mistaken for missing keys: 502, and not ready.
    mode = 'badcreds';
    const { app: denied } = testServer(env);
    try {
      assert.equal((await denied.inject({ url: '/ok.jpg?w=100' })).statusCode, 502);
      assert.equal((await denied.inject({ url: '/_kinu/ready' })).statusCode, 503);
    } finally {
      await denied.close();
      mode = 'ok';
    }
  });
});
