// Parsing is pure for most dialects: a repeated URL (every cache hit) can skip validation and HMAC. Only
// parses of keys known to exist are remembered, from a URL's second parse on, in an LRU bounded in bytes, so a
// flood of distinct URLs for missing keys (which may be KBs long) costs a parse each and no memory.
import { LRUCache } from 'lru-cache';
import { createDoor } from '../door.ts';
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

// A URL is remembered on its second parse (door.ts): a miss's URL is mostly new and not asked again, and
// remembering each one kept ~2 KB of objects alive per miss until evicted (~20 MB of a 26 MB heap under misses).
export function memoParse(parse: DialectParser, opts: ParseMemoOptions): MemoParser {
  const seen = new LRUCache<string, ParsedRequest>({
    maxSize: opts.maxBytes ?? 8 * 1024 * 1024,
    sizeCalculation: (p, url) => parseBytes(url, p),
  });
  const seenBefore = createDoor();
  return Object.assign(
    (rawUrl: string) => {
      let parsed = seen.get(rawUrl);
      if (parsed === undefined) {
        parsed = parse(rawUrl);
        if (opts.exists(parsed.key) && seenBefore(rawUrl)) seen.set(rawUrl, parsed);
      }
      return parsed;
    },
    { memory: () => ({ bytes: seen.calculatedSize, urls: seen.size }) },
  );
}
