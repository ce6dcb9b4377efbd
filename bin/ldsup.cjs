#!/usr/bin/env node
// The `ldsup` executable: runs the compiled CLI (built into dist/ by `npm install` / `npm run build`).
import { existsSync } from 'node:fs';
import module from 'node:module';

// Node >= 22.8 caches compiled code on disk: start-up of the master, and of every worker (which
// inherits NODE_COMPILE_CACHE), skips most of the parse/compile work. Node 20 has no such cache.
const cache = module.enableCompileCache?.();
if (cache?.directory && !process.env.NODE_COMPILE_CACHE) process.env.NODE_COMPILE_CACHE = cache.directory;

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('ldsup: error: dist/ is missing; run `npm run build` first\n');
  process.exit(1);
}
await import(cli.href);
