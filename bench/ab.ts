// Two builds of kinu side by side, for a change on the hit or miss path (not part of `npm run bench`):
//   npx tsx bench/ab.ts <checkout A> <checkout B> [--rounds 10] [--seconds 4] [--revalidate | --miss [--shrink px]] [folder]
// Each checkout must be built (`npm run build`). Both serve the same 20 URLs of `folder` (default the test
// photos) from memory, or answer 304s with --revalidate, or make new variants (--miss: JPEG at 400 px and up,
// never asked twice) at the same time: pinned to core 1 with taskset, each loaded by its own wrk (16 connections;
// 2 for misses) on core 0. A slow stretch of a shared VM then falls on both sides, so a
// round's ratio A/B spreads ±3 % where the bench's alternating phases swung ±30 %. The side started first reads
// 1–5 % slower: run it again with the checkouts swapped and take the geometric mean of the two medians.
// --shrink 800 serves copies of the photos 800 px wide: a miss then costs ~10 ms of CPU instead of ~30, of which
// kinu's own per-miss cost (HTTP, orchestration: ~1.2 ms more than a bare node:http server making the same sharp
// call) is ~11 %, so a change of 0.1 ms a miss reads ~1 % instead of ~0.3 %.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { procCpuSeconds, processTree } from './load.ts';
import { hasWrk, runWrk, WRK_MISSING } from './wrk.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '4' },
    revalidate: { type: 'boolean', default: false },
    miss: { type: 'boolean', default: false },
    shrink: { type: 'string' },
  },
});
const [a, b, folder = 'test/corpus/photos'] = positionals;
if (!a || !b)
  throw new Error(
    'usage: npx tsx bench/ab.ts <checkout A> <checkout B> [--rounds n] [--seconds s] [--revalidate | --miss [--shrink px]] [folder]',
  );
if (values.revalidate && values.miss) throw new Error('give --revalidate or --miss, not both');
const shrink = values.shrink === undefined ? undefined : Number(values.shrink);
// Miss widths go up to 649 px: below the copies' width, so every miss is a real downscale.
if (shrink !== undefined && (!values.miss || !Number.isInteger(shrink) || shrink < 800))
  throw new Error('--shrink takes a width of at least 800 px, with --miss');
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const pinned = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
if (!hasWrk()) throw new Error(WRK_MISSING);
const work = mkdtempSync(join(tmpdir(), 'kinu-ab-'));
const photos = readdirSync(resolve(folder)).filter((f) => /\.(jpe?g|png|webp)$/i.test(f));
/** --shrink: the photos, upright and `shrink` px wide, in the format their names say. */
async function shrunk(from: string, width: number): Promise<string> {
  const to = join(work, 'source');
  mkdirSync(to);
  for (const f of photos)
    await sharp(join(from, f)).autoOrient().resize({ width, withoutEnlargement: true }).toFile(join(to, f));
  return to;
}
const source = shrink === undefined ? resolve(folder) : await shrunk(resolve(folder), shrink);
const paths = Array.from(
  { length: 20 },
  (_, i) => `/${encodeURIComponent(photos[i % photos.length]!)}?w=${480 + 16 * i}&fmt=${i % 2 ? 'webp' : 'jpeg'}&q=80`,
);
/** --miss: the URLs of one phase, 250 widths from 400 px of each photo at a quality of its own (70 + slice), so no
 *  phase asks what another did: more than a phase can take on one core. */
const MISS_SLICE = 250 * photos.length;
const missPaths = (slice: number) =>
  Array.from(
    { length: MISS_SLICE },
    (_, i) =>
      `/${encodeURIComponent(photos[i % photos.length]!)}?w=${400 + Math.floor(i / photos.length)}&fmt=jpeg&q=${70 + slice}`,
  );

interface Side {
  readonly name: string;
  readonly child: ChildProcess;
  readonly base: string;
}

