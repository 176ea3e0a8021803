// Composition root: builds the adapters from their config sections and registers the routes. Never listens.
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import sharp from 'sharp';
import type { Config } from './config.ts';
import { createDeliver } from './deliver.ts';
import { errorHandler, sendProblem } from './http/problem.ts';
import { answerClientError, createHttpServer } from './http/connections.ts';
import { registerImageRoute } from './http/image-route.ts';
import { createFastHit, type FastHit } from './http/fast-hit.ts';
import { kinuRoutes } from './http/kinu-routes.ts';
import { objectsRoutes } from './http/objects-routes.ts';
import { purgeTag } from './http/headers.ts';
import { createObjects } from './objects.ts';
import { createPurgeHooks } from './cache/purge-hook.ts';
import { signUrl } from './url/sign.ts';
import { encodeKey } from './url/key.ts';
import { playgroundRoutes } from './http/playground.ts';
import { createAccess, requestId, type Access } from './http/access.ts';
import { metricsRoute } from './http/metrics-route.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { poolStats } from './pipeline/foreign/pool.ts';
import { logDestination } from './log.ts';
import { createBufferPool, ORIGINALS_POOL_BYTES } from './source/buffer-pool.ts';
import { createLimiter, type Limiter } from './pipeline/limiter.ts';
import { createFileSource } from './source/file.ts';
import { withResilience } from './source/resilient.ts';
import { createS3Source } from './source/s3.ts';
import { createHttpSource } from './source/http.ts';
import { parseS3Url } from './source/s3-url.ts';
import { withStatCache, type StatCachedSource } from './source/stat-cache.ts';
import type { Cache } from './cache/cache.ts';
import { createDiskCache } from './cache/disk.ts';
import { lazyCache } from './cache/lazy.ts';
import { createMemoryCache } from './cache/memory.ts';
import { createResultStore } from './cache/store.ts';
import { createS3Client } from './source/s3-client.ts';
import { createTieredCache, type TieredCache } from './cache/tiered.ts';
import type { Source } from './source/source.ts';
import { parseNative } from './url/native.ts';
import { parseImgproxy } from './url/imgproxy/index.ts';
import { parseCloudflare } from './url/cloudflare/index.ts';
import { parseImgix } from './url/imgix/index.ts';
import { parseIpx } from './url/ipx/index.ts';
import { parseNextjs } from './url/nextjs/index.ts';
import { parseThumbor } from './url/thumbor.ts';
import { parseTofu } from './url/tofu.ts';
import type { DialectName, DialectParser } from './url/dialects.ts';
import { memoParse } from './url/memo.ts';
import { KinuError } from './errors.ts';

// Fastify's router refuses longer path parameters (as invalid_key); the fast path leaves longer URLs to it.
const MAX_PARAM_LENGTH = 4096;

export interface ServerDeps {
  readonly source?: Source;
  readonly limiter?: Limiter;
  readonly cache?: TieredCache;
  /** A pino logger or logger options; tests pass `false`. */
  readonly logger?: boolean | object;
}

export interface KinuServer extends FastifyInstance {
  kinu: {
    source: StatCachedSource;
    limiter: Limiter;
    cache: TieredCache;
    metrics: Metrics;
    drain(): void;
    inFlight(): number;
  };
}

