// HMAC-SHA256 URL signatures: base64url(HMAC(secret, "<path>?<query without sig>")), computed over the raw
// path and query exactly as sent, so no normalisation can make two URLs share a signature.
import { createHmac, timingSafeEqual } from 'node:crypto';

export function sign(secret: string, pathAndQuery: string): string {
  return createHmac('sha256', secret).update(pathAndQuery).digest('base64url');
}

/** True when `sig` matches any of the secrets (rotation). Each comparison is constant-time. */
export function verify(secrets: readonly string[], pathAndQuery: string, sig: string): boolean {
  return matchesAny(
    Buffer.from(sig, 'utf8'),
    secrets.map((secret) => () => Buffer.from(sign(secret, pathAndQuery), 'utf8')),
  );
}

/**
 * Every dialect's signature check: does `given` equal any expected value? Every candidate is computed and
 * compared in constant time, not stopping at the first match, so timing tells nothing about which matched.
 */
export function matchesAny(given: Buffer, candidates: readonly (() => Buffer)[]): boolean {
  let ok = false;
  for (const expected of candidates) {
    const e = expected();
    if (given.length === e.length && timingSafeEqual(given, e)) ok = true;
  }
  return ok;
}

/** Split a raw query into its segments and the `sig` values, keeping everything else byte for byte. */
export function splitSig(rawQuery: string): { rest: string[]; sigs: string[] } {
  const rest: string[] = [];
  const sigs: string[] = [];
  if (rawQuery === '') return { rest, sigs };
  for (const seg of rawQuery.split('&')) {
    if (seg === 'sig' || seg.startsWith('sig=')) sigs.push(seg.slice(4));
    else rest.push(seg);
  }
  return { rest, sigs };
}

/** The message a signature covers: the path, then `?` and the query without `sig` when any is left. */
export function signedMessage(rawPath: string, rest: readonly string[]): string {
  return rest.length > 0 ? `${rawPath}?${rest.join('&')}` : rawPath;
}

/** Add (or replace) `sig` on a path or URL, signed with the first secret. */
export function signUrl(secret: string, urlOrPath: string): string {
  // `scheme://host` or a protocol-relative `//host` is kept as is; only the path and query are signed.
  const m = /^((?:[a-z][a-z0-9+.-]*:)?\/\/[^/?#]*)?([^?#]*)(?:\?([^#]*))?/i.exec(urlOrPath);
  const origin = m?.[1] ?? '';
  const path = m?.[2] || '/';
  const { rest } = splitSig(m?.[3] ?? '');
  const sig = sign(secret, signedMessage(path, rest));
  return `${origin}${path}?${[...rest, `sig=${sig}`].join('&')}`;
}
