// Originals in an S3 bucket (AWS or any S3-compatible store): `s3://bucket/prefix`, key → prefix + key.
// The object's ETag is the version. Reads stream with the byte limit enforced as bytes arrive, so a 5 GB
// object costs at most `maxBytes` of memory before it is refused. Retries, budgets and the breaker are the
// resilient wrapper's job: every call here is one attempt.
import { KinuError } from '../errors.ts';
import { parseS3Url } from './s3-url.ts';
import { permanent, sourceFailure } from './failure.ts';
import { readLimited } from './limit.ts';
import { s3Status, type S3Client, type S3Head } from './s3-client.ts';
import type { Source, SourceStat } from './source.ts';

export interface S3SourceOptions {
  /** s3://bucket/prefix */
  readonly url: string;
  readonly client: S3Client;
}

export function createS3Source(options: S3SourceOptions): Source {
  const { client } = options;
  const { bucket, prefix } = parseS3Url(options.url);
  const path = (key: string) => prefix + key;
  const where = (key: string) => `s3://${bucket}/${path(key)}`;

  const fail = (err: unknown, key: string, signal?: AbortSignal) => {
    const e = sourceFailure(err, `reading ${JSON.stringify(key)}`, signal);
    // 4xx other than timeouts and throttling: credentials, policy or a missing bucket — another try won't help.
    const status = s3Status(err);
    if (e instanceof KinuError && status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) return permanent(e);
    return e;
  };
  const notFound = (key: string) => new KinuError('not_found', `no object with key ${JSON.stringify(key)}`);
  const toStat = (h: S3Head): SourceStat => ({
    version: (h.etag ?? '').replace(/^(W\/)?"|"$/g, '') || `${h.lastModified?.getTime() ?? 0}-${h.size}`,
    size: h.size,
    lastModified: h.lastModified ?? new Date(0),
  });

  return {
    name: 's3',
    async stat(key, { signal }) {
      const h = await client.head(bucket, path(key), { signal }).catch((err) => { throw fail(err, key, signal); });
      if (!h) throw notFound(key);
      return toStat(h);
    },
    async get(key, { signal }) {
      const o = await client.open(bucket, path(key), { signal }).catch((err) => { throw fail(err, key, signal); });
      if (!o) throw notFound(key);
      return { ...toStat(o), body: o.body };
    },
    async read(key, { signal, maxBytes }) {
      const o = await client.open(bucket, path(key), { signal }).catch((err) => { throw fail(err, key, signal); });
      if (!o) throw notFound(key);
      return readLimited(o.body, o.size, maxBytes, signal);
    },
    async list({ limit, signal }) {
      const keys = await client.list(bucket, prefix, { signal, limit }).catch((err) => { throw fail(err, prefix, signal); });
      return keys.map((k) => k.slice(prefix.length)).filter((k) => k && !k.endsWith('/')).sort();
    },
    async put(key, body, { contentType, signal }) {
      try {
        // A known length, and a check of what landed: s3-compatible stores have stored short bodies before.
        await client.put(bucket, path(key), body, contentType, {}, { signal });
        const h = await client.head(bucket, path(key), { signal });
        if (!h || h.size !== body.length) {
          await client.delete(bucket, path(key)).catch(() => {});
          throw new KinuError('source_failed', `${where(key)}: stored ${h?.size ?? 0} bytes of ${body.length}; removed`);
        }
        return toStat(h);
      } catch (err) {
        throw fail(err, key, signal);
      }
    },
    async delete(key, { signal }) {
      try {
        const h = await client.head(bucket, path(key), { signal });
        if (!h) return false;
        await client.delete(bucket, path(key), { signal });
        return true;
      } catch (err) {
        throw fail(err, key, signal);
      }
    },
    async ready() {
      try {
        await client.probe(bucket, { timeoutMs: 2000 });
        return true;
      } catch {
        return false;
      }
    },
  };
}
