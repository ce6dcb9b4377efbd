#!/usr/bin/env node
// The `ldsup` executable: runs the compiled CLI (built into dist/ by `npm install` / `npm run build`).
// CommonJS, like dist/cli.cjs: a master that loads no ES module starts without Node's ES module
// loader (see scripts/bundle.mjs).
'use strict';
const { existsSync } = require('node:fs');
const path = require('node:path');
const module_ = require('node:module');

// Node >= 22.8 caches compiled code on disk: start-up of the master, and of every worker (which
// inherits NODE_COMPILE_CACHE), skips most of the parse/compile work. Node 20 has no such cache.
const cache = module_.enableCompileCache?.();
if (cache?.directory && !process.env.NODE_COMPILE_CACHE) process.env.NODE_COMPILE_CACHE = cache.directory;

const cli = path.join(__dirname, '..', 'dist', 'cli.cjs');
if (!existsSync(cli)) {
  process.stderr.write('ldsup: error: dist/ is missing; run `npm run build` first\n');
  process.exit(1);
}
require(cli);
