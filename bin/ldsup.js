#!/usr/bin/env node
// The `ldsup` executable: runs the compiled CLI (built into dist/ by `npm install` / `npm run build`).
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('ldsup: error: dist/ is missing; run `npm run build` first\n');
  process.exit(1);
}
await import(cli.href);
