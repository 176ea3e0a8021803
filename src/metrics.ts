// Prometheus metrics of one server, in its own Registry (tests build many servers per process). Counters kept
// elsewhere (limiter, source health) are read at scrape time, so requests pay nothing; the process metrics are
// made once per process and shared, since each set starts timers that can never be stopped.
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { LimiterStats } from './pipeline/limiter.ts';
import type { SourceHealth } from './source/resilient.ts';

export interface MetricsDeps {
  readonly limiter: { stats(): LimiterStats };
  /** The source's health, if it keeps one; undefined leaves the source metrics at zero. */
  readonly sourceHealth?: () => SourceHealth | undefined;
  /** Each cache tier's swallowed failures by operation (cache/cache.ts TierHealth; metrics may not import cache/). */
  readonly cacheHealth?: () =>
    | readonly { readonly tier: string; readonly errors: Readonly<Record<string, number>> }[]
    | undefined;
  /** sharp.counters(): its pipelines running on libuv's pool now (`process`), and its calls waiting for a pool thread. */
  readonly libvips?: () => { readonly process: number; readonly queue: number };
  /** The recycled original buffers (source/buffer-pool.ts stats): bytes kept free, buffers reused and made. */
  readonly originals?: () => { readonly freeBytes: number; readonly reused: number; readonly allocated: number };
  /** The codec threads of decoders outside sharp (pipeline/foreign/pool.ts poolStats; one pool per process). */
  readonly codecs?: () => {
    readonly alive: number;
    readonly running: number;
    readonly queued: number;
    readonly spawned: number;
    readonly terminated: number;
    readonly crashed: number;
  };
}

/** Low-cardinality route label: image URLs with params, originals, and /_kinu/*. Never the URL. */
export type RouteLabel = 'image' | 'original' | 'kinu';

export interface RequestObservation {
  readonly route: RouteLabel;
  readonly method: string;
  readonly status: number;
  readonly seconds: number;
  /** Body bytes sent (0 for HEAD and 304). */
  readonly bytes: number;
  /** X-Kinu-Cache of the response, if it has one. */
  readonly cache: string | undefined;
}

export interface Metrics {
  readonly registry: Registry;
  /** One answered request (fast path or Fastify). */
  request(o: RequestObservation): void;
  /** One pipeline execution (requests that waited for another's run do not count): its stage timings in ms, or undefined when it failed. */
  pipelineRun(
    timings: { readonly fetch?: number; readonly process?: number; readonly encode?: number } | undefined,
  ): void;
  /** The exposition text and its content type. */
  scrape(): Promise<{ contentType: string; body: string }>;
}

const HTTP_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const STAGE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BREAKER = { closed: 0, half_open: 1, open: 2 } as const;

