// Headers of originals seen recently, by the identity of their bytes (the source's key and version) and their
// length: the next variant of the same original (srcset widths, fmt=auto) skips libvips' header pass, which costs
// ~0.7 ms of CPU next to ~43 ms for a 400 px JPEG of a 6–12 MP photo (the pipeline's own load reads it anyway).
import { LRUCache } from 'lru-cache';
import type { SourceInfo } from './plan.ts';

export interface HeaderMemo {
  /** The header remembered for `id`, if the bytes now read have its length. */
  get(id: string, bytes: number): SourceInfo | undefined;
  set(id: string, info: SourceInfo & { readonly bytes: number }): void;
}

/** At most `max` headers: a few KB each at worst (a long key, an animation's frame delays). */
export function createHeaderMemo(max = 1000): HeaderMemo {
  const lru = new LRUCache<string, SourceInfo>({ max });
  return {
    get(id, bytes) {
      const info = lru.get(id);
      return info?.bytes === bytes ? info : undefined;
    },
    set(id, info) {
      lru.set(id, info);
    },
  };
}
