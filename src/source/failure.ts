// How adapters report failures, so the resilient wrapper can tell what is worth retrying: timeouts and
// 5xx-like failures are transient; a refusal (403, a bad bucket, a blocked address) is not, and retrying it
// would only spend the time budget.
import { KinuError, isKinuError } from '../errors.ts';

const PERMANENT = new WeakSet<KinuError>();

/** Marks a source_failed that another attempt would not fix. */
export function permanent(err: KinuError): KinuError {
  PERMANENT.add(err);
  return err;
}

export function isTransient(err: unknown): boolean {
  return isKinuError(err) && (err.code === 'source_failed' || err.code === 'source_timeout') && !PERMANENT.has(err);
}

/** A deadline that ran out (AbortSignal.timeout's DOMException). The AWS SDK also names resets "TimeoutError"; those carry an errno code and are not timeouts. */
export function isTimeout(err: unknown): boolean {
  const e = err as { name?: string; code?: unknown } | undefined;
  return e?.name === 'TimeoutError' && (err instanceof DOMException || e.code === undefined || e.code === 'ETIMEDOUT');
}

/** Any failure of an adapter call as a KinuError: timeouts are 504, the rest 502; the caller's own abort passes through. */
export function sourceFailure(err: unknown, what: string, signal?: AbortSignal): unknown {
  if (isKinuError(err)) return err;
  if (signal?.aborted && (err === signal.reason || (err as { name?: string })?.name === 'AbortError'))
    return signal.reason ?? err;
  if (isTimeout(err))
    return new KinuError('source_timeout', `${what}: the source did not answer in time`, { cause: err });
  return new KinuError('source_failed', `${what}: the source failed`, { cause: err });
}
