// Composition root: builds the adapters from their config sections and registers the routes. Never listens.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Config } from './config.ts';
import { createDeliver } from './deliver.ts';
import { errorHandler, sendProblem } from './http/problem.ts';
import { registerImageRoute } from './http/image-route.ts';
import { createFastHit } from './http/fast-hit.ts';
import { kinuRoutes } from './http/kinu-routes.ts';
import { createLimiter, type Limiter } from './pipeline/limiter.ts';
import { createFileSource } from './source/file.ts';
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
import { parseImgproxy } from './url/imgproxy.ts';
import { parseThumbor } from './url/thumbor.ts';
import { parseTofu } from './url/tofu.ts';
import type { DialectName, DialectParser } from './url/dialects.ts';
import { KinuError } from './errors.ts';

export interface ServerDeps {
  readonly source?: Source;
  readonly limiter?: Limiter;
  readonly cache?: TieredCache;
  /** A pino logger or logger options; tests pass `false`. */
  readonly logger?: boolean | object;
}

export interface KinuServer extends FastifyInstance {
  kinu: { source: StatCachedSource; limiter: Limiter; cache: TieredCache; drain(): void };
}

export function buildServer(config: Config, deps: ServerDeps = {}): KinuServer {
  let fastHit: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
  const app = Fastify({
    serverFactory: (handler) => createServer((req, res) => { if (!fastHit?.(req, res)) handler(req, res); }),
    logger: deps.logger ?? { level: config.server.logLevel },
    logController: new AccessLog(),
    routerOptions: { maxParamLength: 4096 },
    requestIdHeader: 'x-request-id',
    // Our own onRequest hook answers during shutdown, as problem+json.
    return503OnClosing: false,
    // Bad percent-encoding in the path is caught by the router before any route: answer it as problem+json too.
    frameworkErrors: (error, request, reply) => (error.code === 'FST_ERR_BAD_URL' || error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? sendProblem(reply, new KinuError('invalid_key', 'key: malformed percent-encoding or too long'))
      : errorHandler(error, request, reply)),
  }) as unknown as KinuServer;

  const source = withStatCache(deps.source ?? createFileSource(config.source), { ttlMs: config.source.statTtlMs });
  const cache = deps.cache ?? createTieredCache(cacheTiers(config, app.log));
  app.addHook('onClose', async () => { await cache.close(); });
  const limiter = deps.limiter ?? createLimiter({ concurrency: config.limits.concurrency, queue: config.limits.queue });
  const deliver = createDeliver({ source, limiter, cache, limits: config.limits, timeoutMs: config.limits.timeoutMs });
  let draining = false;
  app.decorate('kinu', { source, limiter, cache, drain: () => { draining = true; } });

  app.setErrorHandler(errorHandler);
  app.addHook('onRequest', (request, reply, done) => {
    if (!draining || request.url.startsWith('/_kinu/')) return done();
    reply.header('connection', 'close');
    done(new KinuError('shutting_down', 'this instance is shutting down; retry on another', { headers: { 'retry-after': '1' } }));
  });
  app.setNotFoundHandler((request) => {
    throw new KinuError('route_not_found', `no route ${request.method} ${request.url.split('?')[0]}`);
  });

  app.register(kinuRoutes, { prefix: '/_kinu', ready: () => source.ready(), draining: () => draining });
  const dialects: Record<DialectName, (prefix: string) => DialectParser> = {
    native: (prefix) => (rawUrl) => parseNative(rawUrl, { prefix, secrets: config.signing.secrets, presets: config.presets }),
    imgproxy: (prefix) => {
      if (config.imgproxy.keys.length === 0) app.log.warn(`no KINU_IMGPROXY_KEY set: imgproxy URLs under ${prefix || '/'} are unsigned (any signature segment accepted)`);
      return (rawUrl) => parseImgproxy(rawUrl, { prefix, ...config.imgproxy });
    },
    thumbor: (prefix) => {
      if (config.thumbor.keys.length === 0) app.log.warn(`no KINU_THUMBOR_KEY set: thumbor URLs under ${prefix || '/'} are unsigned (unsafe/ accepted, signatures not checked)`);
      return (rawUrl) => parseThumbor(rawUrl, { prefix, keys: config.thumbor.keys });
    },
    tofu: (prefix) => {
      if (config.tofu.secrets.length === 0) app.log.warn(`no KINU_TOFU_SECRET set: tofu URLs under ${prefix || '/'} are unsigned (the signature token is not checked)`);
      return (rawUrl) => parseTofu(rawUrl, { prefix, secrets: config.tofu.secrets, original: config.tofu.original, presets: config.presets });
    },
  };
  const mounts: { prefix: string; parse: DialectParser }[] = [];
  for (const [name, prefix] of Object.entries(config.http.dialects) as [DialectName, string][]) {
    // imgproxy's `expires` depends on the clock, so its parses are not remembered.
    const pure = name !== 'imgproxy';
    const parse = pure ? memoParse(dialects[name](prefix)) : dialects[name](prefix);
    if (pure) mounts.push({ prefix, parse });
    registerImageRoute(app, { prefix, parse, deliver, cacheControl: config.http.cacheControl, originals: config.http.originals });
  }
  fastHit = createFastHit({
    mounts: mounts.sort((a, b) => b.prefix.length - a.prefix.length),
    deliver,
    cacheControl: config.http.cacheControl,
    draining: () => draining,
    log: (req, status, bytes) => { if (!QUIET.has(app.log.level)) app.log.info({ method: req.method, url: req.url, status, bytes, cache: 'memory' }, 'request'); },
  });
  return app;
}

/** Parsing is pure for these dialects: a repeated URL (every cache hit) skips validation and HMAC. */
function memoParse(parse: DialectParser): DialectParser {
  const seen = new Map<string, ReturnType<DialectParser>>();
  return (rawUrl) => {
    let parsed = seen.get(rawUrl);
    if (parsed === undefined) {
      parsed = parse(rawUrl);
      if (seen.size >= 10_000) seen.clear();
      seen.set(rawUrl, parsed);
    }
    return parsed;
  };
}

function cacheTiers(config: Config, log: FastifyBaseLogger): Cache[] {
  const c = config.cache;
  const tiers: Cache[] = [];
  if (c.memoryBytes > 0) tiers.push(createMemoryCache({ maxBytes: c.memoryBytes }));
  if (c.dir !== undefined) {
    const disk = createDiskCache({ dir: c.dir, maxBytes: c.diskBytes });
    disk.catch((err: unknown) => log.error({ err, dir: c.dir }, 'disk cache unusable: running without it'));
    tiers.push(lazyCache('disk', disk));
  }
  if (c.resultStore !== undefined) {
    const client = createS3Client({ endpoint: config.s3.endpoint });
    tiers.push(createResultStore({ url: c.resultStore, client, maxBytes: config.limits.maxBytes }));
  }
  return tiers;
}

const QUIET = new Set(['warn', 'error', 'fatal', 'silent']);

/** One access-log line per request instead of Fastify's two. */
class AccessLog extends LogController {
  override incomingRequest(): void {}
  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
    if (!error && QUIET.has(request.log.level)) return;
    const line = { method: request.method, url: request.url, status: reply.statusCode, bytes: Number(reply.getHeader('content-length') ?? 0), ms: Math.round(reply.elapsedTime * 10) / 10 };
    if (error) request.log.error({ ...line, err: error }, 'request failed');
    else request.log.info(line, 'request');
  }
}
