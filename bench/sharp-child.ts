// The in-process reference of W1/W2 in a process of its own: a closed loop of sharp calls (reference.ts) and
// nothing else, told over IPC which requests to make. Its CPU is read from /proc as the servers' are; in the bench
// process it also paid for that process's own state (its heap, its results, and idling while wrk loads the
// servers): 5–15 % more CPU per image than the same loop here, from one run to the next.
//   forked by sides.ts `sharpSide`
import sharp from 'sharp';
import type { Photo } from './corpus.ts';
import { job } from './corpus.ts';
import { checkWidth, expectedWidth } from './image-info.ts';
import { closedLoop, stopOf, type PhaseLimit } from './load.ts';
import { sharpOnce } from './reference.ts';
import type { MissSpec } from './sides.ts';

export type ToChild =
  | {
      readonly cmd: 'init';
      readonly photos: readonly Photo[];
      readonly spec: MissSpec;
      readonly concurrency: number;
      readonly sharpConcurrency: number;
    }
  | { readonly cmd: 'run'; readonly offset: number; readonly base: number; readonly limit: PhaseLimit };

export type FromChild =
  | { readonly ok: true; readonly samples?: { ms: number; bytes: number }[]; readonly elapsedMs?: number }
  | { readonly ok: false; readonly error: string };

let init: Extract<ToChild, { cmd: 'init' }> | undefined;

async function run(m: Extract<ToChild, { cmd: 'run' }>): Promise<FromChild> {
  const o = init!;
  const loop = await closedLoop(o.concurrency, stopOf(m.limit), async (i) => {
    const { photo, width } = job(o.photos, m.offset + i, m.base);
    const r = await sharpOnce(photo.path, width, o.spec.format, o.spec.quality);
    checkWidth(`sharp ${photo.key} w=${width}`, o.spec.format, expectedWidth(photo, width), r.width);
    return { ms: r.ms, bytes: r.bytes };
  });
  return { ok: true, samples: loop.samples.map((s) => ({ ms: s.ms, bytes: s.bytes })), elapsedMs: loop.elapsedMs };
}

process.on('message', (m: ToChild) => {
  const reply = (r: FromChild) => process.send!(r);
  if (m.cmd === 'init') {
    init = m;
    sharp.cache(false); // as kinu and bare-sharp run it
    sharp.concurrency(m.sharpConcurrency);
    return reply({ ok: true });
  }
  run(m).then(reply, (e: Error) => reply({ ok: false, error: e.stack ?? e.message }));
});
process.on('disconnect', () => process.exit(0));
