// What every cache tier stores and answers: one encoded variant, with what its response needs.
// Tiers (memory, disk, result store) implement `Cache`; `tiered.ts` chains them.
import type { BreakerState } from '../breaker.ts';

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
  /** The quality `q=auto` chose for it (sent as X-Kinu-Quality); absent otherwise. */
  readonly quality?: number;
}

export type CacheTier = 'memory' | 'disk' | 'store';

/** A tier's own account of itself (kinu_cache_errors_total, /_kinu/ready). */
export interface TierHealth {
  readonly tier: CacheTier;
  /** False while an operation's last attempt failed, or while its breaker is not closed. */
  readonly ok: boolean;
  readonly breaker?: BreakerState;
  /** The last failure as `op: CODE` (no message: /_kinu/ready is public; the warn log has the rest). */
  readonly lastError?: string;
  /** Failures swallowed since start, by operation (get, set, delete, purge, init). */
  readonly errors: Readonly<Record<string, number>>;
}

export interface Cache {
  readonly tier: CacheTier;
  /** `key` is the variant key (base64url, 27 chars, filename-safe). A damaged entry is a miss, never served.
   * get and set never throw: a failure is a miss, or a write that did not happen, counted in `health()`. */
  get(key: string): Promise<CacheEntry | undefined>;
  /** Synchronous lookup, for tiers that can answer without I/O (memory); the hit path uses it. */
  peek?(key: string): CacheEntry | undefined;
  set(key: string, entry: CacheEntry): Promise<void>;
  /** Remove every variant of one original; returns how many went. */
  purge(sourceKey: string): Promise<number>;
  /** Stop background work and release handles (tests, shutdown). */
  close(): Promise<void>;
  /** What it swallowed and whether it works now; a tier without one counts as ok with no errors. */
  health?(): TierHealth;
}
