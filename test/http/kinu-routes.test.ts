import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { tempDir, testServer } from '../helpers.ts';
import { problem } from './fakes.ts';

describe('/_kinu routes', () => {
  test('health and ready answer 200, never cached; HEAD too', async () => {
    const { app } = testServer();
    for (const [url, body] of [
      ['/_kinu/health', { status: 'ok' }],
      [
        '/_kinu/ready',
        {
          status: 'ready',
          source: { name: 'file', state: 'closed' },
          caches: [{ tier: 'memory', ok: true, errors: {} }],
          degraded: [],
        },
      ],
    ] as const) {
      const res = await app.inject({ url });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), body);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.equal((await app.inject({ method: 'HEAD', url })).statusCode, 200);
    }
    await app.close();
  });

  test('ready is 503 not_ready while the source folder is missing, and recovers', async () => {
    const root = join(tempDir(), 'images');
    const { app } = testServer({ KINU_SOURCE: root });
    problem(await app.inject({ url: '/_kinu/ready' }), 503, 'not_ready');
    assert.equal((await app.inject({ url: '/_kinu/health' })).statusCode, 200);
    problem(await app.inject({ url: '/a.jpg?w=10' }), 502, 'source_failed');
    mkdirSync(root);
    assert.equal((await app.inject({ url: '/_kinu/ready' })).statusCode, 200);
    problem(await app.inject({ url: '/a.jpg?w=10' }), 404, 'not_found');
    rmSync(root, { recursive: true });
    problem(await app.inject({ url: '/_kinu/ready' }), 503, 'not_ready');
    await app.close();
  });

  test('ready is 503 while draining; health stays 200', async () => {
    const { app } = testServer();
    app.kinu.drain();
    const p = problem(await app.inject({ url: '/_kinu/ready' }), 503, 'not_ready');
    assert.match(p.detail, /shutting down/);
    assert.equal((await app.inject({ url: '/_kinu/health' })).statusCode, 200);
    await app.close();
  });

  test('unknown routes under /_kinu/ → 404 route_not_found for any method', async () => {
    const { app } = testServer();
    for (const method of ['GET', 'HEAD', 'POST', 'DELETE'] as const) {
      const res = await app.inject({ method, url: '/_kinu/metrics-nope?x=1' });
      assert.equal(res.statusCode, 404);
      if (method !== 'HEAD') assert.doesNotMatch(problem(res, 404, 'route_not_found').detail, /x=1/);
    }
    problem(await app.inject({ method: 'POST', url: '/_kinu/health' }), 404, 'route_not_found');
    await app.close();
  });

  test('under a dialect prefix, paths outside it are route_not_found and /_kinu still works', async () => {
    const { app } = testServer({ KINU_DIALECTS: 'native=/img' });
    assert.equal((await app.inject({ url: '/img/photos/hato-pigeons.jpg?w=10' })).statusCode, 200);
    problem(await app.inject({ url: '/photos/hato-pigeons.jpg?w=10' }), 404, 'route_not_found');
    assert.equal((await app.inject({ url: '/_kinu/health' })).statusCode, 200);
    await app.close();
  });
});
