// The resilience wrapper on a scripted fake source: what is retried and what is not, the time budget,
// the breaker's states (one probe while half-open), and what counts as a failure.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { KinuError } from '../../src/errors.ts';
import { permanent } from '../../src/source/failure.ts';
import { withResilience, type ResilienceOptions } from '../../src/source/resilient.ts';
import type { Source } from '../../src/source/source.ts';

type Step = () => Promise<unknown>;

/** A source whose every call runs the next scripted step (the last one repeats); counts calls. */
function scripted(steps: Step[]) {
  let calls = 0;
  const next = () => steps[Math.min(calls++, steps.length - 1)]!();
  const stat = { version: 'v', size: 3, lastModified: new Date(0) };
  const source: Source = {
    name: 'fake',
    stat: async () => {
      await next();
      return stat;
    },
    read: async () => {
      await next();
      return Buffer.from('abc');
    },
    get: async () => {
      await next();
      return { ...stat, body: Readable.from([Buffer.from('abc')]) };
    },
    put: async () => {
      await next();
      return stat;
    },
    delete: async () => {
      await next();
      return true;
    },
    ready: async () => true,
  };
  return { source, calls: () => calls };
}

const ok: Step = async () => undefined;
const fail: Step = async () => {
  throw new KinuError('source_failed', 'injected 500');
};
const refuse: Step = async () => {
  throw permanent(new KinuError('source_failed', 'injected 403'));
};
const missing: Step = async () => {
  throw new KinuError('not_found', 'no such key');
};
const hang: Step = () => new Promise(() => {});
const OPTS: ResilienceOptions = {
  timeoutMs: 2000,
  retries: 2,
  breakerFailures: 3,
  breakerCooldownMs: 200,
  backoffMs: 1,
  backoffCapMs: 5,
};

describe('withResilience', () => {
  // AbortSignal.timeout's timer does not hold the event loop open; a server's sockets do, a test must.
  let keepAlive: NodeJS.Timeout;
  before(() => {
    keepAlive = setInterval(() => {}, 1000);
  });
  after(() => clearInterval(keepAlive));
  test('transient failures are retried up to `retries` times, then the failure is thrown', async () => {
    const a = scripted([fail, fail, ok]);
    const r = withResilience(a.source, OPTS);
    assert.deepEqual(await r.read('k', { maxBytes: 10 }), Buffer.from('abc'));
    assert.equal(a.calls(), 3);
    assert.equal(r.health().retries, 2);
    const b = scripted([fail]);
    const rb = withResilience(b.source, OPTS);
    await assert.rejects(rb.stat('k', {}), (e: KinuError) => e.code === 'source_failed');
    assert.equal(b.calls(), 3);
    assert.equal(rb.health().errors.source_failed, 3);
  });

  test('permanent failures, answers (404) and writes are not retried', async () => {
    for (const [step, code] of [
      [refuse, 'source_failed'],
      [missing, 'not_found'],
    ] as const) {
      const s = scripted([step]);
      await assert.rejects(withResilience(s.source, OPTS).stat('k', {}), (e: KinuError) => e.code === code);
      assert.equal(s.calls(), 1);
    }
    const w = scripted([fail]);
    await assert.rejects(
      withResilience(w.source, OPTS).put!('k', Buffer.from('x'), { contentType: 'image/png' }),
      (e: KinuError) => e.code === 'source_failed',
    );
    assert.equal(w.calls(), 1);
  });

  test('a hanging store costs one budget: 504 source_timeout', async () => {
    const s = scripted([hang]);
    const r = withResilience(s.source, { ...OPTS, timeoutMs: 100 });
    await assert.rejects(
      r.read('k', { maxBytes: 10 }),
      (e: KinuError) => e.code === 'source_timeout' && /100 ms/.test(e.detail),
    );
  });

  test('the breaker: opens after N failed operations, fails fast, lets one probe through after the cool-down', async () => {
    const s = scripted([fail, fail, fail, fail, fail, fail, fail, fail, fail, hang]);
    const r = withResilience(s.source, { ...OPTS, retries: 0, timeoutMs: 300 });
    for (let i = 0; i < 3; i++) await assert.rejects(r.stat('k', {}));
    assert.equal(r.health().state, 'open');
    const before = s.calls();
    const e = (await r.stat('k', {}).catch((x: unknown) => x)) as KinuError;
    assert.equal(e.code, 'source_failed');
    assert.match(e.detail, /circuit open/);
    assert.ok(Number(e.headers['retry-after']) >= 1);
    assert.equal(s.calls(), before, 'not tried while open');
    assert.equal(await r.ready(), false);
    await new Promise((res) => setTimeout(res, 250));
    assert.equal(r.health().state, 'half_open');
    // One probe goes (and fails); the others meanwhile fail fast; the failed probe re-opens the breaker.
    const results = await Promise.allSettled([r.stat('k', {}), r.stat('k', {}), r.stat('k', {})]);
    assert.equal(s.calls(), before + 1);
    assert.ok(results.every((x) => x.status === 'rejected'));
    assert.equal(r.health().state, 'open');
  });

  test('a good probe closes the breaker; a 404 counts as the store working', async () => {
    const s = scripted([fail, fail, missing, ok]);
    const r = withResilience(s.source, { ...OPTS, retries: 0, breakerFailures: 2, breakerCooldownMs: 50 });
    await assert.rejects(r.stat('k', {}));
    await assert.rejects(r.stat('k', {}));
    assert.equal(r.health().state, 'open');
    await new Promise((res) => setTimeout(res, 80));
    await assert.rejects(r.stat('k', {}), (e: KinuError) => e.code === 'not_found');
    assert.equal(r.health().state, 'closed');
    assert.deepEqual(await r.read('k', { maxBytes: 10 }), Buffer.from('abc'));
    assert.equal(r.health().bytesRead, 3);
  });

  test('a caller that gives up is not a store failure', async () => {
    const s = scripted([hang]);
    const r = withResilience(s.source, { ...OPTS, breakerFailures: 1 });
    const controller = new AbortController();
    const p = r.stat('k', { signal: controller.signal });
    controller.abort(new Error('client left'));
    await assert.rejects(p, /client left/);
    assert.equal(r.health().state, 'closed');
    assert.deepEqual(r.health().errors, {});
  });
});
