// /_kinu/metrics scraped over a real listener after misses, hits, a 404 and a 503, parsed with a real
// Prometheus text parser. Gates on the source hold requests where the test needs them, so nothing here
// depends on timing.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { capacityFor } from '../../src/source/buffer-pool.ts';
import { createFileSource } from '../../src/source/file.ts';
import type { Source } from '../../src/source/source.ts';
import { CORPUS, testServer } from '../helpers.ts';
import { listen, raw, until, type RawResponse } from './fakes.ts';

interface Family {
  name: string;
  type: string;
  metrics: {
    value?: string;
    labels?: Record<string, string>;
    buckets?: Record<string, string>;
    count?: string;
    sum?: string;
  }[];
}
const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[];

/** A metric's value for the series whose labels include `labels` (0 when absent), from parsed families. */
function value(families: Family[], name: string, labels: Record<string, string> = {}): number {
  const f = families.find((x) => x.name === name);
  const m = f?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  return m?.value === undefined ? 0 : Number(m.value);
}

interface Scrape extends Array<Family> {
  text: string;
}

async function scrape(port: number): Promise<Scrape> {
  const res = await raw(port, '/_kinu/metrics');
  assert.equal(res.status, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  assert.equal(res.headers['cache-control'], 'no-store');
  const text = res.body.toString('utf8');
  return Object.assign(parse(text), { text });
}

/**
 * One series of a labelled histogram. parse-prometheus-text-format 1.1.1 folds every series of a histogram
 * into one (it expects unlabelled histograms), so the series' lines are picked out, their other labels
 * dropped, and that text parsed on its own.
 */
function histogramSeries(s: Scrape, name: string, labels: Record<string, string>) {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const lines = s.text
    .split('\n')
    .filter((l) => l.startsWith(`${name}_`) && want.every((w) => l.includes(w)))
    .map((l) =>
      l.replace(/\{[^}]*\}/, (set) => {
        const le = /le="[^"]*"/.exec(set);
        return le ? `{${le[0]}}` : '';
      }),
    );
  const [family] = parse(`# TYPE ${name} histogram\n${lines.join('\n')}\n`);
  assert.equal(family?.type, 'HISTOGRAM');
  const m = family.metrics[0]!;
  return { buckets: m.buckets ?? {}, count: Number(m.count), sum: Number(m.sum) };
}

/** The corpus; stat() of `photos/hato-pigeons.jpg` and every read() wait for their gates, and are counted. */
function gatedSource() {
  const inner = createFileSource({ root: CORPUS });
  let openStat!: () => void;
  let openRead!: () => void;
  const statGate = new Promise<void>((r) => {
    openStat = r;
  });
  const readGate = new Promise<void>((r) => {
    openRead = r;
  });
  const calls = { stat: 0, read: 0 };
  const source: Source = {
    ...inner,
    async stat(key, opts) {
      const st = await inner.stat(key, opts);
      // Counted once the file system has answered: after the gate, nothing but promise callbacks remain.
      if (key === 'photos/hato-pigeons.jpg') {
        calls.stat++;
        await statGate;
      }
      return st;
    },
    async read(key, opts) {
      calls.read++;
      await readGate;
      return inner.read(key, opts);
    },
  };
  return { source, calls, openStat, openRead };
}

const A = '/photos/hato-pigeons.jpg?w=16';

