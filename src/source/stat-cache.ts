// Remembers stat() answers for a short time, so a cache hit costs no round trip to the source. A 404 is
// remembered too (the short negative cache); other failures never are. An updated original is noticed
// within `ttlMs`.
import { isKinuError } from '../errors.ts';
import type { Source, SourceStat } from './source.ts';

export interface StatCachedSource extends Source {
  /** A remembered, still fresh stat, without I/O; undefined otherwise (404s included). */
  peek(key: string): SourceStat | undefined;
  /** Drop what is remembered of one key (after an upload or delete). */
  forget(key: string): void;
}

const MAX_KEYS = 100_000;

export function withStatCache(source: Source, opts: { ttlMs: number }): StatCachedSource {
  const known = new Map<string, { at: number; stat?: SourceStat; error?: unknown }>();
  return {
    ...source,
    name: source.name,
    async stat(key, o) {
      if (opts.ttlMs <= 0) return source.stat(key, o);
      const now = Date.now();
      const hit = known.get(key);
      if (hit && now - hit.at < opts.ttlMs) {
        if (hit.error) throw hit.error;
        return hit.stat!;
      }
      if (known.size >= MAX_KEYS) known.clear();
      try {
        const stat = await source.stat(key, o);
        known.set(key, { at: now, stat });
        return stat;
      } catch (err) {
        if (isKinuError(err) && err.code === 'not_found') known.set(key, { at: now, error: err });
        throw err;
      }
    },
    get: (key, o) => source.get(key, o),
    read: (key, o) => source.read(key, o),
    ready: () => source.ready(),
    ...(source.list ? { list: source.list.bind(source) } : {}),
    peek(key) {
      const hit = known.get(key);
      return hit?.stat && Date.now() - hit.at < opts.ttlMs ? hit.stat : undefined;
    },
    forget(key) {
      known.delete(key);
    },
  };
}
