// Object-key rules shared by every dialect and the management API. A key names an object inside the source;
// nothing that could climb out of it (`..`, absolute paths, backslashes, NUL) ever reaches a source adapter,
// and no segment may start with a dot: `.env`, `.git/config`, `.well-known/…` and upload temporaries stay private.
import { KinuError, quoted } from '../errors.ts';

const MAX_KEY_LENGTH = 1024;

/** A key as a URL path (without its leading `/`): each segment percent-encoded. The inverse of decodeKey. */
export function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

/** Decode a percent-encoded path (without its leading `/`) into a validated key. */
export function decodeKey(rawPath: string): string {
  let key: string;
  try {
    key = decodeURIComponent(rawPath);
  } catch {
    throw new KinuError('invalid_key', 'key: malformed percent-encoding');
  }
  return validateKey(key);
}

export function validateKey(key: string): string {
  if (key === '') throw new KinuError('invalid_key', 'key: empty');
  if (key.length > MAX_KEY_LENGTH) throw new KinuError('invalid_key', `key: longer than ${MAX_KEY_LENGTH} characters`);
  if (key.includes('\0')) throw new KinuError('invalid_key', 'key: contains NUL');
  if (key.includes('\\')) throw new KinuError('invalid_key', 'key: contains a backslash');
  if (key.startsWith('/') || /^[a-zA-Z]:/.test(key))
    throw new KinuError('invalid_key', 'key: must be relative, not absolute');
  for (const segment of key.split('/')) {
    if (segment === '') throw new KinuError('invalid_key', 'key: empty path segment');
    if (segment.startsWith('.'))
      throw new KinuError('invalid_key', `key: segments starting with a dot are not allowed, got ${quoted(segment)}`);
  }
  return key;
}
