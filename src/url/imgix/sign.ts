// imgix's secure URLs, as @imgix/js-core's _signParams builds them: s = hex MD5 of token + path + query, where
// path is the encoded path after the host and query is `?…` without `s` (empty without parameters).
import { createHash } from 'node:crypto';
import { matchesAny } from '../sign.ts';

export function imgixSignature(token: string, path: string, query: string): string {
  return createHash('md5')
    .update(token + path + (query ? `?${query}` : ''))
    .digest('hex');
}

/** True when `s` matches under any token; each compared in constant time. */
export function verifyImgixSignature(tokens: readonly string[], path: string, query: string, s: string): boolean {
  if (!/^[0-9a-fA-F]{32}$/.test(s)) return false;
  const given = Buffer.from(s.toLowerCase(), 'hex');
  return matchesAny(
    given,
    tokens.map((t) => () => Buffer.from(imgixSignature(t, path, query), 'hex')),
  );
}
