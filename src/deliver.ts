// The use case, free of HTTP: identify the variant (ETag before any fetch), answer 304 when the client has
// it, otherwise fetch the original and run the pipeline inside a limiter slot.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { LRUCache } from 'lru-cache';
import { FORMATS, originalContentType } from './formats.ts';
import { acceptClass, acceptClassKey } from './pipeline/negotiate.ts';
import type { Limiter } from './pipeline/limiter.ts';
import { runPipeline } from './pipeline/pipeline.ts';
import { createHeaderMemo } from './pipeline/header-memo.ts';
import { describeOutput } from './pipeline/describe.ts';
import type { Limits } from './pipeline/plan.ts';
import { type BufferPool, createBufferPool, ORIGINALS_POOL_BYTES } from './source/buffer-pool.ts';
import { checkSize } from './source/limit.ts';
import { sniffStream } from './source/sniff.ts';
import type { Source, SourceStat } from './source/source.ts';
import { canonicalKey, overlayKeys, type Overlay, type Transform } from './transform.ts';
import { isKinuError, KinuError, quoted, type ErrorCode } from './errors.ts';
import type { CacheEntry, CacheTier } from './cache/cache.ts';
import { createSingleFlight } from './cache/single-flight.ts';
import { createDoor } from './door.ts';
import type { TieredCache } from './cache/tiered.ts';

export interface DeliverRequest {
  readonly key: string;
  /** null asks for the original bytes, unchanged. */
  readonly transform: Transform | null;
  readonly accept?: string | undefined;
  readonly ifNoneMatch?: string | undefined;
  readonly ifModifiedSince?: string | undefined;
  readonly signal?: AbortSignal;
}

interface Common {
  readonly status: 200 | 304;
  readonly etag: string;
  readonly lastModified: Date;
  readonly contentType: string;
  readonly varyAccept: boolean;
  /** The original's key: sent as X-Kinu-Key so a cache in front can ban every variant of one original. */
  readonly sourceKey: string;
  /** Set when the source failed and this is a cached variant of its last good version (stale-if-error): why. */
  readonly stale?: ErrorCode;
  /** Which tier answered; `miss` when the pipeline ran (or a 304 / an original, which no tier holds: a 304 sends no X-Kinu-Cache). */
  readonly cache: CacheTier | 'miss';
  /** Milliseconds per stage, for Server-Timing. */
  readonly timings: { cache?: number; fetch?: number; process?: number; encode?: number };
}

export type Delivery =
  | (Common & {
      readonly kind: 'original';
      readonly size: number;
      readonly contentEncoding: string | undefined;
      readonly body: Readable | undefined;
    })
  | (Common & {
      readonly kind: 'variant';
      readonly body: Buffer | undefined;
      /** The quality `q=auto` chose (X-Kinu-Quality). */
      readonly quality?: number | undefined;
    });

export interface DeliverDeps {
  readonly source: Source & { peek?(key: string): SourceStat | undefined };
  readonly limiter: Limiter;
  readonly limits: Limits & { readonly maxBytes: number };
  readonly timeoutMs: number;
  readonly cache?: TieredCache;
  /** Called once per pipeline execution (not per request sharing it): its stage timings, or undefined if it failed. */
  readonly onPipelineRun?: (timings: Delivery['timings'] | undefined) => void;
  /** Where originals read whole are recycled; default one of ORIGINALS_POOL_BYTES. */
  readonly originals?: BufferPool;
}

export interface Deliver {
  (req: DeliverRequest): Promise<Delivery>;
  /** The answer when it needs no I/O at all (a fresh stat and a memory hit, or a 304); else undefined. */
  peek(req: DeliverRequest): Delivery | undefined;
  /** As `peek`, also answering from the disk tier: a hit or a 304 on this machine, whose source stat needs no
   *  I/O; undefined when the request needs the whole path (the caller then runs it, at the cost of one index
   *  lookup more on a miss). */
  hit(req: DeliverRequest): Promise<Delivery | undefined>;
}

interface Produced {
  entry: CacheEntry;
  timings: Delivery['timings'];
}

