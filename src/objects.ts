// The management use case, free of HTTP: store an original (validated first, stored whole or not at all),
// describe one, delete one with every cached variant of it. Works on any source that can write (file, S3).
import { createHash } from 'node:crypto';
import { originalEtag } from './deliver.ts';
import { KinuError, isKinuError, quoted } from './errors.ts';
import type { PurgeHook } from './cache/purge-hook.ts';
import type { TieredCache } from './cache/tiered.ts';
import { EXTENSIONS, inspectImage, type ImageInfo } from './pipeline/inspect.ts';
import type { Limiter } from './pipeline/limiter.ts';
import { placeholder, type Placeholder } from './pipeline/placeholder.ts';
import type { Limits } from './pipeline/plan.ts';
import type { StatCachedSource } from './source/stat-cache.ts';
import { validateKey } from './url/key.ts';

export interface ObjectsDeps {
  readonly source: StatCachedSource;
  readonly cache: TieredCache;
  readonly limiter: Limiter;
  readonly limits: Limits & { readonly maxBytes: number };
  readonly timeoutMs: number;
  /** Tells caches in front (Varnish) to drop an original's variants; gets X-Kinu-Key's value. */
  readonly purge?: PurgeHook | undefined;
  /** Send the purge again after this long (ms): other instances may serve the old variant until then. */
  readonly purgeAgainAfterMs?: number | undefined;
  /** The X-Kinu-Key value of a key. */
  readonly purgeTag: (key: string) => string;
}

export interface StoredObject {
  readonly key: string;
  readonly width: number;
  readonly height: number;
  readonly format: string;
  readonly bytes: number;
  /** The ETag the original's URL answers with. */
  readonly etag: string;
  /** False when the key held an object before (replaced, or the same content uploaded again). */
  readonly created: boolean;
}

export interface PurgeReport {
  /** Cached variants removed from this instance's tiers (and the shared result store). */
  readonly variants: number;
  /** The purge hook's outcome, when one is configured. */
  readonly hook?: { ok: boolean; status?: number; error?: string };
}

export interface Objects {
  /** `key` given: stored under it; otherwise `<prefix><sha256 of the bytes>.<ext>`, as the 2011 system named files. */
  upload(
    body: Buffer,
    opts: { key?: string; prefix?: string; signal?: AbortSignal },
  ): Promise<StoredObject & { purged?: PurgeReport }>;
  remove(key: string, opts: { signal?: AbortSignal }): Promise<PurgeReport>;
  info(
    key: string,
    opts: { signal?: AbortSignal },
  ): Promise<ImageInfo & Placeholder & { key: string; etag: string; lastModified: Date }>;
}

export function createObjects(deps: ObjectsDeps): Objects {
  const { source, cache, limiter, limits } = deps;

  const writable = (what: string) => {
    if (!source.put || !source.delete) {
      throw new KinuError('method_not_allowed', `the ${source.name} source is read-only: ${what} is not possible`, {
        headers: { allow: 'GET, HEAD' },
      });
    }
    return { put: source.put.bind(source), delete: source.delete.bind(source) };
  };

  const exists = async (key: string, signal?: AbortSignal) => {
    source.forget(key); // ask the store itself: a remembered stat may predate a delete elsewhere
    try {
      return await source.stat(key, { signal });
    } catch (err) {
      if (isKinuError(err) && err.code === 'not_found') return undefined;
      throw err;
    }
  };

  const timeoutSeconds = Math.max(1, Math.ceil(deps.timeoutMs / 1000));
  const inspect = (body: Buffer, signal?: AbortSignal) =>
    limiter.run((lease) => inspectImage(body, limits, { timeoutSeconds, reserve: lease.reserve }), signal);

  async function purgeAll(key: string): Promise<PurgeReport> {
    source.forget(key);
    const variants = await cache.purge(key);
    const purge = deps.purge;
    if (!purge) return { variants };
    const tag = deps.purgeTag(key);
    if (deps.purgeAgainAfterMs !== undefined)
      setTimeout(() => {
        void purge(tag);
      }, deps.purgeAgainAfterMs).unref();
    return { variants, hook: await purge(tag) };
  }

  return {
    async upload(body, opts) {
      const { put } = writable('uploading');
      if (body.length > limits.maxBytes)
        throw new KinuError('upload_too_large', `the upload is ${body.length} bytes; the limit is ${limits.maxBytes}`);
      const info = await inspect(body, opts.signal);
      const key =
        opts.key !== undefined ? checkExtension(validateKey(opts.key), info) : derivedKey(body, info, opts.prefix);
      const before = await exists(key, opts.signal);
      // Content-addressed and already there: the same bytes, nothing to write or purge.
      const unchanged = opts.key === undefined && before?.size === body.length;
      const stat = unchanged ? before! : await put(key, body, { contentType: info.mime, signal: opts.signal });
      source.forget(key);
      const purged = before && !unchanged ? await purgeAll(key) : undefined;
      return {
        key,
        width: info.width,
        height: info.height,
        format: info.format,
        bytes: body.length,
        etag: originalEtag(key, stat.version),
        created: before === undefined,
        ...(purged ? { purged } : {}),
      };
    },

    async remove(key, opts) {
      const { delete: del } = writable('deleting');
      validateKey(key);
      source.forget(key);
      if (!(await del(key, { signal: opts.signal })))
        throw new KinuError('not_found', `no object with key ${quoted(key, 128)}`);
      return purgeAll(key);
    },

    async info(key, opts) {
      validateKey(key);
      const stat = await source.stat(key, { signal: opts.signal });
      if (stat.staleBecause) throw stat.staleBecause;
      const image = await source.read(key, { signal: opts.signal, maxBytes: limits.maxBytes });
      const [info, preview] = await limiter.run(async (lease) => {
        const i = await inspectImage(image, limits, { timeoutSeconds, reserve: lease.reserve });
        return [i, await placeholder(image, { maxPixels: limits.maxPixels })] as const;
      }, opts.signal);
      return { ...info, key, etag: originalEtag(key, stat.version), lastModified: stat.lastModified, ...preview };
    },
  };
}

function derivedKey(body: Buffer, info: ImageInfo, prefix = ''): string {
  if (prefix !== '') validateKey(prefix.replace(/\/+$/, ''));
  const dir = prefix === '' ? '' : `${prefix.replace(/\/+$/, '')}/`;
  return `${dir}${createHash('sha256').update(body).digest('hex')}.${info.ext}`;
}

/** A key whose extension names an image format must name the one its bytes are in: the extension picks the Content-Type of originals. */
function checkExtension(key: string, info: ImageInfo): string {
  const dot = key.lastIndexOf('.');
  const ext = dot > key.lastIndexOf('/') ? key.slice(dot + 1).toLowerCase() : '';
  const claimed = Object.entries(EXTENSIONS).find(([, exts]) => exts.includes(ext))?.[0];
  if (claimed !== undefined && claimed !== info.format) {
    throw new KinuError(
      'invalid_upload',
      `the key ends in .${ext} but the bytes are ${info.format.toUpperCase()}; use .${info.ext}`,
    );
  }
  return key;
}