export function buildServer(config: Config, deps: ServerDeps = {}): KinuServer {
  let fastHit: FastHit | undefined;
  let access: Access | undefined;
  let route: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const app = Fastify({
    // Every request gets its id here, and one access-log line and its metrics (http/access.ts).
    // Slow and silent clients are bounded there (http/connections.ts).
    serverFactory: (handler) => {
      route = handler;
      return createHttpServer(
        {
          limits: config.connections,
          uploads: config.management.token !== undefined,
          onDrop: (n) =>
            app.log.warn(
              { dropped: n, maxConnections: config.connections.maxConnections },
              'connections refused: KINU_MAX_CONNECTIONS reached',
            ),
        },
        (req, res) => {
          const started = performance.now();
          const reqId = requestId(req.headers['x-request-id']);
          if (fastHit) return fastHit(req, res, reqId, started);
          access?.follow(req, res, reqId, started);
          handler(req, res);
        },
      );
    },
    // Node's bare 400/408/431 answers, as problem+json.
    clientErrorHandler: answerClientError,
    logger: deps.logger ?? { level: config.server.logLevel, stream: logDestination() },
    logController: new AccessLog(),
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    requestIdHeader: false,
    genReqId: (req) => requestId(req.headers['x-request-id']),
    // Our own onRequest hook answers during shutdown, as problem+json.
    return503OnClosing: false,
    // Bad percent-encoding in the path is caught by the router before any route: answer it as problem+json too.
    frameworkErrors: (error, request, reply) =>
      error.code === 'FST_ERR_BAD_URL' || error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? sendProblem(reply, new KinuError('invalid_key', 'key: malformed percent-encoding or too long'))
        : errorHandler(error, request, reply),
  }) as unknown as KinuServer;

  const adapter = deps.source ?? createSource(config, app);
  const source = withStatCache(
    withResilience(adapter, {
      timeoutMs: config.source.timeoutMs,
      retries: config.source.retries,
      breakerFailures: config.source.breaker.failures,
      breakerCooldownMs: config.source.breaker.cooldownMs,
    }),
    { ttlMs: config.source.statTtlMs, staleMs: config.source.staleMs },
  );
  const cache = deps.cache ?? createTieredCache(cacheTiers(config, app));
  app.addHook('onClose', async () => {
    await cache.close();
  });
  const limiter =
    deps.limiter ??
    createLimiter({
      concurrency: config.limits.concurrency,
      // Half as many more fetch their originals meanwhile, so a slot that frees finds its next original here.
      ahead: Math.ceil(config.limits.concurrency / 2),
      queue: config.limits.queue,
      memoryBytes: config.limits.memoryBytes,
    });
  const originals = createBufferPool({ maxFreeBytes: ORIGINALS_POOL_BYTES });
  const metrics = createMetrics({
    limiter,
    originals: originals.stats,
    sourceHealth: () => source.health?.(),
    cacheHealth: () => cache.health?.(),
    libvips: () => sharp.counters(),
    codecs: poolStats,
  });
  access = createAccess({ log: app.log, metrics });
  const deliver = createDeliver({
    source,
    limiter,
    cache,
    limits: config.limits,
    timeoutMs: config.limits.timeoutMs,
    onPipelineRun: metrics.pipelineRun,
    originals,
  });
  let draining = false;
  app.decorate('kinu', {
    source,
    limiter,
    cache,
    metrics,
    drain: () => {
      draining = true;
    },
    inFlight: () => access?.inFlight() ?? 0,
  });

  app.setErrorHandler(errorHandler);
  app.addHook('onRequest', (request, reply, done) => {
    if (!draining || request.url.startsWith('/_kinu/')) return done();
    reply.header('connection', 'close');
    done(
      new KinuError('shutting_down', 'this instance is shutting down; retry on another', {
        headers: { 'retry-after': '1' },
      }),
    );
  });
  app.setNotFoundHandler((request) => {
    throw new KinuError('route_not_found', `no route ${request.method} ${request.url.split('?')[0]}`);
  });

  const objects = createObjects({
    source,
    cache,
    limiter,
    limits: config.limits,
    timeoutMs: config.limits.timeoutMs,
    purgeTag,
    purge: config.management.purgeUrls.length === 0 ? undefined : createPurgeHooks(config.management.purgeUrls),
    // Other instances may serve the old variant until their remembered version expires; caches in front could
    // take it again in that window, so they are told twice.
    purgeAgainAfterMs: config.source.statTtlMs > 0 ? config.source.statTtlMs + 250 : undefined,
  });
  app.register(objectsRoutes, {
    prefix: '/_kinu',
    token: config.management.token,
    objects,
    maxBytes: config.limits.maxBytes,
    originalPath: (key) => originalPath(config, key),
    publicUrl: config.publicUrl,
  });
  app.register(kinuRoutes, {
    prefix: '/_kinu',
    ready: () => source.ready(),
    draining: () => draining,
    source: () => ({ name: source.name, state: source.health?.().state ?? 'closed' }),
    caches: () => cache.health?.() ?? [],
  });
  app.register(playgroundRoutes, {
    prefix: '/_kinu/playground',
    mode: config.http.playground,
    native: config.http.dialects.native,
    secrets: config.signing.secrets,
    presets: config.presets,
    originals: config.http.originals,
    source,
  });
  app.register(metricsRoute, { prefix: '/_kinu', metrics });
  // Dialects' s3:// and http(s):// source URLs name keys when kinu's source is that bucket or origin.
  const sources = {
    s3: config.source.kind === 's3' ? parseS3Url(config.source.root) : undefined,
    http: config.source.kind === 'http' ? { base: config.source.root } : undefined,
  };
  const dialects: Record<DialectName, (prefix: string) => DialectParser> = {
    native: (prefix) => (rawUrl) =>
      parseNative(rawUrl, {
        prefix,
        secrets: config.signing.secrets,
        presets: config.presets,
        signOriginals: config.http.originals === 'signed',
      }),
    imgproxy: (prefix) => {
      if (config.imgproxy.keys.length === 0)
        app.log.warn(
          `no KINU_IMGPROXY_KEY set: imgproxy URLs under ${prefix || '/'} are unsigned (any signature segment accepted)`,
        );
      return (rawUrl) =>
        parseImgproxy(rawUrl, { prefix, ...config.imgproxy, ...sources, originals: config.http.originals });
    },
    thumbor: (prefix) => {
      if (config.thumbor.keys.length === 0)
        app.log.warn(
          `no KINU_THUMBOR_KEY set: thumbor URLs under ${prefix || '/'} are unsigned (unsafe/ accepted, signatures not checked)`,
        );
      return (rawUrl) => parseThumbor(rawUrl, { prefix, keys: config.thumbor.keys, ...sources });
    },
    tofu: (prefix) => {
      if (config.tofu.secrets.length === 0)
        app.log.warn(
          `no KINU_TOFU_SECRET set: tofu URLs under ${prefix || '/'} are unsigned (the signature token is not checked)`,
        );
      return (rawUrl) =>
        parseTofu(rawUrl, {
          prefix,
          secrets: config.tofu.secrets,
          original: config.tofu.original,
          presets: config.presets,
        });
    },
    imgix: (prefix) => {
      if (config.imgix.tokens.length === 0)
        app.log.warn(`no KINU_IMGIX_TOKEN set: imgix URLs under ${prefix || '/'} are unsigned (s= not checked)`);
      return (rawUrl) => parseImgix(rawUrl, { prefix, ...sources, tokens: config.imgix.tokens });
    },
    cloudflare: (prefix) => {
      app.log.warn(`cloudflare URLs under ${prefix || '/'} are unsigned: Cloudflare's grammar has no signature`);
      return (rawUrl) => parseCloudflare(rawUrl, { prefix, ...sources });
    },
    nextjs: (prefix) => (rawUrl) =>
      parseNextjs(rawUrl, { prefix, ...sources, ...config.nextjs, originals: config.http.originals }),
    ipx: (prefix) => {
      app.log.warn(`ipx URLs under ${prefix || '/'} are unsigned: ipx's grammar has no signature`);
      return (rawUrl) => parseIpx(rawUrl, { prefix, ...sources });
    },
  };
  const mounts: { prefix: string; parse: DialectParser }[] = [];
  for (const [name, prefix] of Object.entries(config.http.dialects) as [DialectName, string][]) {
    // imgproxy's `expires` depends on the clock, so its parses are not remembered.
    const pure = name !== 'imgproxy';
    const parse = pure
      ? memoParse(dialects[name](prefix), { exists: (key) => source.peek(key) !== undefined })
      : dialects[name](prefix);
    if (pure) mounts.push({ prefix, parse });
    registerImageRoute(app, {
      prefix,
      parse,
      deliver,
      cacheControl: config.http.cacheControl,
      originals: config.http.originals,
    });
  }
  fastHit = createFastHit({
    mounts: mounts.sort((a, b) => b.prefix.length - a.prefix.length),
    deliver,
    cacheControl: config.http.cacheControl,
    draining: () => draining,
    log: access.done,
    localTiers: cache.tiers.includes('disk'),
    maxUrlLength: MAX_PARAM_LENGTH,
    follow: access.follow,
    route: (req, res) => route!(req, res),
  });
  return app;
}

