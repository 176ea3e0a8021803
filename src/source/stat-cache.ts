// Remembers stat() answers for a short time, so a cache hit costs no round trip to the source. A 404 is
// remembered too (the short negative cache); other failures never are. An updated original is noticed
// within `ttlMs`.
//
// Stale-if-error: when the source fails (502/504) the last good answer, if younger than `staleMs`, is
// returned marked `staleBecause`, so variants made from it can still be served from any cache tier while
// storage is down.
import { LRUCache } from 'lru-cache';
import { isKinuError } from '../errors.ts';
import type { Source, SourceStat } from './source.ts';
import type { SourceHealth } from './resilient.ts';

export interface StatCachedSource extends Source {
  /** A remembered, still fresh stat, without I/O; undefined otherwise (404s included). */
  peek(key: string): SourceStat | undefined;
  /** Drop what is remembered of one key (after an upload or delete). */
  forget(key: string): void;
  health?(): SourceHealth;
}

interface Known { at: number; stat?: SourceStat; error?: unknown }

export function withStatCache(source: Source & { health?(): SourceHealth }, opts: { ttlMs: number; staleMs?: number; maxKeys?: number }): StatCachedSource {
  const known = new LRUCache<string, Known>({ max: opts.maxKeys ?? 100_000 });
  const staleMs = opts.staleMs ?? 0;
  return {
    ...source,
    name: source.name,
    async stat(key, o) {
      const now = Date.now();
      const hit = known.get(key);
      if (hit && now - hit.at < opts.ttlMs) {
        if (hit.error) throw hit.error;
        return hit.stat!;
      }
      try {
        const stat = await source.stat(key, o);
        if (opts.ttlMs > 0 || staleMs > 0) known.set(key, { at: now, stat });
        return stat;
      } catch (err) {
        if (isKinuError(err) && err.code === 'not_found') {
          if (opts.ttlMs > 0) known.set(key, { at: now, error: err });
          else known.delete(key);
        } else if (isKinuError(err) && (err.code === 'source_failed' || err.code === 'source_timeout') && hit?.stat && now - hit.at < staleMs) {
          return { ...hit.stat, staleBecause: err };
        }
        throw err;
      }
    },
    get: (key, o) => source.get(key, o),
    read: (key, o) => source.read(key, o),
    ready: () => source.ready(),
    ...(source.list ? { list: source.list.bind(source) } : {}),
    ...(source.put ? { put: source.put.bind(source) } : {}),
    ...(source.delete ? { delete: source.delete.bind(source) } : {}),
    ...(source.health ? { health: source.health.bind(source) } : {}),
    peek(key) {
      const hit = known.get(key);
      return hit?.stat && Date.now() - hit.at < opts.ttlMs ? hit.stat : undefined;
    },
    forget(key) {
      known.delete(key);
    },
  };
}
