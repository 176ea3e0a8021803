// fmt=auto: which formats the client named explicitly in Accept. A bare */* or image/* names none of the
// negotiated formats (AVIF, WebP: formats.ts says which), so old clients keep getting JPEG/PNG/GIF.
import { fallbackFormat, FORMATS, NEGOTIATED_FORMATS, type NegotiatedFormat, type OutputFormat } from '../formats.ts';

/** For each negotiated format, whether Accept names its mime with a q above 0. */
export type AcceptClass = Readonly<Record<NegotiatedFormat, boolean>>;

// Browsers send a handful of distinct Accept headers: each one's class is worked out once (a frozen object, shared).
const CLASSES = new Map<string, AcceptClass>();
const CLASSES_MAX = 256;

export function acceptClass(accept: string | undefined): AcceptClass {
  const key = accept ?? '';
  let c = CLASSES.get(key);
  if (c === undefined) {
    c = Object.freeze(classOf(key));
    if (key.length <= 1024) {
      if (CLASSES.size >= CLASSES_MAX) CLASSES.clear();
      CLASSES.set(key, c);
    }
  }
  return c;
}

function classOf(accept: string): AcceptClass {
  const named = new Set<string>();
  for (const part of accept.toLowerCase().split(',')) {
    const [type, ...params] = part.trim().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (q !== undefined && !(Number(q.slice(2)) > 0)) continue;
    named.add(type?.trim() ?? '');
  }
  return Object.fromEntries(NEGOTIATED_FORMATS.map((f) => [f, named.has(FORMATS[f].mime)])) as Record<
    NegotiatedFormat,
    boolean
  >;
}

/** A short stable name for the class, part of the cache key and ETag of negotiated responses: `avif+webp`, `other`. */
export function acceptClassKey(c: AcceptClass): string {
  return NEGOTIATED_FORMATS.filter((f) => c[f]).join('+') || 'other';
}

/** Best format for what the client accepts and what the image needs (animation, alpha). */
export function negotiate(c: AcceptClass, need: { alpha: boolean; animated: boolean }): OutputFormat {
  return preferences(c, need)[0]!;
}

/**
 * Every format the client can show, best first: the plan takes the first whose cost fits the memory budget
 * and the deadline, so a huge AVIF for Chrome becomes a WebP instead of a refusal.
 */
export function preferences(
  c: AcceptClass,
  need: { alpha: boolean; animated: boolean },
  only: readonly NegotiatedFormat[] = NEGOTIATED_FORMATS,
  fallback: OutputFormat = fallbackFormat(need),
): OutputFormat[] {
  // An animation goes only to formats that can write one (libvips cannot write animated AVIF): WebP, then GIF.
  const fits = (f: NegotiatedFormat) =>
    c[f] && (!need.alpha || FORMATS[f].alpha) && (!need.animated || FORMATS[f].animation);
  const chosen: OutputFormat[] = only.filter(fits);
  return chosen.includes(fallback) ? chosen : [...chosen, fallback];
}
