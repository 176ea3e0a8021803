// A tier whose setup is asynchronous (the disk cache scans its folder) behind the same synchronous
// construction as the others; until it is ready, lookups wait for it, and a failed setup is a tier that misses
// (and says so in its health: op `init`, not ok).
import type { Cache, CacheTier } from './cache.ts';
import { tierHealth } from './health.ts';

export function lazyCache(tier: CacheTier, ready: Promise<Cache>): Cache {
  // No log here: whoever builds the tier logs its failed setup, once, with its context.
  const setup = tierHealth(tier);
  let built: Cache | undefined;
  const cache = ready.then(
    (c) => (built = c),
    (err: unknown) => {
      setup.failed('init', err);
      return undefined;
    },
  );
  return {
    tier,
    get: async (key) => (await cache)?.get(key),
    set: async (key, entry) => (await cache)?.set(key, entry),
    purge: async (sourceKey) => (await cache)?.purge(sourceKey) ?? 0,
    close: async () => (await cache)?.close(),
    health: () => built?.health?.() ?? setup.health(),
  };
}
