// KINU_CONCURRENCY pipelines really run at once: kinu sizes libuv's thread pool (4 threads by default, read
// once at its start) before it starts, in a supervised worker and in a process serving alone. Counted by
// sharp itself (sharp.counters().process, exported as kinu_libvips_running), not by timing.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { corpus, decode, startKinu, until, type KinuProcess } from './helpers.ts';
import { SERVE_V8_FLAGS } from '../src/v8-flags.ts';

const PHOTOS = corpus('photos');
/** Above libuv's default pool of 4. */
const N = 6;

type Kinu = KinuProcess;

function start(args: string[], env: Record<string, string> = {}): Kinu {
  const { UV_THREADPOOL_SIZE: _, ...parent } = process.env;
  // Slow pipelines must neither time out nor wait for memory: only the pool may keep them from running together.
  return startKinu(['--source', PHOTOS, ...args], {
    ...parent,
    KINU_CONCURRENCY: String(N),
    KINU_TIMEOUT: '600',
    KINU_MEMORY_BUDGET: '8192',
    ...env,
  });
}

function get(url: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request(url, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    })
      .on('error', reject)
      .end();
  });
}

const gauge = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

async function baseOf(kinu: Kinu): Promise<string> {
  await until(() => kinu.listening.length > 0, 'the listening line');
  return /^kinu listening on (http:\/\/127\.0\.0\.1:\d+) /.exec(kinu.listening[0]!)![1]!;
}

for (const [label, args, decision] of [
  ['supervised (the default)', [], "workers' libuv thread pool"],
  ['KINU_SUPERVISE=off', ['--supervise', 'off'], 'libuv thread pool'],
] as const) {
  test(`${label}: KINU_CONCURRENCY=${N} pipelines run on ${N} threads at once`, { timeout: 240_000 }, async () => {
    const kinu = start([...args]);
    try {
      const base = await baseOf(kinu);
      // The log may be written asynchronously: after the listening line.
      await until(() => kinu.logs.some((l) => l.msg === decision), 'the pool logged');
      const chosen = kinu.logs.find((l) => l.msg === decision);
      assert.deepEqual(
        [chosen?.uvThreadpoolSize, chosen?.setBy, chosen?.concurrency],
        [N + 4, 'kinu', N],
        'the choice is logged at startup',
      );
      // The serving process (the worker, or the process itself) sets its V8 flags and says which.
      await until(() => kinu.logs.some((l) => l.msg === 'V8 flags set for serving'), 'the V8 flags logged');
      assert.deepEqual(kinu.logs.find((l) => l.msg === 'V8 flags set for serving')?.v8Flags, [...SERVE_V8_FLAGS]);

      // N misses of distinct variants, each a second or more of libvips work (a wide Gaussian blur of a 12 MP photo).
      let done = 0;
      const answers = Array.from({ length: N }, (_, i) =>
        get(`${base}/olympus-museum-12mp.jpg?w=${2000 + i}&blur=30&fmt=jpeg`).finally(() => {
          done++;
        }),
      );
      // Until the last answer, sharp's own count of pipelines on pool threads; it was 4 at most before.
      let most = 0;
      while (done < N && most < N) {
        const { body } = await get(`${base}/_kinu/metrics`);
        most = Math.max(most, gauge(body.toString(), 'kinu_libvips_running'));
        await new Promise((r) => setTimeout(r, 20));
      }
      const results = await Promise.all(answers);
      for (const [i, r] of results.entries()) {
        assert.equal(r.status, 200, r.body.toString());
        const meta = await decode(r.body);
        assert.deepEqual([meta.format, meta.width], ['jpeg', 2000 + i]);
      }
      assert.equal(most, N, `${N} pipelines running on libuv's pool at the same time`);
      kinu.child.kill('SIGTERM');
      assert.equal(await kinu.exit, 0);
    } finally {
      kinu.child.kill('SIGKILL');
    }
  });
}

test("an operator's UV_THREADPOOL_SIZE wins, and one below KINU_CONCURRENCY is warned about", {
  timeout: 60_000,
}, async () => {
  for (const args of [[], ['--supervise', 'off']]) {
    const kinu = start(args, { UV_THREADPOOL_SIZE: '3' });
    try {
      await baseOf(kinu);
      await until(() => kinu.logs.some((l) => l.level === 40 && l.uvThreadpoolSize === 3), 'the warning');
      const warning = kinu.logs.find((l) => l.level === 40 && l.uvThreadpoolSize === 3)!;
      assert.match(
        String(warning.msg),
        /only 3 of KINU_CONCURRENCY=6 pipelines can run at once.*UV_THREADPOOL_SIZE=10/,
      );
      if (args.length === 0) {
        await until(() => kinu.logs.some((l) => l.msg === "workers' libuv thread pool"), 'the pool logged');
        assert.equal(kinu.logs.find((l) => l.msg === "workers' libuv thread pool")?.setBy, 'UV_THREADPOOL_SIZE');
      }
      kinu.child.kill('SIGTERM');
      assert.equal(await kinu.exit, 0);
    } finally {
      kinu.child.kill('SIGKILL');
    }
  }
});
