// imgproxy URL signatures, computed as imgproxy does: base64url(HMAC-SHA256(key, salt ‖ path)) with the key and
// salt given in hex, the digest cut to `signatureSize` bytes (IMGPROXY_SIGNATURE_SIZE), over the path after the
// signature segment with its leading `/`. Several key/salt pairs may be configured; any of them verifies.
import { createHmac } from 'node:crypto';
import { matchesAny } from '../sign.ts';

export interface ImgproxyKeys {
  /** Hex-encoded keys and salts, pairwise: keys[i] goes with salts[i]. Empty: unsigned mode. */
  readonly keys: readonly string[];
  readonly salts: readonly string[];
  /** Bytes of the digest kept before encoding, 1–32. */
  readonly signatureSize: number;
}

function digest(keyHex: string, saltHex: string, path: string, size: number): Buffer {
  const message = path.startsWith('/') ? path : `/${path}`;
  return createHmac('sha256', Buffer.from(keyHex, 'hex'))
    .update(Buffer.from(saltHex, 'hex'))
    .update(message)
    .digest()
    .subarray(0, size);
}

/** The signature of `path` (`/<options>/<source>`) for one key/salt pair. */
export function imgproxySignature(keyHex: string, saltHex: string, path: string, size = 32): string {
  return digest(keyHex, saltHex, path, size).toString('base64url');
}

/** `/<signature><path>`, signed with the first pair, or `/insecure<path>` without keys. */
export function signImgproxyPath(k: ImgproxyKeys, path: string): string {
  const p = path.startsWith('/') ? path : `/${path}`;
  if (k.keys.length === 0) return `/insecure${p}`;
  return `/${imgproxySignature(k.keys[0]!, k.salts[0]!, p, k.signatureSize)}${p}`;
}

/** True when `signature` matches `path` under any key/salt pair. Every pair is checked, each in constant time. */
export function verifyImgproxySignature(k: ImgproxyKeys, path: string, signature: string): boolean {
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(signature)) return false;
  const given = Buffer.from(signature.replace(/=+$/, ''), 'base64url');
  return matchesAny(
    given,
    k.keys.map((key, i) => () => digest(key, k.salts[i] ?? '', path, k.signatureSize)),
  );
}
