// Recycled buffers for originals read whole (a miss reads one, 1–20 MB). V8 counts every new buffer towards
// its old generation's budget, so a fresh allocation per miss made a full mark-compact of kinu's ~20 MB heap
// every few misses (18 per 240 at steady state, 35–55 ms each); a buffer given back is taken by the next miss.
// imgproxy pools its download buffers for the same reason.

export interface BufferPool {
  /** A buffer of exactly `size` bytes, recycled when a free one fits; its contents are whatever was there. */
  take(size: number): Buffer;
  /**
   * Hands back a buffer `take` returned (or a view of one) once nothing reads or writes it any more; anything
   * else, or a buffer given twice, is ignored.
   */
  give(buf: Buffer): void;
  stats(): { free: number; freeBytes: number; reused: number; allocated: number };
}

export interface BufferPoolOptions {
  /** Free buffers kept at most, in bytes; a buffer given back past it is left to the garbage collector. */
  readonly maxFreeBytes: number;
  /** Smaller sizes are plainly allocated: they cost the collector little. */
  readonly minSize?: number;
  /** Larger sizes are plainly allocated, so one huge original does not stay in memory; default half of
   *  `maxFreeBytes`. */
  readonly maxSize?: number;
}

/** What a server keeps of free original buffers between misses (idle memory it holds on purpose). */
export const ORIGINALS_POOL_BYTES = 32 * 1024 * 1024;
const MIN_SIZE = 64 * 1024;

/** Capacities are multiples of an eighth of the next power of two: at most 25 % above the size asked. */
export function capacityFor(size: number): number {
  const step = 2 ** Math.max(0, Math.ceil(Math.log2(size)) - 3);
  return Math.ceil(size / step) * step;
}

export function createBufferPool(opts: BufferPoolOptions): BufferPool {
  const minSize = opts.minSize ?? MIN_SIZE;
  const maxSize = Math.min(opts.maxSize ?? opts.maxFreeBytes / 2, opts.maxFreeBytes);
  // Most recently given last; a handful at most, so a scan is cheaper than any index.
  const free: ArrayBuffer[] = [];
  // Every ArrayBuffer this pool made, so only those are taken back (a view's .buffer names its owner).
  const ours = new WeakSet<ArrayBuffer>();
  let freeBytes = 0;
  let reused = 0;
  let allocated = 0;

  return {
    take(size) {
      if (size < minSize || size > maxSize) return Buffer.allocUnsafe(size);
      // The smallest free buffer that fits, if it is at most half as large again (a codec thread is sent a
      // copy of the whole buffer, not of the view).
      let best = -1;
      for (let i = 0; i < free.length; i++) {
        const len = free[i]!.byteLength;
        if (len >= size && len <= size * 1.5 && (best < 0 || len < free[best]!.byteLength)) best = i;
      }
      if (best >= 0) {
        const ab = free.splice(best, 1)[0]!;
        freeBytes -= ab.byteLength;
        reused++;
        return Buffer.from(ab, 0, size);
      }
      const buf = Buffer.allocUnsafeSlow(capacityFor(size));
      ours.add(buf.buffer);
      allocated++;
      return buf.subarray(0, size);
    },
    give(buf) {
      const ab = buf.buffer;
      if (!(ab instanceof ArrayBuffer) || !ours.has(ab) || free.includes(ab)) return;
      // Oldest first out: what the last misses needed is what the next ones will.
      while (free.length > 0 && freeBytes + ab.byteLength > opts.maxFreeBytes) freeBytes -= free.shift()!.byteLength;
      if (freeBytes + ab.byteLength > opts.maxFreeBytes) return;
      free.push(ab);
      freeBytes += ab.byteLength;
    },
    stats: () => ({ free: free.length, freeBytes, reused, allocated }),
  };
}