test('metrics: requests, cache tiers, pipeline runs (single-flight followers not counted), limiter, bytes', async (t) => {
  const gated = gatedSource();
  const { app } = testServer({ KINU_CONCURRENCY: '1', KINU_QUEUE: '0' }, { source: gated.source });
  t.after(() => app.close());
  const port = await listen(app);
  const before = await scrape(port);

  // Five identical requests for one new variant: all wait in stat(), then run into one pipeline run.
  const burst = Array.from({ length: 5 }, () => raw(port, A));
  await until(() => gated.calls.stat === 5, 'five requests in stat()');
  gated.openStat();
  await until(() => gated.calls.read === 1, 'the pipeline run reading the original');
  await new Promise((r) => setImmediate(r)); // the followers' promise callbacks have joined the flight by now
  const during = await scrape(port);
  // Fetching its original, the run is admitted but holds no pipeline slot yet.
  assert.equal(value(during, 'kinu_pipelines_active'), 0);
  assert.equal(value(during, 'kinu_pipelines_ahead'), 1);
  assert.equal(value(during, 'kinu_queue_length'), 0);

  // Another variant is admitted to fetch ahead (KINU_CONCURRENCY more); a third, with the queue at 0, is a 503.
  const second = raw(port, '/photos/hato-pigeons.jpg?w=17');
  await until(() => gated.calls.read === 2, 'the second variant reading its original');
  assert.equal(value(await scrape(port), 'kinu_pipelines_ahead'), 2);
  const overloaded = await raw(port, '/photos/hato-pigeons.jpg?w=18');
  assert.equal(overloaded.status, 503);
  gated.openRead();
  const misses = await Promise.all(burst);
  const other = await second;
  assert.equal(other.status, 200);
  for (const r of misses) assert.equal(r.status, 200);
  assert.deepEqual(
    misses.map((r) => r.headers['x-kinu-cache']),
    ['miss', 'miss', 'miss', 'miss', 'miss'],
  );
  assert.equal(gated.calls.read, 2, 'one read for five requests, one for the other variant');

  const hit = await raw(port, A);
  assert.equal(hit.headers['x-kinu-cache'], 'memory');
  const head = await raw(port, A, 'HEAD');
  assert.equal(head.status, 200);
  const notFound = await raw(port, '/photos/nope.jpg?w=16');
  assert.equal(notFound.status, 404);
  const original = await raw(port, '/photos/hato-pigeons.jpg');
  assert.equal(original.status, 200);

  const after = await scrape(port);
  const delta = (name: string, labels: Record<string, string> = {}) =>
    value(after, name, labels) - value(before, name, labels);
  const image = (method: string, status: number) => ({ route: 'image', method, status: String(status) });

  assert.equal(delta('kinu_pipeline_runs_total'), 2);
  assert.equal(delta('kinu_http_requests_total', image('GET', 200)), 7);
  assert.equal(delta('kinu_http_requests_total', image('HEAD', 200)), 1);
  assert.equal(delta('kinu_http_requests_total', image('GET', 503)), 1);
  assert.equal(delta('kinu_http_requests_total', image('GET', 404)), 1);
  assert.equal(delta('kinu_http_requests_total', { route: 'original', method: 'GET', status: '200' }), 1);
  assert.equal(
    delta('kinu_http_requests_total', { route: 'kinu', method: 'GET', status: '200' }),
    3,
    'the three scrapes before this one',
  );
  assert.equal(delta('kinu_cache_lookups_total', { result: 'miss' }), 6);
  assert.equal(delta('kinu_cache_lookups_total', { result: 'memory' }), 2, 'the GET and the HEAD hit');
  assert.equal(delta('kinu_cache_lookups_total', { result: 'disk' }), 0);
  assert.equal(delta('kinu_rejections_total'), 1);
  assert.equal(value(after, 'kinu_pipelines_active'), 0);

  const bodies = (rs: RawResponse[]) => rs.reduce((n, r) => n + r.body.length, 0);
  assert.equal(
    delta('kinu_http_response_bytes_total', { route: 'image' }),
    bodies([...misses, other, hit, overloaded, notFound]),
  );
  assert.equal(delta('kinu_http_response_bytes_total', { route: 'original' }), original.body.length);

  // The histogram: one series per route/method/status, cumulative buckets ending at +Inf = count.
  assert.equal(after.find((f) => f.name === 'kinu_http_request_duration_seconds')?.type, 'HISTOGRAM');
  const ok = histogramSeries(after, 'kinu_http_request_duration_seconds', image('GET', 200));
  assert.equal(ok.count, 7);
  const counts = Object.entries(ok.buckets)
    .sort(([a], [b]) => Number(a.replace('+Inf', 'Infinity')) - Number(b.replace('+Inf', 'Infinity')))
    .map(([, n]) => Number(n));
  assert.ok(counts.length > 5);
  assert.deepEqual(
    counts,
    [...counts].sort((a, b) => a - b),
    'buckets are cumulative',
  );
  assert.equal(Number(ok.buckets['+Inf']), 7);
  assert.ok(ok.sum > 0);

  assert.equal(after.find((f) => f.name === 'kinu_pipeline_stage_duration_seconds')?.type, 'HISTOGRAM');
  for (const stage of ['fetch', 'process', 'encode']) {
    const h = histogramSeries(after, 'kinu_pipeline_stage_duration_seconds', { stage });
    assert.equal(h.count, 2, stage);
    assert.equal(Number(h.buckets['+Inf']), 2, stage);
  }

  // The source, through the resilient wrapper's health, and the process metrics.
  assert.equal(value(after, 'kinu_source_breaker_state'), 0);
  assert.ok(delta('kinu_source_bytes_read_total') >= misses[0]!.body.length, 'the original was read');
  for (const name of [
    'process_cpu_user_seconds_total',
    'process_resident_memory_bytes',
    'nodejs_eventloop_lag_seconds',
    'nodejs_heap_size_used_bytes',
  ]) {
    assert.ok(
      after.some((f) => f.name === name),
      name,
    );
  }
});

