// createMetrics on its own: values read at scrape time from the limiter and the source's health (which may
// be absent), Prometheus names and types, parsed with a real text parser.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { createMetrics } from '../src/metrics.ts';
import type { SourceHealth } from '../src/source/resilient.ts';
import { IDLE_LIMITER } from './helpers.ts';

interface Family {
  name: string;
  type: string;
  metrics: { value?: string; labels?: Record<string, string> }[];
}
const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[];

async function families(m: ReturnType<typeof createMetrics>): Promise<Family[]> {
  const { contentType, body } = await m.scrape();
  assert.match(contentType, /^text\/plain; version=0\.0\.4/);
  return parse(body);
}

function value(fs: Family[], name: string, labels: Record<string, string> = {}): number | undefined {
  const m = fs
    .find((f) => f.name === name)
    ?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  return m?.value === undefined ? undefined : Number(m.value);
}

test('limiter and source health are read when scraped', async () => {
  const stats = {
    active: 2,
    ahead: 2,
    queued: 7,
    rejected: 3,
    reservedBytes: 5000,
    memoryWaiting: 1,
    memoryBytes: 1e9,
  };
  let health: SourceHealth = {
    state: 'open',
    errors: { source_timeout: 4, source_failed: 1 },
    retries: 5,
    bytesRead: 12345,
  };
  const originals = { freeBytes: 3 << 20, reused: 40, allocated: 2 };
  const m = createMetrics({ limiter: { stats: () => stats }, sourceHealth: () => health, originals: () => originals });
  let fs = await families(m);
  assert.equal(value(fs, 'kinu_original_buffers_free_bytes'), 3 << 20);
  assert.equal(value(fs, 'kinu_original_buffers_total', { result: 'reused' }), 40);
  assert.equal(value(fs, 'kinu_original_buffers_total', { result: 'allocated' }), 2);
  assert.equal(value(fs, 'kinu_pipelines_active'), 2);
  assert.equal(value(fs, 'kinu_pipelines_ahead'), 2);
  assert.equal(value(fs, 'kinu_queue_length'), 7);
  assert.equal(value(fs, 'kinu_rejections_total'), 3);
  assert.equal(value(fs, 'kinu_memory_reserved_bytes'), 5000);
  assert.equal(value(fs, 'kinu_memory_waiting'), 1);
  assert.equal(value(fs, 'kinu_source_breaker_state'), 2);
  assert.equal(value(fs, 'kinu_source_errors_total', { code: 'source_timeout' }), 4);
  assert.equal(value(fs, 'kinu_source_errors_total', { code: 'source_failed' }), 1);
  assert.equal(value(fs, 'kinu_source_retries_total'), 5);
  assert.equal(value(fs, 'kinu_source_bytes_read_total'), 12345);

  // Cumulative counts kept elsewhere are mirrored, not added up scrape after scrape.
  stats.rejected = 4;
  health = { state: 'half_open', errors: { source_timeout: 6, source_failed: 1 }, retries: 5, bytesRead: 20000 };
  fs = await families(m);
  assert.equal(value(fs, 'kinu_rejections_total'), 4);
  assert.equal(value(fs, 'kinu_source_breaker_state'), 1);
  assert.equal(value(fs, 'kinu_source_errors_total', { code: 'source_timeout' }), 6);
  assert.equal(value(fs, 'kinu_source_bytes_read_total'), 20000);
});

test('without a source health the source metrics are zero, and the scrape still works', async () => {
  const m = createMetrics({
    limiter: IDLE_LIMITER,
  });
  const fs = await families(m);
  assert.equal(value(fs, 'kinu_source_breaker_state'), 0);
  assert.equal(value(fs, 'kinu_source_retries_total'), 0);
  assert.equal(fs.find((f) => f.name === 'kinu_source_errors_total')?.metrics.length, 0);
});

test('names and types follow Prometheus conventions', async () => {
  const m = createMetrics({
    limiter: IDLE_LIMITER,
  });
  m.request({ route: 'image', method: 'GET', status: 200, seconds: 0.002, bytes: 100, cache: 'memory' });
  m.request({ route: 'kinu', method: 'GET', status: 200, seconds: 0.001, bytes: 10, cache: undefined });
  m.pipelineRun({ fetch: 1, process: 2, encode: 3 });
  const fs = await families(m);
  const kinu = fs.filter((f) => f.name.startsWith('kinu_'));
  assert.ok(kinu.length >= 13, kinu.map((f) => f.name).join(' '));
  for (const f of kinu) {
    if (f.type === 'COUNTER') assert.match(f.name, /_total$/, f.name);
    else assert.doesNotMatch(f.name, /_total$/, f.name);
    if (f.type === 'HISTOGRAM') assert.match(f.name, /_seconds$/, f.name);
  }
  assert.equal(value(fs, 'kinu_cache_lookups_total', { result: 'memory' }), 1);
  assert.equal(value(fs, 'kinu_cache_lookups_total', { result: 'miss' }), 0, 'every tier is listed, at zero');
  assert.equal(value(fs, 'kinu_http_response_bytes_total', { route: 'image' }), 100);
  assert.equal(value(fs, 'kinu_pipeline_runs_total'), 1);
  // Process metrics live in the same registry (made once per process, shared by every server's registry).
  assert.ok(fs.some((f) => f.name === 'process_cpu_seconds_total'));
  const again = await families(
    createMetrics({
      limiter: IDLE_LIMITER,
    }),
  );
  assert.ok(again.some((f) => f.name === 'process_cpu_seconds_total'));
  assert.equal(value(again, 'kinu_pipeline_runs_total'), 0);
});
