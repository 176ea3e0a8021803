// The nextjs dialect: the Next.js image optimizer's URL, /_next/image?url=<src>&w=<w>&q=<q>, exactly as
// next/image's default loader writes it, answered as Next 16 answers it: width from an allow-list, never
// enlarged, quality from an allow-list, format from Accept among images.formats. params.ts checks the query,
// source.ts names the key; how each part maps: README "Migrating from the Next.js optimizer".
import { KinuError } from '../../errors.ts';
import type { NegotiatedFormat, OutputFormat } from '../../formats.ts';
import type { Transform } from '../../transform.ts';
import { toTransform, type ParsedRequest } from '../native.ts';
import type { SourceOptions } from '../source-url.ts';
import { validateParams, type NextjsAllowLists } from './params.ts';
import { sourceKey } from './source.ts';

export { NEXT_DEVICE_SIZES, NEXT_FORMATS, NEXT_IMAGE_SIZES, NEXT_QUALITIES } from './settings.ts';

export interface NextjsDialectOptions extends SourceOptions, NextjsAllowLists {
  /** Path prefix the dialect is mounted under, without a trailing slash ('' for `/`). */
  readonly prefix: string;
  /** `images.formats` as kinu's names, first match wins (KINU_NEXTJS_FORMATS). */
  readonly formats: readonly NegotiatedFormat[];
  /** KINU_ORIGINALS: Next serves animations as they are, which only `allow` (the default) permits. */
  readonly originals?: 'allow' | 'signed' | 'deny';
}

export function parseNextjs(rawUrl: string, o: NextjsDialectOptions): ParsedRequest {
  const q = rawUrl.indexOf('?');
  // The optimizer's one path; with `trailingSlash: true` Next's loader writes it with a slash.
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  if (path !== o.prefix && path !== `${o.prefix}/`)
    throw new KinuError('not_found', `path: the Next.js optimizer answers ${o.prefix || '/'} only, with a query`);
  const {
    source: key,
    width,
    quality,
  } = validateParams(q < 0 ? '' : rawUrl.slice(q + 1), o, (url) => sourceKey(url, o));
  return { key, transform: transformOf(width, quality, o), disposition: dispositionOf(key) };
}

function transformOf(width: number, quality: number, o: NextjsDialectOptions): Transform {
  return {
    // Only a width, never enlarged: sharp's resize(w, undefined, { withoutEnlargement: true }) in Next.
    ...toTransform({ w: width }),
    format: 'auto',
    autoFormats: o.formats,
    autoFallback: 'source',
    // Next's quality per output (image-optimizer/sharp.ts): AVIF gets round(q × 50/80), the others q.
    formatQuality: QUALITY_FORMATS.map((f) => [
      f,
      f === 'avif' ? Math.max(Math.round(quality * (50 / 80)), 1) : quality,
    ]),
    // Served as is, an animation is an original: KINU_ORIGINALS deny or signed has it resized instead.
    nextjs: (o.originals ?? 'allow') === 'allow' ? 'as-is' : 'resized',
  };
}

// Sorted by name, as Transform.formatQuality requires. PNG is left to kinu: Next's png({ quality }) quantises
// to a palette, kinu writes PNG losslessly.
const QUALITY_FORMATS: readonly OutputFormat[] = ['avif', 'jpeg', 'webp'];

/** Next's contentDispositionType default, `attachment`, with the file name's part before its first dot. */
function dispositionOf(key: string): ParsedRequest['disposition'] {
  const base = key.slice(key.lastIndexOf('/') + 1);
  return { type: 'attachment', stem: base.split('.', 1)[0] || 'image' };
}