export function createDeliver(deps: DeliverDeps): Deliver {
  const { source, limiter, limits, cache } = deps;
  const flights = createSingleFlight<Produced>();
  const headers = createHeaderMemo();
  const originals = deps.originals ?? createBufferPool({ maxFreeBytes: ORIGINALS_POOL_BYTES });
  const fetchBytes = (key: string, signal?: AbortSignal) =>
    source.read(key, { signal, maxBytes: limits.maxBytes, alloc: originals.take });

  // Runs once per variant key however many requests wait for it. Admitted before the fetch (so the bytes of
  // originals in memory are bounded too), in a pipeline slot only once the original is here: a core is not
  // left idle while the source answers.
  const produce =
    (
      req: DeliverRequest,
      t: Transform,
      common: { etag: string; lastModified: Date; varyAccept: boolean },
      deadline: number,
      version: string,
    ) =>
    (signal: AbortSignal): Promise<Produced> =>
      limiter.admit(
        reported(deps.onPipelineRun, async (admission) => {
          const t0 = performance.now();
          const overlays = overlayKeys(t);
          const [input, ...fetched] = await Promise.all([
            fetchBytes(req.key, signal),
            ...overlays.map(([, key]) => fetchBytes(key, signal)),
          ]);
          const images: Partial<Record<Overlay, Buffer>> = {};
          for (const [i, [role]] of overlays.entries()) images[role] = fetched[i];
          const fetchMs = performance.now() - t0;
          const out = await admission.run((lease) =>
            runPipeline(input, t, {
              limits,
              timeoutMs: deps.timeoutMs,
              deadline,
              reserve: lease.reserve,
              // Keyed by what the ETag is made of: other bytes under the same key have another version.
              header: { memo: headers, id: `${req.key}\0${version}` },
              accept: acceptClass(req.accept),
              signal,
              ...images,
            }),
          );
          const json = t.format === 'json';
          // A copy of exactly its length: libvips' output buffer holds 2–3× its size in RSS, so caching it as is
          // would make KINU_MEMORY_CACHE_MB undercount real memory by that much.
          const entry: CacheEntry = {
            body: json ? Buffer.from(JSON.stringify(await describeOutput(out))) : Buffer.from(out.data),
            contentType: json ? 'application/json; charset=utf-8' : FORMATS[out.format].mime,
            etag: common.etag,
            lastModified: common.lastModified.getTime(),
            varyAccept: common.varyAccept,
            sourceKey: req.key,
            ...(out.quality !== undefined && { quality: out.quality }),
          };
          // The pipeline has succeeded and the entry is a copy: nothing reads these bytes any more. (After a failure
          // they are left to the collector: a step that failed is not proven to have stopped reading them.)
          originals.give(input);
          for (const b of fetched) originals.give(b);
          return { entry, timings: { fetch: fetchMs, ...out.timings } };
        }),
        signal,
      );

  /**
   * The flight, answered by the deadline whatever libvips is doing: the waiter leaves with a 504, and once no
   * one waits the flight is aborted (it stops at its next step; libvips at its next progress tick). Its slot
   * and memory stay taken until the native work really ends, so abandoned work still counts.
   */
  async function produceBy(
    key: string,
    req: DeliverRequest,
    t: Transform,
    common: Identity,
    deadline: number,
    version: string,
  ) {
    const late = new AbortController();
    const seconds = deps.timeoutMs / 1000;
    const timer = setTimeout(
      () =>
        late.abort(
          new KinuError(
            'processing_timeout',
            `the image was not ready within the time limit (KINU_TIMEOUT) of ${seconds} s, time waiting for a pipeline slot included`,
          ),
        ),
      Math.max(0, deadline - Date.now()),
    );
    // The client going away aborts it too (a listener, not AbortSignal.any: ~30 µs less a miss on Node 20).
    const client = req.signal;
    const onGone = () => late.abort(client!.reason);
    if (client?.aborted) onGone();
    else client?.addEventListener('abort', onGone, { once: true });
    try {
      return await flights.run(key, produce(req, t, common, deadline, version), late.signal);
    } finally {
      clearTimeout(timer);
      client?.removeEventListener('abort', onGone);
    }
  }

  // Hits repeat one parsed transform object per URL (url/memo.ts): its last identity is kept on it, so a hit
  // builds no long string and hashes nothing. Any input that differs (key, stat, overlays, Accept) recomputes.
  const identities = new WeakMap<
    Transform,
    { key: string; stat: SourceStat; overlays: string | undefined; accept: string | undefined; id: Identified }
  >();
  function identify(req: DeliverRequest, stat: SourceStat, overlaysVersion: string | undefined): Identified {
    const t = req.transform;
    const negotiated = t?.format === 'auto' || t?.format === 'best';
    const last = t && identities.get(t);
    if (
      last &&
      last.stat === stat &&
      last.key === req.key &&
      last.overlays === overlaysVersion &&
      (!negotiated || last.accept === req.accept)
    )
      return last.id;
    const variant =
      t === null
        ? 'original'
        : `${canonicalKey(t)}|${negotiated ? acceptClassKey(acceptClass(req.accept)) : ''}|${overlaysVersion ?? ''}`;
    const key = variantKey(`${req.key}\0${stat.version}\0${variant}`);
    const id = {
      key,
      common: { etag: `"${key}"`, lastModified: stat.lastModified, varyAccept: negotiated, sourceKey: req.key },
    };
    if (t) identities.set(t, { key: req.key, stat, overlays: overlaysVersion, accept: req.accept, id });
    return id;
  }

  // A plain literal, as hitDelivery (withIdentity's spread costs more on the 304 fast path).
  const notModifiedDelivery = (req: DeliverRequest, common: Identity): Delivery => ({
    etag: common.etag,
    lastModified: common.lastModified,
    varyAccept: common.varyAccept,
    sourceKey: common.sourceKey,
    kind: 'variant',
    status: 304,
    body: undefined,
    // The content type of a 304 is not sent; the original's is cheap to name and harmless.
    contentType: originalContentType(req.key),
    cache: 'miss',
    timings: {},
  });

  const deliver = async function deliver(req: DeliverRequest): Promise<Delivery> {
    // KINU_TIMEOUT counts from the request's arrival: source lookups and queueing spend it too.
    const deadline = Date.now() + deps.timeoutMs;
    const t = req.transform;
    // The overlays' versions (watermark, frame) are part of the ETag too: a new logo must not be served under an
    // old tag. `req` is passed as the options: its signal is read only if the source really has to be asked.
    const overlays = t ? overlayKeys(t) : [];
    const [stat, ...overlayStats] =
      overlays.length > 0
        ? await Promise.all([source.stat(req.key, req), ...overlays.map(([, key]) => source.stat(key, req))])
        : [await source.stat(req.key, req)];
    // One overlay's version alone is what the watermark's was: ETags of watermarked variants stay as they were.
    const { key, common } = identify(req, stat, overlayStats.map((s) => s.version).join('\0') || undefined);
    if (notModified(req, common.etag, stat.lastModified)) return notModifiedDelivery(req, common);
    // The source is failing and these are its last good versions: only a cached variant can be served.
    const staleBecause = stat.staleBecause ?? overlayStats.find((s) => s.staleBecause)?.staleBecause;

    if (t === null) {
      if (staleBecause) throw staleBecause;
      // Streamed, so memory is not at stake, but the limit still names the largest original kinu reads.
      checkSize(stat.size, limits.maxBytes);
      const t0 = performance.now();
      const obj = await source.get(req.key, { signal: req.signal });
      // Only images leave as originals, known by their first bytes, not their name: anything else is "not found",
      // the same answer as a missing key, so a probe learns nothing about what else the source holds.
      const { sniffed, body } = await sniffStream(obj.body);
      if (!sniffed) {
        body.destroy();
        throw new KinuError('not_found', `no object with key ${quoted(req.key, 128)}`, {
          cause: new Error('not an image: its first bytes match no image format'),
        });
      }
      return withIdentity(common, {
        kind: 'original',
        status: 200,
        size: obj.size,
        body,
        contentEncoding: sniffed.encoding,
        contentType: sniffed.mime,
        lastModified: obj.lastModified,
        cache: 'miss',
        timings: { fetch: performance.now() - t0 },
      });
    }

    const c0 = performance.now();
    const hit = await cache?.get(key);
    if (hit) {
      const e = hit.entry;
      const stale = isKinuError(staleBecause) ? staleBecause.code : undefined;
      return withIdentity(common, {
        kind: 'variant',
        status: 200,
        body: e.body,
        contentType: e.contentType,
        quality: e.quality,
        cache: hit.tier,
        timings: { cache: performance.now() - c0 },
        ...(stale && { stale }),
      });
    }
    if (staleBecause) throw staleBecause;
    const { value, shared } = await produceBy(key, req, t, common, deadline, stat.version);
    if (!shared) cache?.set(key, value.entry);
    const e = value.entry;
    return withIdentity(common, {
      kind: 'variant',
      status: 200,
      body: e.body,
      contentType: e.contentType,
      quality: e.quality,
      cache: 'miss',
      timings: value.timings,
    });
  };

  /** A request whose identity is known without I/O: its 304, or its variant key to look up; else undefined. */
  function known(req: DeliverRequest): Delivery | Identified | undefined {
    const t = req.transform;
    if (t === null || overlayKeys(t).length > 0 || !cache) return undefined;
    const stat = source.peek?.(req.key);
    if (!stat) return undefined;
    const id = identify(req, stat, undefined);
    return notModified(req, id.common.etag, stat.lastModified) ? notModifiedDelivery(req, id.common) : id;
  }
  // Every hit builds one: a plain literal, as withIdentity's spread (CopyDataProperties) costs more per hit.
  const hitDelivery = (common: Identity, e: CacheEntry, tier: CacheTier, c0: number): Delivery => ({
    etag: common.etag,
    lastModified: common.lastModified,
    varyAccept: common.varyAccept,
    sourceKey: common.sourceKey,
    kind: 'variant',
    status: 200,
    body: e.body,
    contentType: e.contentType,
    quality: e.quality,
    cache: tier,
    timings: { cache: performance.now() - c0 },
  });

  return Object.assign(deliver, {
    peek(req: DeliverRequest): Delivery | undefined {
      const found = known(req);
      if (!found || 'status' in found) return found;
      const c0 = performance.now();
      const e = cache!.peek(found.key);
      return e && hitDelivery(found.common, e, 'memory', c0);
    },
    async hit(req: DeliverRequest): Promise<Delivery | undefined> {
      const found = known(req);
      if (!found || 'status' in found) return found;
      const c0 = performance.now();
      const got = await cache!.getLocal(found.key);
      return got && hitDelivery(found.common, got.entry, got.tier, c0);
    },
  });
}

