// Originals in an S3 bucket (AWS or any S3-compatible store): `s3://bucket/prefix`, key → prefix + key.
// The object's ETag is the version. Reads stream with the byte limit enforced as bytes arrive, so a 5 GB
// object costs at most `maxBytes` of memory before it is refused. Retries, budgets and the breaker are the
// resilient wrapper's job: every call here is one attempt.
import { KinuError, quoted } from '../errors.ts';
import { parseS3Url } from './s3-url.ts';
import { permanent, sourceFailure } from './failure.ts';
import { readLimited } from './limit.ts';
import { s3Status, type S3Client, type S3Head } from './s3-client.ts';
import type { Source, SourceStat } from './source.ts';

const MAX_KEY_BYTES = 1024;

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
    if (
      e instanceof KinuError &&
      status !== undefined &&
      status >= 400 &&
      status < 500 &&
      status !== 408 &&
      status !== 429
    )
      return permanent(e);
    return e;
  };
  const notFound = (key: string) => new KinuError('not_found', `no object with key ${quoted(key, 128)}`);
  // S3 keys are at most 1024 bytes (UTF-8): a longer one cannot exist, and asking would only earn a 400.
  const tooLong = (key: string) => Buffer.byteLength(path(key)) > MAX_KEY_BYTES;
  /** HeadObject, or on its code-less 403 a GetObject whose error code tells a missing key from bad credentials. */
  const head = async (key: string, signal?: AbortSignal): Promise<SourceStat | undefined> => {
    if (tooLong(key)) return undefined;
    try {
      const h = await client.head(bucket, path(key), { signal });
      return h && toStat(h);
    } catch (err) {
      if (s3Status(err) !== 403) throw err;
      const o = await client.open(bucket, path(key), { signal });
      o?.body.destroy();
      return o && toStat(o);
    }
  };
  const toStat = (h: S3Head): SourceStat => ({
    version: (h.etag ?? '').replace(/^(W\/)?"|"$/g, '') || `${h.lastModified?.getTime() ?? 0}-${h.size}`,
    size: h.size,
    lastModified: h.lastModified ?? new Date(0),
  });

  return {
    name: 's3',
    async stat(key, { signal }) {
      const st = await head(key, signal).catch((err) => {
        throw fail(err, key, signal);
      });
      if (!st) throw notFound(key);
      return st;
    },
    async get(key, { signal }) {
      if (tooLong(key)) throw notFound(key);
      const o = await client.open(bucket, path(key), { signal }).catch((err) => {
        throw fail(err, key, signal);
      });
      if (!o) throw notFound(key);
      return { ...toStat(o), body: o.body };
    },
    async read(key, { signal, maxBytes, alloc }) {
      if (tooLong(key)) throw notFound(key);
      const o = await client.open(bucket, path(key), { signal }).catch((err) => {
        throw fail(err, key, signal);
      });
      if (!o) throw notFound(key);
      return readLimited(o.body, o.size, maxBytes, signal, alloc);
    },
    async list({ limit, signal }) {
      const keys = await client.list(bucket, prefix, { signal, limit }).catch((err) => {
        throw fail(err, prefix, signal);
      });
      return keys
        .map((k) => k.slice(prefix.length))
        .filter((k) => k && !k.endsWith('/'))
        .sort();
    },
    async put(key, body, { contentType, signal }) {
      if (tooLong(key))
        throw new KinuError(
          'invalid_key',
          `key ${quoted(key)}: S3 keys are at most ${MAX_KEY_BYTES} bytes, prefix included`,
        );
      try {
        // A known length, and a check of what landed: s3-compatible stores have stored short bodies before.
        await client.put(bucket, path(key), body, contentType, {}, { signal });
        const h = await client.head(bucket, path(key), { signal });
        if (!h || h.size !== body.length) {
          await client.delete(bucket, path(key)).catch(() => {});
          throw new KinuError(
            'source_failed',
            `${where(key)}: stored ${h?.size ?? 0} bytes of ${body.length}; removed`,
          );
        }
        return toStat(h);
      } catch (err) {
        throw fail(err, key, signal);
      }
    },
    async delete(key, { signal }) {
      try {
        if (!(await head(key, signal))) return false;
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
      } catch (err) {
        if (s3Status(err) !== 403) return false;
      }
      // HeadBucket needs s3:ListBucket; a role with only s3:GetObject is ready when a GET is answered
      // NoSuchKey or AccessDenied (not InvalidAccessKeyId, SignatureDoesNotMatch, …).
      try {
        (await client.open(bucket, `${prefix}.kinu-ready-probe`, { timeoutMs: 2000 }))?.body.destroy();
        return true;
      } catch {
        return false;
      }
    },
  };
}
