#!/usr/bin/env node
// Runs every test/**/*.test.ts with node's test runner through tsx; the same on Node 20, 22 and 24
// (their --test arguments differ: directories on 20, globs from 21). Tests import src/ through tsx, but those that
// spawn bin/kinu.js run the compiled dist/: it is rebuilt first (incrementally, seconds when nothing changed) so a
// test run never exercises a stale build.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const files = readdirSync('test', { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.test.ts') && !f.split('/').includes('fixtures'))
  .map((f) => join('test', f))
  .sort();
const filter = process.argv.slice(2);
const chosen = filter.length ? files.filter((f) => filter.some((x) => f.includes(x))) : files;
const build = spawnSync(process.execPath, ['scripts/build.mjs', '--incremental'], { stdio: 'inherit' });
if (build.status !== 0) {
  console.error('scripts/test.mjs: the build failed, so no test ran');
  process.exit(build.status ?? 1);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...chosen], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