type Identity = Pick<Common, 'etag' | 'lastModified' | 'varyAccept' | 'sourceKey'>;
interface Identified {
  readonly key: string;
  readonly common: Identity;
}
type Rest<D> = D extends unknown ? Omit<D, keyof Identity> & Partial<Identity> : never;

/** `{ ...common, ...rest }` spelled out: Node 20's V8 builds a literal that starts with a spread and goes on with
 * properties on a slow path, 2–8 µs each (a tenth of a memory hit); a trailing spread is fast. */
function withIdentity(c: Identity, rest: Rest<Delivery>): Delivery {
  return {
    etag: c.etag,
    lastModified: c.lastModified,
    varyAccept: c.varyAccept,
    sourceKey: c.sourceKey,
    ...rest,
  } as Delivery;
}

/** Wraps one pipeline execution so it is reported once, done or failed. */
function reported<A>(
  report: DeliverDeps['onPipelineRun'],
  run: (arg: A) => Promise<Produced>,
): (arg: A) => Promise<Produced> {
  if (!report) return run;
  return async (arg) => {
    let produced: Produced | undefined;
    try {
      produced = await run(arg);
      return produced;
    } finally {
      report(produced?.timings);
    }
  };
}

/** The ETag a request for the original bytes (no params) answers with. */
export function originalEtag(key: string, version: string): string {
  return `"${variantKey(`${key}\0${version}\0original`)}"`;
}

