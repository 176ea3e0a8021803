// In-memory LRU bounded in bytes (lru-cache). A per-original index lets a delete purge every variant.
import { LRUCache } from 'lru-cache';
import type { Cache, CacheEntry } from './cache.ts';

// Map, header strings and bookkeeping per entry, so many tiny variants cannot exceed the bound unseen.
const OVERHEAD = 512;

export function createMemoryCache(config: { maxBytes: number }): Cache {
  const bySource = new Map<string, Set<string>>();
  const lru = new LRUCache<string, CacheEntry>({
    maxSize: Math.max(1, config.maxBytes),
    sizeCalculation: (e) => e.body.length + OVERHEAD,
    dispose: (e, key) => {
      const keys = bySource.get(e.sourceKey);
      if (!keys) return;
      keys.delete(key);
      if (keys.size === 0) bySource.delete(e.sourceKey);
    },
  });

  return {
    tier: 'memory',
    async get(key) {
      return lru.get(key);
    },
    peek(key) {
      return lru.get(key);
    },
    async set(key, entry) {
      if (entry.body.length + OVERHEAD > config.maxBytes) return;
      lru.set(key, entry);
      if (!lru.has(key)) return;
      let keys = bySource.get(entry.sourceKey);
      if (!keys) bySource.set(entry.sourceKey, (keys = new Set()));
      keys.add(key);
    },
    async purge(sourceKey) {
      const keys = [...(bySource.get(sourceKey) ?? [])];
      for (const k of keys) lru.delete(k);
      return keys.length;
    },
    async close() {
      lru.clear();
    },
    // Nothing here can fail: a full LRU evicts.
    health: () => ({ tier: 'memory', ok: true, errors: {} }),
  };
}
