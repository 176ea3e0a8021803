// One producer per key: concurrent callers for the same missing variant share one pipeline run, and all
// see its error if it fails (nothing is remembered once it settles). The run is aborted only when every
// caller waiting for it has gone, so one impatient client cannot fail the others.
export interface SingleFlight<T> {
  run(
    key: string,
    produce: (signal: AbortSignal) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<{ value: T; shared: boolean }>;
  readonly inFlight: number;
}

interface Flight<T> {
  promise: Promise<T>;
  waiters: number;
  abort: AbortController;
}

export function createSingleFlight<T>(): SingleFlight<T> {
  const flights = new Map<string, Flight<T>>();

  function start(key: string, produce: (signal: AbortSignal) => Promise<T>): Flight<T> {
    const abort = new AbortController();
    const flight: Flight<T> = { promise: undefined as unknown as Promise<T>, waiters: 0, abort };
    flight.promise = Promise.resolve()
      .then(() => produce(abort.signal))
      .finally(() => {
        if (flights.get(key) === flight) flights.delete(key);
      });
    // Every waiter may have gone before it settles; its rejection is then nobody's to handle.
    flight.promise.catch(() => {});
    flights.set(key, flight);
    return flight;
  }

  return {
    async run(key, produce, signal) {
      signal?.throwIfAborted();
      const existing = flights.get(key);
      const flight = existing ?? start(key, produce);
      flight.waiters++;
      let onAbort: (() => void) | undefined;
      const gone = new Promise<never>((_, reject) => {
        onAbort = () => {
          if (--flight.waiters === 0) {
            flight.abort.abort(signal!.reason);
            // A flight nobody waits for must not be joined by a later caller.
            if (flights.get(key) === flight) flights.delete(key);
          }
          reject(signal!.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
      });
      gone.catch(() => {});
      try {
        return { value: await Promise.race([flight.promise, gone]), shared: existing !== undefined };
      } finally {
        if (onAbort) signal?.removeEventListener('abort', onAbort);
        if (!signal?.aborted) flight.waiters--;
      }
    },
    get inFlight() {
      return flights.size;
    },
  };
}
