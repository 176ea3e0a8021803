import { readLimited } from '../../src/source/limit.ts';
// Every status of DESIGN §4 that a single server can produce, each as problem+json with its code.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { KinuError } from '../../src/errors.ts';
import type { Source } from '../../src/source/source.ts';
import { createFileSource } from '../../src/source/file.ts';
import { CORPUS, decode, testServer } from '../helpers.ts';
import { problem } from './fakes.ts';

describe('error responses', () => {
  const { app } = testServer();
  after(() => app.close());

  const CASES: [string, number, string, RegExp?][] = [
    ['/photos/hato-pigeons.jpg?w=0', 400, 'invalid_param', /^w: expected integer 1–8192, got "0"/],
    ['/photos/hato-pigeons.jpg?width=10', 400, 'invalid_param', /^width: unknown parameter/],
    ['/photos/hato-pigeons.jpg?w=1&w=2', 400, 'invalid_param', /^w: given more than once/],
    ['/photos/hato-pigeons.jpg?w=', 400, 'invalid_param', /^w:/],
    ['/photos/hato-pigeons.jpg?fmt=bmp', 400, 'invalid_param', /^fmt: expected auto · best · jpeg/],
    ['/photos/hato-pigeons.jpg?preset=nope', 400, 'invalid_param', /^preset:/],
    ['/photos/hato-pigeons.jpg?w=10&&h=10', 400, 'invalid_param'],
    ['/photos//hato-pigeons.jpg?w=10', 400, 'invalid_key', /^key:/],
    ['/photos/%00.jpg', 400, 'invalid_key', /NUL/],
    ['/photos%5Chato-pigeons.jpg', 400, 'invalid_key', /backslash/],
    ['/', 400, 'invalid_key'],
    ['/%zz.jpg', 400, 'invalid_key'],
    ['/%zz.jpg?w=1', 400, 'invalid_key'],
    ['/photos/nope.jpg', 404, 'not_found', /photos\/nope.jpg/],
    ['/photos/nope.jpg?w=10', 404, 'not_found'],
    ['/photos', 404, 'not_found'],
    ['/photos?w=10', 404, 'not_found'],
    ['/photos/hato-pigeons.jpg?w=10&wm=nope.png', 404, 'not_found', /nope.png/],
    ['/corrupt/one-byte.jpg?w=10', 415, 'unsupported_format'],
    ['/corrupt/bmp-invalid-bpp.bmp?w=10', 422, 'corrupt_image'],
    ['/bombs/png-65536x65536.png?w=10', 422, 'too_many_pixels'],
    ['/corrupt/truncated.png?w=10', 422, 'corrupt_image'],
    ['/_kinu/nope', 404, 'route_not_found'],
    ['/_kinu/', 404, 'route_not_found'],
  ];
  for (const [url, status, code, detail] of CASES) {
    test(`GET ${url} → ${status} ${code}`, async () => {
      const res = await app.inject({ url });
      const p = problem(res, status, code);
      if (detail) assert.match(p.detail, detail);
      assert.equal(res.headers['cache-control'], 'no-store');
      const head = await app.inject({ method: 'HEAD', url });
      assert.equal(head.statusCode, status);
      assert.equal(head.body, '');
    });
  }

  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const) {
    test(`${method} on an image URL → 405 with Allow`, async () => {
      for (const headers of [{}, { 'content-type': 'application/x-unknown' }, { 'content-type': 'application/json' }]) {
        const res = await app.inject({
          method,
          url: '/photos/hato-pigeons.jpg?w=10',
          headers,
          payload: method === 'OPTIONS' ? undefined : '{"a":',
        });
        problem(res, 405, 'method_not_allowed');
        assert.equal(res.headers.allow, 'GET, HEAD');
      }
    });
  }

  test('POST under /_kinu/ with a body → 404 route_not_found, not a body error', async () => {
    problem(
      await app.inject({
        method: 'POST',
        url: '/_kinu/nope',
        headers: { 'content-type': 'application/x-unknown' },
        payload: 'x',
      }),
      404,
      'route_not_found',
    );
  });
});

