#!/usr/bin/env node
// `npm run build` (run by `prepare`, so by `npm ci` and `npm pack`): compiles src/ to dist/ with tsc
// (tsconfig.build.json) and copies the files the code reads at run time beside their modules.
// `--incremental` (scripts/test.mjs) re-emits only what changed since the last build, in seconds; the
// default starts from an empty dist/ so a removed source leaves nothing behind in a package.
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Read through `new URL(…, import.meta.url)`: src/http/playground.ts serves these. */
const ASSETS = ['http/playground'];

const incremental = process.argv.includes('--incremental');
if (!incremental) rmSync(`${ROOT}/dist`, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
// The build info lives in dist/ so deleting dist/ can never leave tsc believing its outputs exist.
const args = [
  '-p',
  `${ROOT}/tsconfig.build.json`,
  ...(incremental ? ['--incremental', '--tsBuildInfoFile', `${ROOT}/dist/.tsbuildinfo`] : []),
];
const r = spawnSync(process.execPath, [tsc, ...args], { stdio: 'inherit' });
if (r.status !== 0) {
  console.error('kinu build: tsc failed (see above); dist/ is not up to date');
  process.exit(r.status ?? 1);
}
for (const a of ASSETS) cpSync(`${ROOT}/src/${a}`, `${ROOT}/dist/${a}`, { recursive: true });
