#!/usr/bin/env node
// Runs the compiled CLI: dist/ is built by `npm run build`, which `npm ci` and `npm pack` run through `prepare`.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  console.error('kinu: dist/ is missing: run `npm run build` (npm ci runs it)');
  process.exit(1);
}
const { main } = await import(cli.href);
process.exitCode = await main(process.argv.slice(2), process.env);
