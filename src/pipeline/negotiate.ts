// fmt=auto: which formats the client named explicitly in Accept. A bare */* or image/* names neither AVIF
// nor WebP, so old clients keep getting JPEG/PNG/GIF.
import type { OutputFormat } from '../formats.ts';

export interface AcceptClass {
  readonly avif: boolean;
  readonly webp: boolean;
}

export function acceptClass(accept: string | undefined): AcceptClass {
  let avif = false;
  let webp = false;
  for (const part of (accept ?? '').toLowerCase().split(',')) {
    const [type, ...params] = part.trim().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (q !== undefined && !(Number(q.slice(2)) > 0)) continue;
    if (type?.trim() === 'image/avif') avif = true;
    else if (type?.trim() === 'image/webp') webp = true;
  }
  return { avif, webp };
}

/** A short stable name for the class, part of the cache key and ETag of negotiated responses. */
export function acceptClassKey(c: AcceptClass): string {
  return c.avif ? (c.webp ? 'avif+webp' : 'avif') : c.webp ? 'webp' : 'other';
}

/** Best format for what the client accepts and what the image needs (animation, alpha). */
export function negotiate(c: AcceptClass, need: { alpha: boolean; animated: boolean }): OutputFormat {
  return preferences(c, need)[0]!;
}

/**
 * Every format the client can show, best first: the plan takes the first whose cost fits the memory budget
 * and the deadline, so a huge AVIF for Chrome becomes a WebP instead of a refusal.
 */
export function preferences(c: AcceptClass, need: { alpha: boolean; animated: boolean }): OutputFormat[] {
  // libvips cannot write animated AVIF: WebP keeps an animation, then GIF.
  if (need.animated) return c.webp ? ['webp', 'gif'] : ['gif'];
  const fallback: OutputFormat = need.alpha ? 'png' : 'jpeg';
  return [...(c.avif ? ['avif' as const] : []), ...(c.webp ? ['webp' as const] : []), fallback];
}
