// What the core needs from wherever originals live. Adapters (file, s3, http) implement it and throw
// KinuError (not_found, source_failed, source_timeout, source_too_large) for every failure.
import type { Readable } from 'node:stream';

export interface SourceStat {
  /** Changes whenever the object's bytes change: ETag for S3, mtime+size for files. */
  readonly version: string;
  /** Bytes; -1 when the store does not say (an HTTP origin answering without Content-Length). */
  readonly size: number;
  readonly lastModified: Date;
  /**
   * Set by the stat cache when the source just failed and this is the last good answer it had (stale-if-error):
   * the failure, to be thrown if nothing cached can be served instead.
   */
  readonly staleBecause?: unknown;
}

export interface SourceObject extends SourceStat {
  readonly body: Readable;
}

export interface ReadOptions {
  readonly signal?: AbortSignal;
  readonly maxBytes: number;
  readonly alloc?: (size: number) => Buffer;
}

export interface Source {
  readonly name: string;
  stat(key: string, opts: { signal?: AbortSignal }): Promise<SourceStat>;
  /** A stream of the object, for originals served unchanged. */
  get(key: string, opts: { signal?: AbortSignal }): Promise<SourceObject>;
  /**
   * The whole object in one buffer, for the pipeline; source_too_large (413) past maxBytes. An adapter that knows
   * the size may get the buffer from `alloc` (a recycled one), but only if nothing writes into it once `read` has
   * settled, whatever happened.
   */
  read(key: string, opts: ReadOptions): Promise<Buffer>;
  /** Up to `limit` keys of images in the source, sorted (the playground's sample list); optional. */
  list?(opts: { limit: number; signal?: AbortSignal }): Promise<string[]>;
  /**
   * Stores an original atomically: readers see the old bytes or the new ones, never a part; a failure leaves
   * nothing behind. Absent on read-only sources (HTTP).
   */
  put?(key: string, body: Buffer, opts: { contentType: string; signal?: AbortSignal }): Promise<SourceStat>;
  /** Removes an original; false when there was none. Absent on read-only sources. */
  delete?(key: string, opts: { signal?: AbortSignal }): Promise<boolean>;
  /** True when the source can be read; used by /_kinu/ready. */
  ready(): Promise<boolean>;
}