// Hits ask for the same few variants again and again: remember their keys instead of hashing each time, from
// an id's second hashing on (door.ts: a miss's id is mostly never asked again, and kept it would be a
// long-lived entry per miss). Bounded in bytes (two per character, as V8 may store them), since an id holds a
// key that may be KBs long.
const KEYS = new LRUCache<string, string>({
  maxSize: 4 * 1024 * 1024,
  sizeCalculation: (key, id) => 2 * (id.length + key.length) + 96,
});
const hashedBefore = createDoor();
function variantKey(id: string): string {
  let key = KEYS.get(id);
  if (key === undefined) {
    key = createHash('sha256').update(id).digest('base64url').slice(0, 27);
    if (hashedBefore(id)) KEYS.set(id, key);
  }
  return key;
}

/** Variant keys remembered (for tests): entries and their accounted bytes. */
export function variantKeysHeld(): { readonly entries: number; readonly bytes: number } {
  return { entries: KEYS.size, bytes: KEYS.calculatedSize };
}

/** If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2). */
function notModified(req: DeliverRequest, etag: string, lastModified: Date): boolean {
  if (req.ifNoneMatch !== undefined) {
    // A revalidating browser or CDN sends back the one ETag it holds: compared before any splitting.
    if (req.ifNoneMatch === etag) return true;
    return req.ifNoneMatch.split(',').some((tag) => {
      const v = tag.trim();
      return v === '*' || v === etag || v === `W/${etag}`;
    });
  }
  if (req.ifModifiedSince !== undefined) {
    const since = Date.parse(req.ifModifiedSince);
    return !Number.isNaN(since) && Math.floor(lastModified.getTime() / 1000) * 1000 <= since;
  }
  return false;
}