/** The native URL path of an original, signed when signing is on; undefined when the native dialect is off. */
function originalPath(config: Config, key: string): string | undefined {
  const prefix = config.http.dialects.native;
  if (prefix === undefined) return undefined;
  const path = `${prefix}/${encodeKey(key)}`;
  const secret = config.signing.secrets[0];
  return secret === undefined ? path : signUrl(secret, path);
}

function createSource(config: Config, app: FastifyInstance): Source {
  const c = config.source;
  if (c.kind === 's3') {
    // One attempt per SDK call: retries, budgets and the breaker are withResilience's, so they can be seen and tuned.
    const client = createS3Client({ endpoint: config.s3.endpoint, maxAttempts: 1, timeoutMs: c.timeoutMs });
    app.addHook('onClose', async () => client.destroy());
    return createS3Source({ url: c.root, client });
  }
  if (c.kind === 'http')
    return createHttpSource({ base: c.root, allowNets: c.http.allowNets, redirects: c.http.redirects });
  return createFileSource({ ...c, log: app.log });
}

function cacheTiers(config: Config, app: FastifyInstance): Cache[] {
  const log = app.log;
  const c = config.cache;
  const tiers: Cache[] = [];
  if (c.memoryBytes > 0) tiers.push(createMemoryCache({ maxBytes: c.memoryBytes }));
  if (c.dir !== undefined) {
    const disk = createDiskCache({ dir: c.dir, maxBytes: c.diskBytes, log });
    disk.catch((err: unknown) => log.error({ err, dir: c.dir }, 'disk cache unusable: running without it'));
    tiers.push(lazyCache('disk', disk));
  }
  if (c.resultStore !== undefined) {
    const client = createS3Client({ endpoint: config.s3.endpoint });
    app.addHook('onClose', async () => client.destroy());
    tiers.push(createResultStore({ url: c.resultStore, client, maxBytes: config.limits.maxBytes, log }));
  }
  return tiers;
}

/** Fastify's two lines per request are replaced by http/access.ts's one; a response that failed is still logged. */
class AccessLog extends LogController {
  override incomingRequest(): void {}
  override requestCompleted(error: Error | null, request: FastifyRequest): void {
    if (error) request.log.error({ err: error }, 'response failed');
  }
}
