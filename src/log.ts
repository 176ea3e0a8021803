// Where log lines go: stdout, written asynchronously in batches of at least 64 KB (or every 250 ms). Lines are
// encoded straight into a 96 KB chunk (one Buffer#write a line or a turn's lines, no Buffer of their own), and a full
// chunk is handed to SonicBoom, which writes it at once through libuv's thread pool. pino's default SonicBoom kept
// the batch as one growing string measured again for every line (~3 µs a line) and wrote a few lines at a time
// (a trip through the pool costs 60–80 µs of CPU on a 2-core VM); a Buffer per turn, batched by SonicBoom,
// cost ~3 % of a 304's CPU more than this (allocations and concatenation, measured side by side with wrk).
// Lines still waiting are written synchronously when the process exits (here, then pino's exit hook, also on an
// uncaught exception); only a SIGKILL or a native crash loses them (up to 250 ms of lines, and the chunk being written).
import pino from 'pino';

const CHUNK = 64 * 1024;
/** A chunk's room: a turn's lines (~7 KB under load) encoded after 64 KB still fit, at 3 bytes a UTF-16 unit. */
const ROOM = 96 * 1024;
const PERIOD_MS = 250;

export type LogDestination = pino.DestinationStream & { flush(cb?: (err?: Error) => void): void };

export function logDestination(fd = 1): LogDestination {
  // minLength 1: a chunk is written as soon as it comes (or once the write before it is done), and flush() waits
  // for the writes (with 0, SonicBoom's flush calls back at once).
  const out = pino.destination({ dest: fd, sync: false, contentMode: 'buffer', minLength: 1, maxWrite: 2 * ROOM });
  let chunk: Buffer | undefined;
  let used = 0;
  let timer: NodeJS.Timeout | undefined;
  const push = () => {
    clearTimeout(timer);
    timer = undefined;
    chunks.delete(push);
    if (!chunk || used === 0) return;
    // SonicBoom keeps the chunk until it is written: the next lines go to a new one.
    out.write(chunk.subarray(0, used) as unknown as string);
    chunk = undefined;
    used = 0;
  };
  hookExit();
  return {
    write: (s: string) => {
      if (used + s.length * 3 > ROOM) {
        push();
        if (s.length * 3 > ROOM) {
          out.write(Buffer.from(s) as unknown as string); // a line longer than a chunk (a stack trace, say)
          return;
        }
      }
      if (used === 0) {
        chunk ??= Buffer.allocUnsafeSlow(ROOM);
        timer = setTimeout(push, PERIOD_MS).unref();
        chunks.add(push);
      }
      used += chunk!.write(s, used);
      if (used >= CHUNK) push();
    },
    flush: (cb) => {
      push();
      out.flush(cb);
    },
  };
}

/** Lines queued to be written at the end of the turn (http/access.ts): written first when the process exits. */
export const queuedLines = new Set<() => void>();
const chunks = new Set<() => void>();

// Prepended, so ahead of pino's exit hook (added when a SonicBoom is made), which then writes SonicBoom's buffers
// out synchronously: queued lines go to their destination's chunk, every chunk to its SonicBoom.
let exitHooked = false;
export function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.prependListener('exit', () => {
    for (const flush of queuedLines) flush();
    for (const push of chunks) push();
  });
}
