// One libvips thread per image in every environment: sharp 0.35 picks one per core when MALLOC_ARENA_MAX is set
// (deploy/ sets it), which the memory budget's per-format costs were not measured with.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

test('the pipeline runs libvips with one thread per image, also under MALLOC_ARENA_MAX', () => {
  const script =
    "const sharp = (await import('sharp')).default; const before = sharp.concurrency();" +
    " await import('./src/pipeline/pipeline.ts'); console.log(JSON.stringify({ before, after: sharp.concurrency() }));";
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    env: { ...process.env, MALLOC_ARENA_MAX: '2' },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const { before, after } = JSON.parse(r.stdout) as { before: number; after: number };
  assert.equal(after, 1);
  // What sharp would have used on its own here: the reason for the line (more than 1 on a multi-core machine).
  assert.ok(before >= 1);
});
