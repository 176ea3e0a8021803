// The V8 flags a serving process sets for itself (a worker, or `serve` unsupervised), and why. Set at run time
// with v8.setFlagsFromString: NODE_OPTIONS does not carry V8 flags, and an operator's own command line wins.
import { setFlagsFromString } from 'node:v8';

/**
 * `--no-incremental-marking-task`: a miss allocates little on V8's heap but its output twice off it (sharp's
 * buffer and the cache's copy), which V8 counts towards starting a full collection; under misses a V8 task
 * started one about once a second (4–14 in 500 misses; a bare node:http server making the same sharp call: 1–3),
 * each marking kinu's whole heap, ~0.4 ms of CPU a miss on V8's threads and the main one. Without the task,
 * marking starts when the heap's limit is reached, as for any allocation: 0–2 in 500 misses, for 30–50 MB more
 * RSS after a minute of misses (garbage waiting for the later collection).
 */
export const SERVE_V8_FLAGS: readonly string[] = ['--no-incremental-marking-task'];

/** `--foo` and `--no-foo` name the same flag; V8 also accepts `_` for `-`. */
const flagName = (arg: string) =>
  arg
    .replace(/=.*/, '')
    .replace(/^--(no-)?/, '')
    .replaceAll('_', '-');

/** Sets the serving flags the process was not started with either way; returns those it set. */
export function setServeV8Flags(execArgv: readonly string[] = process.execArgv): readonly string[] {
  const given = new Set(execArgv.filter((a) => a.startsWith('--')).map(flagName));
  const set = SERVE_V8_FLAGS.filter((f) => !given.has(flagName(f)));
  for (const f of set) setFlagsFromString(f);
  return set;
}
