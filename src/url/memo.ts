// Parsing is pure for most dialects: a repeated URL (every cache hit) can skip validation and HMAC. Only
// parses of keys known to exist are remembered, from a URL's second parse on, in an LRU bounded in bytes, so a
// flood of distinct URLs for missing keys (which may be KBs long) costs a parse each and no memory.
import { LRUCache } from 'lru-cache';
import type { DialectParser } from './dialects.ts';
import type { ParsedRequest } from './native.ts';

export interface ParseMemoOptions {
  /** Whether the source is known to hold this key now (a fresh remembered stat): only then is the parse kept. */
  readonly exists: (key: string) => boolean;
  /** Bound of what is remembered, bytes (default 8 MiB). */
  readonly maxBytes?: number;
}

export interface MemoParser extends DialectParser {
  /** Bytes held by the memo's own accounting, and how many URLs. */
  memory(): { bytes: number; urls: number };
}

/** Two bytes per character (as V8 may store strings) for the URL and the key, plus the parsed transform. */
function parseBytes(rawUrl: string, p: ParsedRequest): number {
  const overlays = (p.transform?.watermark?.key.length ?? 0) + (p.transform?.frame?.length ?? 0);
  return 2 * (rawUrl.length + p.key.length + overlays) + 1024;
}

// A URL is remembered on its second parse. A miss's URL is mostly new and not asked again (the CDN keeps the
// answer): remembering each one kept ~2 KB of objects alive per miss until evicted, which every full GC then
// marked (~20 MB of a 26 MB heap under misses, a mark-compact a second). The door holds 32-bit hashes of URLs
// parsed once, in a fixed table: a collision remembers a URL at its first parse, an overwritten slot at its third.
const DOOR_SLOTS = 1 << 16;

function hash32(s: string): number {
  let h = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export function memoParse(parse: DialectParser, opts: ParseMemoOptions): MemoParser {
  const seen = new LRUCache<string, ParsedRequest>({
    maxSize: opts.maxBytes ?? 8 * 1024 * 1024,
    sizeCalculation: (p, url) => parseBytes(url, p),
  });
  const door = new Uint32Array(DOOR_SLOTS);
  return Object.assign(
    (rawUrl: string) => {
      let parsed = seen.get(rawUrl);
      if (parsed === undefined) {
        parsed = parse(rawUrl);
        if (opts.exists(parsed.key)) {
          const h = hash32(rawUrl);
          const slot = h & (DOOR_SLOTS - 1);
          if (door[slot] === h) seen.set(rawUrl, parsed);
          else door[slot] = h;
        }
      }
      return parsed;
    },
    { memory: () => ({ bytes: seen.calculatedSize, urls: seen.size }) },
  );
}
