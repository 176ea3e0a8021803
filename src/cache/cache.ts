// What every cache tier stores and answers: one encoded variant, with what its response needs.
// Tiers (memory, disk, result store) implement `Cache`; `tiered.ts` chains them.

export interface CacheEntry {
  readonly body: Buffer;
  readonly contentType: string;
  /** The variant's strong ETag, quoted. */
  readonly etag: string;
  /** The source's Last-Modified, in ms since the epoch. */
  readonly lastModified: number;
  readonly varyAccept: boolean;
  /** Key of the original this variant was made from, so deleting it can purge every variant. */
  readonly sourceKey: string;
}

export type CacheTier = 'memory' | 'disk' | 'store';

export interface Cache {
  readonly tier: CacheTier;
  /** `key` is the variant key (base64url, 27 chars, filename-safe). A damaged entry is a miss, never served. */
  get(key: string): Promise<CacheEntry | undefined>;
  /** Synchronous lookup, for tiers that can answer without I/O (memory); the hit path uses it. */
  peek?(key: string): CacheEntry | undefined;
  set(key: string, entry: CacheEntry): Promise<void>;
  /** Remove every variant of one original; returns how many went. */
  purge(sourceKey: string): Promise<number>;
  /** Stop background work and release handles (tests, shutdown). */
  close(): Promise<void>;
}
