// The query of /_next/image checked as Next's ImageOptimizerCache.validateParams does (Next 16.5,
// packages/next/src/server/image-optimizer.ts): the same order (url, then w, then q), the same 400 messages,
// each prefixed by the parameter it names. Other parameters (`dpl`, the deployment id its loader may add) are
// ignored, as Next ignores them.
import { parse } from 'node:querystring';
import { KinuError } from '../../errors.ts';

export interface NextjsAllowLists {
  /** `images.deviceSizes` + `images.imageSizes` (KINU_NEXTJS_WIDTHS). */
  readonly widths: readonly number[];
  /** `images.qualities` (KINU_NEXTJS_QUALITIES). */
  readonly qualities: readonly number[];
}

export interface NextjsParams<S> {
  /** What the `url` parameter names (the caller's answer). */
  readonly source: S;
  readonly width: number;
  readonly quality: number;
}

const refuse = (part: string, message: string, hint = '') =>
  new KinuError('invalid_param', `${part}: ${message}${hint && `; ${hint}`}`);

/** Only the `url` checks that need no allow-list of hosts: which source it names is source.ts's question. */
export function checkUrl(url: string | string[] | undefined): string {
  if (!url) throw refuse('url', '"url" parameter is required');
  if (Array.isArray(url)) throw refuse('url', '"url" parameter cannot be an array');
  if (url.length > 3072) throw refuse('url', '"url" parameter is too long');
  if (url.startsWith('//')) throw refuse('url', '"url" parameter cannot be a protocol-relative URL (//)');
  return url;
}

/** `source` resolves the `url` parameter; it runs before `w` and `q` are checked, as in Next. */
export function validateParams<S>(
  rawQuery: string,
  lists: NextjsAllowLists,
  source: (url: string) => S,
): NextjsParams<S> {
  // Node's querystring, as Next's url.parse(…, true): `+` is a space, a repeated name is an array.
  const { url: rawUrl, w, q } = parse(rawQuery);
  const named = source(checkUrl(rawUrl));

  if (!w) throw refuse('w', '"w" parameter (width) is required');
  if (Array.isArray(w)) throw refuse('w', '"w" parameter (width) cannot be an array');
  if (!/^[0-9]+$/.test(w)) throw refuse('w', '"w" parameter (width) must be an integer greater than 0');
  if (!q) throw refuse('q', '"q" parameter (quality) is required');
  if (Array.isArray(q)) throw refuse('q', '"q" parameter (quality) cannot be an array');
  if (!/^[0-9]+$/.test(q)) throw refuse('q', '"q" parameter (quality) must be an integer between 1 and 100');

  const width = Number.parseInt(w, 10);
  if (width <= 0) throw refuse('w', '"w" parameter (width) must be an integer greater than 0');
  if (!lists.widths.includes(width))
    throw refuse('w', `"w" parameter (width) of ${width} is not allowed`, `allowed: ${lists.widths.join(', ')}`);
  const quality = Number.parseInt(q, 10);
  if (quality < 1 || quality > 100) throw refuse('q', '"q" parameter (quality) must be an integer between 1 and 100');
  if (!lists.qualities.includes(quality))
    throw refuse('q', `"q" parameter (quality) of ${q} is not allowed`, `allowed: ${lists.qualities.join(', ')}`);
  return { source: named, width, quality };
}