export function createMetrics(deps: MetricsDeps): Metrics {
  const registry = new Registry();
  const registers = [registry];

  // Per request, plain numbers: prom-client's inc/observe validate and hash labels, about 1 µs a request,
  // a few per cent of a memory hit. They are handed to prom-client when scraped.
  const http = new Map<string, HttpSeries>();
  const bytesByRoute = new Map<RouteLabel, number>();
  const lookupCounts: Record<string, number> = { memory: 0, disk: 0, store: 0, miss: 0 };
  new Counter({
    name: 'kinu_http_requests_total',
    help: 'HTTP requests answered, by route, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers,
    collect() {
      this.reset();
      for (const s of http.values()) this.inc(s.labels, s.count);
    },
  });
  registry.registerMetric(
    histogram(
      'kinu_http_request_duration_seconds',
      'Time from the request reaching kinu to the end of its response.',
      HTTP_BUCKETS,
      http,
    ) as unknown as Parameters<Registry['registerMetric']>[0],
  );
  new Counter({
    name: 'kinu_http_response_bytes_total',
    help: 'Response body bytes sent, by route.',
    labelNames: ['route'] as const,
    registers,
    collect() {
      this.reset();
      for (const [route, n] of bytesByRoute) this.inc({ route }, n);
    },
  });
  new Counter({
    name: 'kinu_cache_lookups_total',
    help: 'Variant requests by the cache tier that answered them (X-Kinu-Cache); miss = made by the pipeline or shared with a run in progress.',
    labelNames: ['result'] as const,
    registers,
    collect() {
      this.reset();
      for (const [result, n] of Object.entries(lookupCounts)) this.inc({ result }, n);
    },
  });
  // Plain numbers too, as the HTTP series: labelled observes cost ~40 µs of a miss on a 2-core VM.
  let runCount = 0;
  new Counter({
    name: 'kinu_pipeline_runs_total',
    help: 'Pipeline executions (fetch, process, encode of one variant), failed ones included; concurrent requests for one variant share a run.',
    registers,
    collect() {
      setCounter(this, runCount);
    },
  });
  const stageSeries = new Map<string, Series>(
    (['fetch', 'process', 'encode'] as const).map((stage) => [
      stage,
      { labels: { stage }, count: 0, sum: 0, buckets: new Array<number>(STAGE_BUCKETS.length).fill(0) },
    ]),
  );
  registry.registerMetric(
    histogram(
      'kinu_pipeline_stage_duration_seconds',
      'Duration of each stage of successful pipeline runs (libvips is lazy: pixel work is counted in encode).',
      STAGE_BUCKETS,
      stageSeries,
    ) as unknown as Parameters<Registry['registerMetric']>[0],
  );
  const stage = (name: 'fetch' | 'process' | 'encode', ms: number | undefined) => {
    if (ms !== undefined) observe(stageSeries.get(name)!, STAGE_BUCKETS, ms / 1000);
  };

  new Gauge({
    name: 'kinu_queue_length',
    help: 'Requests waiting for a pipeline slot.',
    registers,
    collect() {
      this.set(deps.limiter.stats().queued);
    },
  });
  new Gauge({
    name: 'kinu_pipelines_active',
    help: 'Pipelines running now.',
    registers,
    collect() {
      this.set(deps.limiter.stats().active);
    },
  });
  new Gauge({
    name: 'kinu_pipelines_ahead',
    help: 'Requests admitted ahead of a pipeline slot: fetching their original, or holding it until a slot frees (at most half of KINU_CONCURRENCY, rounded up).',
    registers,
    collect() {
      this.set(deps.limiter.stats().ahead);
    },
  });
  new Gauge({
    name: 'kinu_libvips_running',
    help: "Image operations sharp is running on libuv's thread pool now; fewer than kinu_pipelines_active while kinu_libvips_waiting is above 0 means the pool (UV_THREADPOOL_SIZE) is too small.",
    registers,
    collect() {
      this.set(deps.libvips?.().process ?? 0);
    },
  });
  new Gauge({
    name: 'kinu_libvips_waiting',
    help: "sharp calls (pipelines, header reads) waiting for a thread of libuv's pool.",
    registers,
    collect() {
      this.set(deps.libvips?.().queue ?? 0);
    },
  });
  // HEIC, JPEG XL, AVIF sequences and BMP decode in codec threads (KINU_CODEC_WORKERS): their queue is the one to
  // watch when such uploads are common, and stopped/crashed threads show deadlines and codec faults.
  const codecs = () => deps.codecs?.();
  new Gauge({
    name: 'kinu_codec_threads',
    help: 'Codec threads alive now (decoders outside sharp: HEIC, JPEG XL, AVIF sequences, BMP), of KINU_CODEC_WORKERS.',
    registers,
    collect() {
      this.set(codecs()?.alive ?? 0);
    },
  });
  new Gauge({
    name: 'kinu_codec_jobs_running',
    help: 'Decodes and header reads running in codec threads now.',
    registers,
    collect() {
      this.set(codecs()?.running ?? 0);
    },
  });
  new Gauge({
    name: 'kinu_codec_jobs_waiting',
    help: 'Decodes and header reads waiting for a codec thread.',
    registers,
    collect() {
      this.set(codecs()?.queued ?? 0);
    },
  });
  new Counter({
    name: 'kinu_codec_threads_stopped_total',
    help: 'Codec threads terminated because their job passed KINU_TIMEOUT or was abandoned (each is respawned when needed).',
    registers,
    collect() {
      setCounter(this, codecs()?.terminated ?? 0);
    },
  });
  new Counter({
    name: 'kinu_codec_crashes_total',
    help: 'Codec threads lost to a codec fault (out of memory, a WebAssembly trap); only that request failed.',
    registers,
    collect() {
      setCounter(this, codecs()?.crashed ?? 0);
    },
  });
  new Gauge({
    name: 'kinu_original_buffers_free_bytes',
    help: 'Bytes of recycled original buffers kept between misses (bounded: README, Memory and allocator).',
    registers,
    collect() {
      this.set(deps.originals?.().freeBytes ?? 0);
    },
  });
  new Counter({
    name: 'kinu_original_buffers_total',
    help: 'Originals read whole into a recycled buffer (reused) or a new one the pool keeps later (allocated); very small and very large ones are neither.',
    labelNames: ['result'] as const,
    registers,
    collect() {
      const o = deps.originals?.();
      this.reset();
      this.inc({ result: 'reused' }, o?.reused ?? 0);
      this.inc({ result: 'allocated' }, o?.allocated ?? 0);
    },
  });
  new Counter({
    name: 'kinu_rejections_total',
    help: 'Requests refused with 503 overloaded because the queue was full.',
    registers,
    collect() {
      setCounter(this, deps.limiter.stats().rejected);
    },
  });
  new Gauge({
    name: 'kinu_memory_reserved_bytes',
    help: 'Estimated peak memory reserved by the pipelines running now (abandoned ones included), of KINU_MEMORY_BUDGET.',
    registers,
    collect() {
      this.set(deps.limiter.stats().reservedBytes);
    },
  });
  new Gauge({
    name: 'kinu_memory_waiting',
    help: 'Pipelines waiting for their memory reservation to fit the budget.',
    registers,
    collect() {
      this.set(deps.limiter.stats().memoryWaiting);
    },
  });

  const health = () => deps.sourceHealth?.();
  new Counter({
    name: 'kinu_source_errors_total',
    help: 'Failed source calls, each attempt counted, by error code (404s are answers, not errors).',
    labelNames: ['code'] as const,
    registers,
    collect() {
      this.reset();
      for (const [code, n] of Object.entries(health()?.errors ?? {})) this.inc({ code }, n);
    },
  });
  new Counter({
    name: 'kinu_source_retries_total',
    help: 'Source operations retried after a transient failure.',
    registers,
    collect() {
      setCounter(this, health()?.retries ?? 0);
    },
  });
  new Counter({
    name: 'kinu_source_bytes_read_total',
    help: 'Bytes read from the source.',
    registers,
    collect() {
      setCounter(this, health()?.bytesRead ?? 0);
    },
  });
  new Gauge({
    name: 'kinu_source_breaker_state',
    help: 'Source circuit breaker: 0 closed, 1 half-open, 2 open.',
    registers,
    collect() {
      this.set(BREAKER[health()?.state ?? 'closed']);
    },
  });
  new Counter({
    name: 'kinu_cache_errors_total',
    help: 'Cache tier failures swallowed (a tier never fails a request: a failed get is a miss, a failed set a write not made), by tier and operation.',
    labelNames: ['tier', 'op'] as const,
    registers,
    collect() {
      this.reset();
      for (const t of deps.cacheHealth?.() ?? [])
        for (const [op, n] of Object.entries(t.errors)) this.inc({ tier: t.tier, op }, n);
    },
  });

  for (const m of processMetrics().getMetricsAsArray())
    registry.registerMetric(m as unknown as Parameters<Registry['registerMetric']>[0]);

  let last: HttpSeries | undefined;
  const series = (o: RequestObservation): HttpSeries => {
    const id = `${o.route} ${o.method} ${o.status}`;
    let s = http.get(id);
    if (!s) {
      s = {
        labels: { route: o.route, method: o.method, status: String(o.status) },
        route: o.route,
        method: o.method,
        status: o.status,
        count: 0,
        sum: 0,
        buckets: new Array<number>(HTTP_BUCKETS.length).fill(0),
      };
      http.set(id, s);
    }
    return s;
  };

  return {
    registry,
    request(o) {
      // Hits repeat one route, method and status: the last series is reused without building its key.
      let s = last;
      if (s === undefined || s.status !== o.status || s.route !== o.route || s.method !== o.method)
        s = last = series(o);
      observe(s, HTTP_BUCKETS, o.seconds);
      if (o.bytes > 0) bytesByRoute.set(o.route, (bytesByRoute.get(o.route) ?? 0) + o.bytes);
      // A lookup happened for every variant answered 200 (a 304 is answered from the ETag alone).
      if (o.route === 'image' && o.status === 200 && o.cache !== undefined && o.cache in lookupCounts)
        lookupCounts[o.cache]!++;
    },
    pipelineRun(timings) {
      runCount++;
      if (!timings) return;
      stage('fetch', timings.fetch);
      stage('process', timings.process);
      stage('encode', timings.encode);
    },
    async scrape() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

/** One labelled series of a histogram, as plain numbers: `buckets[i]` counts values in (bounds[i-1], bounds[i]]. */
interface Series {
  readonly labels: Record<string, string>;
  count: number;
  sum: number;
  readonly buckets: number[];
}

interface HttpSeries extends Series {
  readonly route: string;
  readonly method: string;
  readonly status: number;
}

function observe(s: Series, bounds: readonly number[], value: number): void {
  s.count++;
  s.sum += value;
  let i = 0;
  while (i < bounds.length && !(value <= bounds[i]!)) i++;
  if (i < bounds.length) s.buckets[i]!++;
}

/** A histogram over series kept as plain numbers, in the shape prom-client's Registry renders (and aggregates). */
function histogram(name: string, help: string, bounds: readonly number[], series: ReadonlyMap<string, Series>) {
  const get = async () => {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const s of series.values()) {
      if (s.count === 0) continue; // as prom-client: a labelled series appears with its first value
      let cumulative = 0;
      bounds.forEach((le, i) => {
        cumulative += s.buckets[i]!;
        values.push({ labels: { ...s.labels, le }, value: cumulative, metricName: `${name}_bucket` });
      });
      values.push({ labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: `${name}_bucket` });
      values.push({ labels: s.labels, value: s.sum, metricName: `${name}_sum` });
      values.push({ labels: s.labels, value: s.count, metricName: `${name}_count` });
    }
    return { name, help, type: 'histogram', values, aggregator: 'sum' };
  };
  return { name, help, type: 'histogram', aggregator: 'sum', get };
}

/** A counter mirrors a cumulative count kept elsewhere. */
function setCounter(c: Counter, value: number): void {
  c.reset();
  c.inc(value);
}

let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}
