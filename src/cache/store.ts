// The shared result store: encoded variants in an S3 prefix (v/<variantKey>, plus s/<hash>/<variantKey> markers
// for purge), so several instances share their work. An outage or a damaged object is a miss, never a failed
// request. Layout and breaker: ARCHITECTURE.md §4 "Caches".
import { createHash } from 'node:crypto';
import { createBreaker } from '../breaker.ts';
import type { S3Client } from '../source/s3-client.ts';
import { parseS3Url } from '../source/s3-url.ts';
import type { Cache, CacheEntry } from './cache.ts';
import { tierHealth, type TierLog } from './health.ts';

export interface ResultStoreOptions {
  /** s3://bucket/prefix (prefix optional). */
  readonly url: string;
  readonly client: S3Client;
  /** Deadline of each get/set, ms. Default 2000. */
  readonly timeoutMs?: number;
  /** Larger objects are not stored, and not read. Default 64 MiB. */
  readonly maxBytes?: number;
  /** Failures in a row that open the breaker (default 3), and how long it stays open (default 10 s). */
  readonly breaker?: { readonly failures?: number; readonly cooldownMs?: number };
  /** Where failures are reported, once per burst. */
  readonly log?: TierLog;
  /** The breaker's and the log's clock (tests); Date.now by default. */
  readonly now?: () => number;
}

const FORMAT = '1';
// AWS allows 2 KB of user metadata in all; the rest of ours stays under 200 bytes.
const MAX_ENCODED_SOURCE_KEY = 1600;
const VARIANT_KEY = /^[A-Za-z0-9_-]{1,128}$/;
const ASCII = /^[\x20-\x7e]*$/;

export { parseS3Url as parseStoreUrl } from '../source/s3-url.ts';

export function createResultStore(options: ResultStoreOptions): Cache {
  const { client } = options;
  const { bucket, prefix } = parseS3Url(options.url);
  const timeoutMs = options.timeoutMs ?? 2000;
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  // While open, get and set are skipped (misses, writes not made); after the cool-down one call probes.
  const breaker = createBreaker({
    failures: options.breaker?.failures ?? 3,
    cooldownMs: options.breaker?.cooldownMs ?? 10_000,
    now: options.now,
  });
  const health = tierHealth('store', { log: options.log, breaker, now: options.now });
  const succeeded = (op: string) => {
    breaker.succeeded();
    health.succeeded(op);
  };
  const failed = (op: string, err: unknown) => {
    breaker.failed();
    health.failed(op, err);
  };

  const dataKey = (key: string) => `${prefix}v/${key}`;
  const markerDir = (sourceKey: string) => `${prefix}s/${sha256hex(sourceKey)}/`;

  return {
    tier: 'store',

    async get(key) {
      if (!VARIANT_KEY.test(key) || !breaker.admit()) return undefined;
      let obj;
      try {
        obj = await client.get(bucket, dataKey(key), { timeoutMs, maxBytes });
        succeeded('get');
      } catch (err) {
        failed('get', err);
        return undefined;
      }
      return obj ? decode(obj.body, obj.metadata) : undefined;
    },

    async set(key, entry) {
      if (!VARIANT_KEY.test(key) || entry.body.length > maxBytes) return;
      const metadata = encode(entry);
      if (!metadata || !breaker.admit()) return;
      try {
        await client.put(
          bucket,
          `${markerDir(entry.sourceKey)}${key}`,
          Buffer.alloc(0),
          'application/octet-stream',
          {},
          { timeoutMs },
        );
        await client.put(bucket, dataKey(key), entry.body, entry.contentType, metadata, { timeoutMs });
        succeeded('set');
      } catch (err) {
        failed('set', err);
      }
    },

    /** Throws when the store cannot be reached (the caller decides what a failed purge means); always tried,
     * whatever the breaker says, and counted in health but not by the breaker (a purge is rare and must not be skipped). */
    async purge(sourceKey) {
      const dir = markerDir(sourceKey);
      try {
        const markers = await client.list(bucket, dir);
        const variants = markers.map((m) => m.slice(dir.length)).filter((k) => VARIANT_KEY.test(k));
        if (markers.length > 0) {
          // Data first: a marker left behind by a failed delete still finds its variant next time.
          await client.deleteMany(bucket, variants.map(dataKey));
          await client.deleteMany(bucket, markers);
        }
        health.succeeded('purge');
        return variants.length;
      } catch (err) {
        health.failed('purge', err);
        throw err;
      }
    },

    health: () => health.health(),

    async close() {
      client.destroy();
    },
  };
}

function encode(e: CacheEntry): Record<string, string> | undefined {
  const src = Buffer.from(e.sourceKey, 'utf8').toString('base64url');
  if (src.length > MAX_ENCODED_SOURCE_KEY || !ASCII.test(e.etag) || !ASCII.test(e.contentType)) return undefined;
  if (!Number.isSafeInteger(e.lastModified)) return undefined;
  return {
    'kinu-v': FORMAT,
    'kinu-len': String(e.body.length),
    'kinu-sha256': createHash('sha256').update(e.body).digest('base64url'),
    'kinu-ct': e.contentType,
    'kinu-etag': e.etag,
    'kinu-lm': String(e.lastModified),
    'kinu-vary': e.varyAccept ? '1' : '0',
    'kinu-src': src,
    ...(e.quality !== undefined && { 'kinu-q': String(e.quality) }),
  };
}

function decode(body: Buffer, m: Record<string, string>): CacheEntry | undefined {
  if (m['kinu-v'] !== FORMAT) return undefined;
  if (m['kinu-len'] !== String(body.length)) return undefined;
  if (m['kinu-sha256'] !== createHash('sha256').update(body).digest('base64url')) return undefined;
  const contentType = m['kinu-ct'];
  const etag = m['kinu-etag'];
  const lastModified = Number(m['kinu-lm']);
  const vary = m['kinu-vary'];
  const src = m['kinu-src'];
  if (
    !contentType ||
    !etag ||
    !Number.isSafeInteger(lastModified) ||
    (vary !== '0' && vary !== '1') ||
    src === undefined
  )
    return undefined;
  const quality = m['kinu-q'] === undefined ? undefined : Number(m['kinu-q']);
  if (quality !== undefined && !Number.isInteger(quality)) return undefined;
  return {
    body,
    contentType,
    etag,
    lastModified,
    varyAccept: vary === '1',
    sourceKey: Buffer.from(src, 'base64url').toString('utf8'),
    ...(quality !== undefined && { quality }),
  };
}

function sha256hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}
