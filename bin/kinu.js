#!/usr/bin/env node
// Runs the compiled CLI: dist/ is built by `npm run build`, which `npm ci` and `npm pack` run through `prepare`.
// CommonJS on purpose (bin/package.json): Node reads an ES module entry on libuv's thread pool, which starts
// the pool at its default 4 threads before kinu could size it (it reads UV_THREADPOOL_SIZE once, at first use).
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

const cli = join(__dirname, '..', 'dist', 'cli.js');
if (!existsSync(cli)) {
  console.error('kinu: dist/ is missing: run `npm run build` (npm ci runs it)');
  process.exit(1);
}
(async () => {
  let mod;
  try {
    // require() of an ES module (Node ≥ 20.19) reads synchronously: the pool has not started yet.
    mod = require(cli);
    mod.sizeThreadPool(process.argv.slice(2), process.env);
  } catch (e) {
    if (e.code !== 'ERR_REQUIRE_ESM' && e.code !== 'ERR_REQUIRE_ASYNC_MODULE') throw e;
    // Older Node: the pool keeps libuv's default; `kinu serve` warns when that is fewer than KINU_CONCURRENCY.
    mod = await import(pathToFileURL(cli).href);
  }
  process.exitCode = await mod.main(process.argv.slice(2), process.env);
})();
