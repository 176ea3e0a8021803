// memory → disk → result store. A hit in a lower tier fills the tiers above it; a miss filled by the
// pipeline is written to every tier. Writes below memory run in the background and never fail a request.
import type { Cache, CacheEntry, CacheTier, TierHealth } from './cache.ts';
import { tierHealth } from './health.ts';

export interface TieredCache {
  get(key: string): Promise<{ entry: CacheEntry; tier: CacheTier } | undefined>;
  /** `get` from the tiers on this machine only (memory, disk): no network, so the hit path may try it before
   *  a miss goes the whole way, without asking the result store twice. */
  getLocal(key: string): Promise<{ entry: CacheEntry; tier: CacheTier } | undefined>;
  /** The first tier's entry if it can be had without I/O. */
  peek(key: string): CacheEntry | undefined;
  set(key: string, entry: CacheEntry): void;
  purge(sourceKey: string): Promise<number>;
  /** Wait for background writes (tests, shutdown). */
  flush(): Promise<void>;
  close(): Promise<void>;
  readonly tiers: readonly CacheTier[];
  /** Each tier's health, in order (optional so that fakes need not have one). */
  health?(): TierHealth[];
}

export function createTieredCache(tiers: readonly Cache[]): TieredCache {
  // Real tiers count their own failures; what a tier without health() throws is counted here instead.
  const own = tiers.map((t) => (t.health ? undefined : tierHealth(t.tier)));
  const swallow = (i: number, op: string) => (err: unknown) => {
    own[i]?.failed(op, err);
  };
  const pending = new Set<Promise<unknown>>();
  const background = (p: Promise<unknown>) => {
    const q = p.finally(() => pending.delete(q));
    pending.add(q);
  };
  const fill = (upto: number, key: string, entry: CacheEntry) => {
    for (let i = 0; i < upto; i++) background(tiers[i]!.set(key, entry).catch(swallow(i, 'set')));
  };

  const local = tiers.findIndex((t) => t.tier === 'store');
  const upTo = async (n: number, key: string) => {
    for (let i = 0; i < n; i++) {
      const entry = await tiers[i]!.get(key).catch(swallow(i, 'get'));
      if (entry) {
        fill(i, key, entry);
        return { entry, tier: tiers[i]!.tier };
      }
    }
    return undefined;
  };

  return {
    tiers: tiers.map((t) => t.tier),
    get: (key) => upTo(tiers.length, key),
    getLocal: (key) => upTo(local === -1 ? tiers.length : local, key),
    peek(key) {
      return tiers[0]?.peek?.(key);
    },
    set(key, entry) {
      fill(tiers.length, key, entry);
    },
    async purge(sourceKey) {
      await this.flush();
      const counts = await Promise.all(
        tiers.map((t, i) =>
          t.purge(sourceKey).catch((err: unknown) => {
            swallow(i, 'purge')(err);
            return 0;
          }),
        ),
      );
      return counts.reduce((a, b) => a + b, 0);
    },
    async flush() {
      while (pending.size > 0) await Promise.all([...pending]);
    },
    health() {
      return tiers.map((t, i) => t.health?.() ?? own[i]!.health());
    },
    async close() {
      await this.flush();
      await Promise.all(tiers.map((t) => t.close()));
    },
  };
}