/** `kinu serve` of a checkout, as shipped (supervised, access log at info to a file), pinned to core 1. */
async function start(name: string, checkout: string): Promise<Side> {
  const log = join(work, `${name}.log`);
  const fd = openSync(log, 'w');
  const args = [join(resolve(checkout), 'bin/kinu.js'), 'serve', '--port', '0', '--source', source];
  const child = pinned
    ? spawn('taskset', ['-c', '1', process.execPath, ...args], { stdio: ['ignore', fd, fd] })
    : spawn(process.execPath, args, { stdio: ['ignore', fd, fd] });
  const base = await new Promise<string>((ok, fail) => {
    const exited = (code: number | null) => {
      clearInterval(poll);
      fail(new Error(`${name} exited (${code}):\n${readFileSync(log, 'utf8')}`));
    };
    const poll = setInterval(() => {
      const m = /kinu listening on http:\/\/[^:]+:(\d+)/.exec(readFileSync(log, 'utf8'));
      if (m) {
        clearInterval(poll);
        child.off('exit', exited);
        ok(`http://127.0.0.1:${m[1]}`);
      }
    }, 50);
    child.once('exit', exited);
  });
  return { name, child, base };
}

/** CPU seconds of a process and its descendants (the supervisor, its worker and spare). */
const treeCpuS = (pid: number) => processTree(pid).reduce((sum, p) => sum + (procCpuSeconds(p) ?? 0), 0);

const sides: Side[] = [];
try {
  sides.push(await start('A', a), await start('B', b));
  // Filled (a miss, then hits), and the ETags both sides must agree on.
  const etags: string[] = [];
  for (const side of sides)
    for (const [i, path] of paths.entries())
      for (let k = 0; k < 3; k++) {
        const r = await fetch(side.base + path);
        await r.arrayBuffer();
        if (r.status !== 200) throw new Error(`${side.name} GET ${path}: ${r.status}`);
        etags[i] = r.headers.get('etag')!;
      }
  const headers = paths.map(
    (_, i): Record<string, string> => (values.revalidate ? { 'If-None-Match': etags[i]! } : {}),
  );
  // A folder per side: runWrk writes its script there, and two at once into one file would race.
  for (const side of sides) mkdirSync(join(work, side.name));
  // Both sides get the same URLs in a phase: for misses, a new slice each phase (slice 0 is the warm-up's).
  const wrk = (side: Side, s: number, slice: number) =>
    runWrk(side.base, values.miss ? missPaths(slice) : paths, {
      connections: values.miss ? 2 : 16,
      seconds: s,
      dir: join(work, side.name),
      headers: values.miss ? undefined : headers,
      cpu: pinned ? 0 : undefined,
    }).then((r) => {
      if (values.miss && r.requests >= MISS_SLICE)
        throw new Error(`${side.name}: a phase outran its ${MISS_SLICE} URLs`);
      return r.requests;
    });
  await Promise.all(sides.map((s) => wrk(s, 3, 0))); // warm-up
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const cpu0 = sides.map((s) => treeCpuS(s.child.pid!));
    const n = await Promise.all(sides.map((s) => wrk(s, seconds, r + 1)));
    const us = sides.map((s, i) => ((treeCpuS(s.child.pid!) - cpu0[i]!) / n[i]!) * 1e6);
    ratios.push(us[0]! / us[1]!);
    console.log(
      `round ${r + 1}: A ${us[0]!.toFixed(1)} µs/req (${n[0]} req), B ${us[1]!.toFixed(1)} µs/req (${n[1]} req), A/B ${(us[0]! / us[1]!).toFixed(3)}`,
    );
  }
  ratios.sort((x, y) => x - y);
  console.log(
    `CPU per ${values.miss ? 'miss' : values.revalidate ? '304' : 'memory hit'}, A/B: median ${ratios[ratios.length >> 1]!.toFixed(3)} ` +
      `[${ratios.map((x) => x.toFixed(2)).join(' ')}]${pinned ? '' : ' (not pinned: taskset is missing)'}`,
  );
} catch (e) {
  // What the servers said last: why an answer failed is in their logs, which go with the work folder.
  for (const s of sides)
    console.error(
      `${s.name}'s log, last lines:\n${readFileSync(join(work, `${s.name}.log`), 'utf8')
        .split('\n')
        .slice(-15)
        .join('\n')}`,
    );
  throw e;
} finally {
  for (const s of sides) s.child.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