test('metrics: each server has its own registry', async (t) => {
  const one = testServer().app;
  const two = testServer().app;
  t.after(() => Promise.all([one.close(), two.close()]));
  const [p1, p2] = [await listen(one), await listen(two)];
  for (let i = 0; i < 3; i++) assert.equal((await raw(p1, '/photos/hato-pigeons.jpg?w=8')).status, 200);
  const m1 = await scrape(p1);
  const m2 = await scrape(p2);
  assert.equal(value(m1, 'kinu_http_requests_total', { route: 'image', status: '200' }), 3);
  assert.equal(value(m1, 'kinu_pipeline_runs_total'), 1);
  assert.equal(value(m2, 'kinu_http_requests_total', { route: 'image', status: '200' }), 0);
  assert.equal(value(m2, 'kinu_pipeline_runs_total'), 0);
});

test('metrics: a failed pipeline run is counted, without stage timings; 503 while draining is counted', async (t) => {
  const { app } = testServer();
  t.after(() => app.close());
  const port = await listen(app);
  const before = await scrape(port);
  assert.equal((await raw(port, '/corrupt/truncated-bluesquare.jpg?w=10')).status, 422);
  app.kinu.drain();
  assert.equal((await raw(port, '/photos/hato-pigeons.jpg?w=9')).status, 503);
  const after = await scrape(port);
  assert.equal(value(after, 'kinu_pipeline_runs_total') - value(before, 'kinu_pipeline_runs_total'), 1);
  assert.equal(after.find((f) => f.name === 'kinu_pipeline_stage_duration_seconds')?.metrics.length ?? 0, 0);
  assert.equal(value(after, 'kinu_http_requests_total', { route: 'image', status: '422' }), 1);
  assert.equal(value(after, 'kinu_http_requests_total', { route: 'image', status: '503' }), 1);
});

test('metrics: codec threads — a BMP decodes in one, which then idles alive; a corrupt one fails only its request', async (t) => {
  const { app } = testServer();
  t.after(() => app.close());
  const port = await listen(app);
  const before = await scrape(port);
  const res = await raw(port, '/bmp/bmpsuite/g/pal1.bmp?w=9&fmt=png');
  assert.equal(res.status, 200);
  assert.equal((await raw(port, '/corrupt/bmp-invalid-bpp.bmp?w=9')).status, 422);
  const after = await scrape(port);
  // The pool lives for the process and retires idle threads after 60 s: at least the thread that just ran.
  assert.ok(value(after, 'kinu_codec_threads') >= 1, 'a codec thread is alive after a BMP decode');
  assert.equal(value(after, 'kinu_codec_jobs_running'), 0);
  assert.equal(value(after, 'kinu_codec_jobs_waiting'), 0);
  assert.equal(value(after, 'kinu_codec_crashes_total') - value(before, 'kinu_codec_crashes_total'), 0);
  assert.ok(after.text.includes('# TYPE kinu_codec_threads_stopped_total counter'));
});

test('metrics: originals read whole go into recycled buffers, counted and their idle bytes shown', async (t) => {
  const { app } = testServer();
  t.after(() => app.close());
  const port = await listen(app);
  const size = statSync(join(CORPUS, 'photos/hato-pigeons.jpg')).size;
  const before = await scrape(port);
  assert.equal(value(before, 'kinu_original_buffers_free_bytes'), 0);
  for (const w of [16, 17, 18]) assert.equal((await raw(port, `/photos/hato-pigeons.jpg?w=${w}`)).status, 200);
  const after = await scrape(port);
  assert.equal(value(after, 'kinu_original_buffers_total', { result: 'allocated' }), 1);
  assert.equal(value(after, 'kinu_original_buffers_total', { result: 'reused' }), 2);
  assert.equal(value(after, 'kinu_original_buffers_free_bytes'), capacityFor(size));
});
