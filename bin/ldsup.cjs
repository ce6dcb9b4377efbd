#!/usr/bin/env node
// The `ldsup` executable: runs the compiled CLI (built into dist/ by `npm install` / `npm run build`).
// CommonJS, like dist/cli.cjs: a master that loads no ES module starts without Node's ES module
// loader (see scripts/bundle.mjs).
'use strict';
const { existsSync } = require('node:fs');
const path = require('node:path');

const dist = path.join(__dirname, '..', 'dist');
if (!existsSync(path.join(dist, 'cli.cjs')) || !existsSync(path.join(dist, 'boot.cjs'))) {
  process.stderr.write('ldsup: error: dist/ is missing; run `npm run build` first\n');
  process.exit(1);
}
// boot.cjs runs the CLI with its compiled code cached on disk (Node's own cache on Node >= 22),
// and without V8's optimising compilers, which a master has no use for (src/boot.ts).
require(path.join(dist, 'boot.cjs')).run(path.join(dist, 'cli.cjs'), { optimize: process.env.LDSUP_MASTER_OPTIMIZE === '1' });
