// Remembers stat() answers and 404s for `ttlMs`, so a cache hit costs no round trip to the source; while the
// source fails transiently, the last good answer (younger than `staleMs`) comes back marked `staleBecause`.
// Bounds and why: ARCHITECTURE.md §4 "Sources".
import { LRUCache } from 'lru-cache';
import { KinuError, isKinuError, quoted } from '../errors.ts';
import { isTransient } from './failure.ts';
import type { Source, SourceStat } from './source.ts';
import type { SourceHealth } from './resilient.ts';

export interface StatCachedSource extends Source {
  /** A remembered, still fresh stat, without I/O; undefined otherwise (404s included). */
  peek(key: string): SourceStat | undefined;
  /** Drop what is remembered of one key (after an upload or delete). */
  forget(key: string): void;
  health?(): SourceHealth;
  /** Bytes each part holds by its own accounting, and how many keys. */
  memory(): { found: { bytes: number; keys: number }; missing: { bytes: number; keys: number } };
}

export interface StatCacheOptions {
  readonly ttlMs: number;
  readonly staleMs?: number;
  /** Bound of the remembered stats, bytes (default 32 MiB). */
  readonly maxBytes?: number;
  /** Bound of the remembered 404s, bytes (default 4 MiB). */
  readonly maxMissingBytes?: number;
}

/** The share of its TTL after which an entry asked for is refreshed in the background. */
const REFRESH_AT = 0.8;

interface Known {
  readonly at: number;
  readonly stat: SourceStat;
  /** A background lookup was started for it (see `refresh`). */
  refreshing?: true;
}

/** What a remembered key costs: its characters (two bytes each, as V8 may store them) and the entry around it. */
function keyBytes(key: string): number {
  return 2 * key.length + 96;
}

export function withStatCache(source: Source & { health?(): SourceHealth }, opts: StatCacheOptions): StatCachedSource {
  const known = new LRUCache<string, Known>({
    maxSize: opts.maxBytes ?? 32 * 1024 * 1024,
    sizeCalculation: (k, key) => keyBytes(key) + 2 * k.stat.version.length + 160,
  });
  // The time each 404 was seen, nothing more.
  const missing = new LRUCache<string, number>({
    maxSize: opts.maxMissingBytes ?? 4 * 1024 * 1024,
    sizeCalculation: (_at, key) => keyBytes(key),
  });
  const staleMs = opts.staleMs ?? 0;
  // A lookup's answer. An unchanged object keeps its stat object: what is keyed on it (deliver's variant
  // identity) stays valid.
  const remember = (key: string, at: number, stat: SourceStat, before: Known | undefined): SourceStat => {
    const kept =
      before &&
      before.stat.version === stat.version &&
      before.stat.size === stat.size &&
      before.stat.lastModified.getTime() === stat.lastModified.getTime()
        ? before.stat
        : stat;
    if (opts.ttlMs > 0 || staleMs > 0) known.set(key, { at, stat: kept });
    missing.delete(key);
    return kept;
  };
  // A lookup that found no object: remembered as the time it was seen.
  const gone = (key: string, at: number): void => {
    known.delete(key);
    if (opts.ttlMs > 0) missing.set(key, at);
  };
  // A key asked for in the last fifth of its lifetime is looked up again in the background, so one in constant
  // demand never expires and its hits never wait for the source (nor leave the fast path): 1.25 lookups per TTL
  // where every request arriving after expiry made one. Only the entry that started it is replaced (not one a
  // forget() or a newer lookup put there since); a failed refresh leaves it to expire.
  const refresh = (key: string, hit: Known): void => {
    hit.refreshing = true;
    const at = Date.now();
    source.stat(key, {}).then(
      (stat) => {
        if (known.peek(key) === hit) remember(key, at, stat, hit);
      },
      (err) => {
        if (known.peek(key) === hit && isKinuError(err) && err.code === 'not_found') gone(key, at);
      },
    );
  };
  return {
    ...source,
    name: source.name,
    async stat(key, o) {
      const now = Date.now();
      const lost = missing.get(key);
      if (lost !== undefined && now - lost < opts.ttlMs)
        throw new KinuError('not_found', `no object with key ${quoted(key, 128)}`);
      const hit = known.get(key);
      if (hit && now - hit.at < opts.ttlMs) return hit.stat;
      try {
        return remember(key, now, await source.stat(key, o), hit);
      } catch (err) {
        if (isKinuError(err) && err.code === 'not_found') gone(key, now);
        else if (isTransient(err) && hit && now - hit.at < staleMs) {
          // Only while storage fails: a refusal (403) of a key it served before may be a takedown.
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
      if (hit === undefined) return undefined;
      const age = Date.now() - hit.at;
      if (age >= opts.ttlMs) return undefined;
      if (age >= REFRESH_AT * opts.ttlMs && !hit.refreshing) refresh(key, hit);
      return hit.stat;
    },
    forget(key) {
      known.delete(key);
      missing.delete(key);
    },
    memory: () => ({
      found: { bytes: known.calculatedSize, keys: known.size },
      missing: { bytes: missing.calculatedSize, keys: missing.size },
    }),
  };
}
