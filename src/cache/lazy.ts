// A tier whose setup is asynchronous (the disk cache scans its folder) behind the same synchronous
// construction as the others; until it is ready, lookups wait for it, and a failed setup is a tier that misses.
import type { Cache, CacheTier } from './cache.ts';

export function lazyCache(tier: CacheTier, ready: Promise<Cache>): Cache {
  const cache = ready.catch(() => undefined);
  return {
    tier,
    get: async (key) => (await cache)?.get(key),
    set: async (key, entry) => (await cache)?.set(key, entry),
    purge: async (sourceKey) => (await cache)?.purge(sourceKey) ?? 0,
    close: async () => (await cache)?.close(),
  };
}
