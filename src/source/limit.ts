// Bytes enter here: a body is read into memory only up to the byte limit, so a huge object costs at most
// `maxBytes` before it is refused with 413.
import type { Readable } from 'node:stream';
import { KinuError, isKinuError } from '../errors.ts';

export async function readLimited(
  body: Readable,
  declaredSize: number,
  maxBytes: number,
  signal?: AbortSignal,
  alloc?: (size: number) => Buffer,
): Promise<Buffer> {
  if (declaredSize > maxBytes) body.destroy();
  checkSize(declaredSize, maxBytes);
  // A declared size is copied into one buffer (the caller's, maybe recycled) as chunks arrive; only a body that
  // outgrows it falls back to a list. Every copy happens in the loop, so none after this returns or throws.
  const into = alloc && declaredSize > 0 ? alloc(declaredSize) : undefined;
  let filled = 0;
  const chunks: Buffer[] = [];
  let total = 0;
  const onAbort = () => body.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of body) {
      const buf = chunk as Buffer;
      total += buf.length;
      if (total > maxBytes) throw tooLarge(total, maxBytes);
      if (into && chunks.length === 0 && filled + buf.length <= into.length) {
        buf.copy(into, filled);
        filled += buf.length;
      } else chunks.push(buf);
    }
  } catch (err) {
    if (isKinuError(err)) throw err;
    if (signal?.aborted) throw signal.reason;
    throw new KinuError('source_failed', 'reading the original failed', { cause: err });
  } finally {
    signal?.removeEventListener('abort', onAbort);
    body.destroy();
  }
  if (into && chunks.length === 0) return filled === into.length ? into : into.subarray(0, filled);
  if (into && filled > 0) chunks.unshift(into.subarray(0, filled));
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

/** For sizes known up front (stat, Content-Length): 413 before any byte is read. */
export function checkSize(size: number, maxBytes: number): void {
  if (size > maxBytes) throw tooLarge(size, maxBytes);
}

function tooLarge(size: number, max: number): KinuError {
  return new KinuError(
    'source_too_large',
    `the original is ${size > max ? `over ${max}` : size} bytes; the limit is ${max} bytes`,
  );
}
