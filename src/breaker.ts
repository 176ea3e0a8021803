// The circuit breaker shared by the source wrapper (source/resilient.ts) and the result store (cache/store.ts):
// after `failures` failed calls in a row it refuses calls for `cooldownMs`, then lets one probe through; the
// probe's outcome closes or re-opens it. A plain state machine, free of I/O and errors: callers decide what a
// refused call means (a 502 for the source, a miss for the store). A root file because source/ and cache/ may
// not import each other; like errors.ts it imports nothing of kinu.

export type BreakerState = 'closed' | 'half_open' | 'open';

export interface BreakerOptions {
  /** Failures in a row that open the breaker. */
  readonly failures: number;
  /** How long it stays open before one probe is let through, ms. */
  readonly cooldownMs: number;
  /** The clock (tests inject one); Date.now by default. */
  readonly now?: () => number;
}

export interface Breaker {
  /** Whether a call may go now; while half-open the first caller gets the probe and the others are refused. */
  admit(): boolean;
  /** The store answered: the count restarts and the breaker closes. */
  succeeded(): void;
  /** The store failed: one more in a row; a failed probe, or the Nth failure, opens the breaker. */
  failed(): void;
  /** Neither an answer nor an outage (a key refused, the caller left): the count stands, a probe's slot is freed. */
  neutral(): void;
  /** The state as reported (metrics, /_kinu/ready): open past its cool-down already reads half-open. */
  state(): BreakerState;
  /** Failures in a row so far. */
  failuresInARow(): number;
  /** Until the next probe may go, ms (0 unless open). */
  retryInMs(): number;
}

export function createBreaker(opts: BreakerOptions): Breaker {
  const now = opts.now ?? Date.now;
  let state: BreakerState = 'closed';
  let inARow = 0;
  let openedAt = 0;
  let probing = false;

  const open = () => {
    state = 'open';
    openedAt = now();
    probing = false;
  };
  const cooled = () => now() - openedAt >= opts.cooldownMs;

  return {
    admit() {
      if (state === 'open' && cooled()) state = 'half_open';
      if (state === 'closed') return true;
      if (state === 'half_open' && !probing) {
        probing = true;
        return true;
      }
      return false;
    },
    succeeded() {
      inARow = 0;
      state = 'closed';
      probing = false;
    },
    failed() {
      inARow++;
      if (state === 'half_open' || inARow >= opts.failures) open();
    },
    neutral() {
      if (state === 'half_open') probing = false;
    },
    state: () => (state === 'open' && cooled() ? 'half_open' : state),
    failuresInARow: () => inARow,
    retryInMs: () => (state === 'open' ? Math.max(0, opts.cooldownMs - (now() - openedAt)) : 0),
  };
}
