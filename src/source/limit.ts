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
  // outgrows it falls back to a list.
  const into = alloc && declaredSize > 0 ? alloc(declaredSize) : undefined;
  let filled = 0;
  const chunks: Buffer[] = [];
  let total = 0;
  // 'data' events, not `for await`: a 6 MB body is ~100 chunks, and the async iterator's promise per chunk cost
  // more than the copying. Every copy happens in the listener, so none after this settles.
  let onAbort: (() => void) | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const fail = (err: unknown) => {
        body.off('data', onData);
        reject(err);
      };
      const onData = (chunk: Buffer) => {
        total += chunk.length;
        if (total > maxBytes) return fail(tooLarge(total, maxBytes));
        if (into && chunks.length === 0 && filled + chunk.length <= into.length) {
          chunk.copy(into, filled);
          filled += chunk.length;
        } else chunks.push(chunk);
      };
      onAbort = () => fail(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      body.on('data', onData);
      body.once('error', fail);
      body.once('end', resolve);
      // A body whose stream closes without 'end' (its socket cut) must not leave this waiting.
      body.once('close', () => (body.readableEnded ? resolve() : fail(new Error('the body was cut short'))));
    });
  } catch (err) {
    if (isKinuError(err)) throw err;
    if (signal?.aborted) throw signal.reason;
    throw new KinuError('source_failed', 'reading the original failed', { cause: err });
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
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
