// The shared result store: encoded variants in an S3 prefix (v/<variantKey>, plus s/<hash>/<variantKey> markers
// for purge), so several instances share their work. An outage or a damaged object is a miss, never a failed
// request. Layout and breaker: ARCHITECTURE.md §4 "Caches".
import { createHash } from 'node:crypto';
import type { S3Client } from '../source/s3-client.ts';
import { parseS3Url } from '../source/s3-url.ts';
import type { Cache, CacheEntry } from './cache.ts';

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
  const maxFailures = options.breaker?.failures ?? 3;
  const cooldownMs = options.breaker?.cooldownMs ?? 10_000;

  let failures = 0;
  let openUntil = 0;
  const available = () => Date.now() >= openUntil;
  const succeeded = () => {
    failures = 0;
  };
  const failed = () => {
    if (++failures >= maxFailures) openUntil = Date.now() + cooldownMs;
  };

  const dataKey = (key: string) => `${prefix}v/${key}`;
  const markerDir = (sourceKey: string) => `${prefix}s/${sha256hex(sourceKey)}/`;

  return {
    tier: 'store',

    async get(key) {
      if (!VARIANT_KEY.test(key) || !available()) return undefined;
      let obj;
      try {
        obj = await client.get(bucket, dataKey(key), { timeoutMs, maxBytes });
        succeeded();
      } catch {
        failed();
        return undefined;
      }
      return obj ? decode(obj.body, obj.metadata) : undefined;
    },

    async set(key, entry) {
      if (!VARIANT_KEY.test(key) || !available() || entry.body.length > maxBytes) return;
      const metadata = encode(entry);
      if (!metadata) return;
      try {
        await client.put(bucket, `${markerDir(entry.sourceKey)}${key}`, Buffer.alloc(0), 'application/octet-stream', {}, { timeoutMs });
        await client.put(bucket, dataKey(key), entry.body, entry.contentType, metadata, { timeoutMs });
        succeeded();
      } catch {
        failed();
      }
    },

    /** Throws when the store cannot be reached (the caller decides what a failed purge means). */
    async purge(sourceKey) {
      const dir = markerDir(sourceKey);
      const markers = await client.list(bucket, dir);
      const variants = markers.map((m) => m.slice(dir.length)).filter((k) => VARIANT_KEY.test(k));
      if (markers.length === 0) return 0;
      // Data first: a marker left behind by a failed delete still finds its variant next time.
      await client.deleteMany(bucket, variants.map(dataKey));
      await client.deleteMany(bucket, markers);
      return variants.length;
    },

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
  if (!contentType || !etag || !Number.isSafeInteger(lastModified) || (vary !== '0' && vary !== '1') || src === undefined) return undefined;
  return { body, contentType, etag, lastModified, varyAccept: vary === '1', sourceKey: Buffer.from(src, 'base64url').toString('utf8') };
}

function sha256hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}
