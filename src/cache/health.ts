// What a cache tier reports about itself: failures it swallowed (a tier never fails a request), counted by
// operation for kinu_cache_errors_total, whether it works now for /_kinu/ready, and one warn line per burst of
// failures rather than one per request. Why: ARCHITECTURE.md §4 "Caches".
import type { Breaker } from '../breaker.ts';
import type { CacheTier, TierHealth } from './cache.ts';

/** The part of a pino logger a tier uses. */
export interface TierLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface TierHealthOptions {
  readonly log?: TierLog | undefined;
  /** Shown as the tier's breaker state; an open or half-open breaker is a tier not ok. */
  readonly breaker?: Breaker | undefined;
  /** A failure that keeps going is logged again after this long, ms (default 60 s). */
  readonly logEveryMs?: number;
  readonly now?: () => number;
}

export interface TierHealthTracker {
  /** A failure the tier swallowed (or is about to rethrow to a caller that will). */
  failed(op: string, err: unknown): void;
  /** `op` worked: once every failed op has worked again, the tier is ok. */
  succeeded(op: string): void;
  health(): TierHealth;
}

export function tierHealth(tier: CacheTier, opts: TierHealthOptions = {}): TierHealthTracker {
  const now = opts.now ?? Date.now;
  const logEveryMs = opts.logEveryMs ?? 60_000;
  const errors: Record<string, number> = {};
  // Ops whose last outcome was a failure: a disk that still reads but no longer writes is not ok.
  const failing = new Set<string>();
  let lastError: string | undefined;
  let loggedAt = -Infinity;
  let unlogged = 0;
  let warned = false;

  return {
    failed(op, err) {
      errors[op] = (errors[op] ?? 0) + 1;
      // A code, not the message: /_kinu/ready is public and messages carry paths and hosts; the log has it all.
      lastError = `${op}: ${errorCode(err)}`;
      failing.add(op);
      // At most one line per logEveryMs, however many requests meet the failure (or however often it flaps).
      if (now() - loggedAt < logEveryMs) {
        unlogged++;
        return;
      }
      opts.log?.warn(
        { tier, op, err, unlogged },
        `${tier} cache tier failing (${lastError}); requests go on without it, failures counted in kinu_cache_errors_total`,
      );
      loggedAt = now();
      unlogged = 0;
      warned = true;
    },
    succeeded(op) {
      if (!failing.delete(op) || failing.size > 0 || !warned) return;
      opts.log?.info({ tier, op, unlogged }, `${tier} cache tier works again`);
      warned = false;
    },
    health() {
      const breaker = opts.breaker?.state();
      return {
        tier,
        ok: failing.size === 0 && (breaker === undefined || breaker === 'closed'),
        ...(breaker !== undefined ? { breaker } : {}),
        ...(lastError !== undefined ? { lastError } : {}),
        errors: { ...errors },
      };
    },
  };
}

function errorCode(err: unknown): string {
  if (err && typeof err === 'object') {
    const { code, name } = err as { code?: unknown; name?: unknown };
    if (typeof code === 'string' && code !== '') return code;
    if (typeof name === 'string' && name !== '' && name !== 'Error') return name;
  }
  return 'Error';
}
