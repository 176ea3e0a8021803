// 503 + Retry-After when the queue is full; a client that leaves frees its place. Slots are held by a
// source whose get() waits until released, so nothing here depends on timing.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { createLimiter } from '../../src/pipeline/limiter.ts';
import { IDLE_LIMITER_STATS, testServer } from '../helpers.ts';
import { heldSource, listen, problem, raw, until } from './fakes.ts';

const URL = '/photos/hato-pigeons.jpg?w=16';

describe('backpressure', () => {
  test('concurrency 1, queue 0: a second request gets 503 + Retry-After at once', async () => {
    const held = heldSource();
    const { app } = testServer({}, { source: held.source, limiter: createLimiter({ concurrency: 1, queue: 0 }) });
    const first = app.inject({ url: URL });
    await until(() => held.state.entered === 1, 'first request in get()');
    const res = await app.inject({ url: URL.replace('16', '17') });
    problem(res, 503, 'overloaded');
    assert.equal(res.headers['retry-after'], '1');
    // /_kinu is not behind the limiter.
    assert.equal((await app.inject({ url: '/_kinu/ready' })).statusCode, 200);
    held.release();
    assert.equal((await first).statusCode, 200);
    assert.equal((await app.inject({ url: URL })).statusCode, 200);
    await app.close();
  });

  test('concurrency 1, queue 1 (from config): one more fetches ahead, one waits, the fourth gets 503', async () => {
    const held = heldSource();
    const { app } = testServer({ KINU_CONCURRENCY: '1', KINU_QUEUE: '1' }, { source: held.source });
    const first = app.inject({ url: URL });
    await until(() => held.state.entered === 1, 'first request in get()');
    // The server admits half of KINU_CONCURRENCY more (at least one) to fetch their originals while slots compute.
    const second = app.inject({ url: `${URL}&q=50` });
    await until(() => held.state.entered === 2, 'second request fetching ahead');
    assert.equal(app.kinu.limiter.stats().ahead, 2, 'neither holds a pipeline slot while it fetches');
    const third = app.inject({ url: `${URL}&q=45` });
    await until(() => app.kinu.limiter.stats().queued === 1, 'third request queued');
    const fourth = await app.inject({ url: `${URL}&q=40` });
    problem(fourth, 503, 'overloaded');
    assert.ok(fourth.headers['retry-after']);
    held.release();
    assert.equal((await first).statusCode, 200);
    assert.equal((await second).statusCode, 200);
    assert.equal((await third).statusCode, 200);
    assert.deepEqual(app.kinu.limiter.stats(), {
      active: 0,
      ahead: 0,
      queued: 0,
      rejected: 1,
      reservedBytes: 0,
      memoryWaiting: 0,
      memoryBytes: 1024 ** 3,
    });
    await app.close();
  });

  test('a client that disconnects while queued frees its place (real socket)', async () => {
    const held = heldSource();
    const { app } = testServer({}, { source: held.source, limiter: createLimiter({ concurrency: 1, queue: 1 }) });
    const port = await listen(app);
    const first = raw(port, URL);
    await until(() => held.state.entered === 1, 'first request in get()');

    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write(`GET ${URL}&q=50 HTTP/1.1\r\nHost: x\r\n\r\n`);
    await until(() => app.kinu.limiter.stats().queued === 1, 'socket request queued');
    socket.destroy();
    await until(() => app.kinu.limiter.stats().queued === 0, 'queue place freed');

    const third = raw(port, `${URL}&q=40`);
    await until(() => app.kinu.limiter.stats().queued === 1, 'third request queued, not refused');
    held.release();
    assert.equal((await first).status, 200);
    assert.equal((await third).status, 200);
    assert.deepEqual(app.kinu.limiter.stats(), IDLE_LIMITER_STATS);
    assert.equal((await raw(port, '/_kinu/health')).status, 200);
    await app.close();
  });

  test('a client that disconnects while its pipeline waits on the source releases the slot', async () => {
    const held = heldSource();
    const { app } = testServer({}, { source: held.source, limiter: createLimiter({ concurrency: 1, queue: 0 }) });
    const port = await listen(app);
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write(`GET ${URL} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await until(() => held.state.entered === 1, 'request in get()');
    socket.destroy();
    held.release();
    await until(() => app.kinu.limiter.stats().active === 0, 'slot released');
    assert.equal((await raw(port, URL)).status, 200);
    await app.close();
  });
});