describe('limits and failures', () => {
  test('413 source_too_large under a small KINU_MAX_BYTES, for images and originals', async () => {
    const { app } = testServer({ KINU_MAX_BYTES: '1000' });
    problem(await app.inject({ url: '/photos/hato-pigeons.jpg?w=10' }), 413, 'source_too_large');
    problem(await app.inject({ url: '/photos/hato-pigeons.jpg' }), 413, 'source_too_large');
    assert.equal((await app.inject({ url: '/svg/viewbox-only.svg' })).statusCode, 200); // 301 bytes: under the limit
    await app.close();
  });

  test('413 when the size is unknown up front and the bytes run over', async () => {
    const inner = createFileSource({ root: CORPUS });
    const source: Source = {
      ...inner,
      async get(key, opts) {
        const o = await inner.get(key, opts);
        return { ...o, size: 0 };
      },
    };
    const { app } = testServer({ KINU_MAX_BYTES: '1000' }, { source });
    problem(await app.inject({ url: '/photos/hato-pigeons.jpg?w=10' }), 413, 'source_too_large');
    await app.close();
  });

  test('403 originals_denied with KINU_ORIGINALS=deny; transforms still work', async () => {
    const { app } = testServer({ KINU_ORIGINALS: 'deny' });
    problem(await app.inject({ url: '/photos/hato-pigeons.jpg' }), 403, 'originals_denied');
    assert.equal((await app.inject({ url: '/photos/hato-pigeons.jpg?w=10' })).statusCode, 200);
    await app.close();
  });

  test('504 processing_timeout under a tiny KINU_TIMEOUT; the server keeps serving', async () => {
    const { app } = testServer({ KINU_TIMEOUT: '0.1' });
    problem(await app.inject({ url: '/photos/olympus-museum-12mp.jpg?blur=20' }), 504, 'processing_timeout');
    // Served by the same instance (an original: no pipeline, so 0.1 s is not raced on a loaded machine).
    const after = await app.inject({ url: '/png/rgba.png' });
    assert.equal(after.statusCode, 200);
    assert.equal((await decode(after.rawPayload)).format, 'png');
    await app.close();
  });

  test('a source that throws a plain error → 500 internal, and the server keeps serving', async () => {
    const inner = createFileSource({ root: CORPUS });
    const source: Source = streamRead({
      ...inner,
      async get(key, opts) {
        if (key.startsWith('photos/')) throw new TypeError('boom');
        return inner.get(key, opts);
      },
    });
    const { app } = testServer({}, { source });
    const p = problem(await app.inject({ url: '/photos/hato-pigeons.jpg?w=10' }), 500, 'internal');
    assert.ok(!p.detail.includes('boom'), 'the cause is never sent');
    problem(await app.inject({ url: '/photos/hato-pigeons.jpg' }), 500, 'internal');
    assert.equal((await app.inject({ url: '/png/rgba.png?w=10' })).statusCode, 200);
    await app.close();
  });

  test('502 source_failed and 504 source_timeout from a source; a body that fails mid-read is 502', async () => {
    const inner = createFileSource({ root: CORPUS });
    const source: Source = streamRead({
      ...inner,
      async get(key, opts) {
        if (key === 'png/rgba.png') throw new KinuError('source_failed', 'the store said 500');
        if (key === 'png/palette-trns.png') throw new KinuError('source_timeout', 'the store did not answer');
        const o = await inner.get(key, opts);
        if (key !== 'png/interlaced-rgba.png') return o;
        o.body.destroy();
        const body = new Readable({
          read() {
            this.push(Buffer.alloc(10));
            this.destroy(new Error('connection reset'));
          },
        });
        return { ...o, body };
      },
    });
    const { app } = testServer({ KINU_BREAKER_FAILURES: '100' }, { source });
    problem(await app.inject({ url: '/png/rgba.png?w=10' }), 502, 'source_failed');
    problem(await app.inject({ url: '/png/rgba.png' }), 502, 'source_failed');
    problem(await app.inject({ url: '/png/palette-trns.png?w=10' }), 504, 'source_timeout');
    problem(await app.inject({ url: '/png/interlaced-rgba.png?w=10' }), 502, 'source_failed');
    assert.equal((await app.inject({ url: '/png/palette-photo.png?w=10' })).statusCode, 200);
    await app.close();
  });
});

/** A source whose read() goes through its get() stream, as stream-based adapters (S3, HTTP) read. */
function streamRead(source: Source): Source {
  return {
    ...source,
    async read(key, opts) {
      const o = await source.get(key, opts);
      return readLimited(o.body, o.size, opts.maxBytes, opts.signal);
    },
  };
}
