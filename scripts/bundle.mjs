// Builds dist/: one CommonJS file per process entry (master CLI, worker, watchdog thread) and an
// ES module for the public 'ldsup' API, with ldsup's own modules and its small pure-JS
// dependencies inlined. `tsc` still type-checks and writes the .d.ts files.
//
// Why bundle: each Node process pays for every module it loads (resolve, read, compile, link);
// a master and one worker opened ~110 JavaScript files before serving (besides the SDK's 33),
// now 3 (strace). Why CommonJS for the processes: Node's ES module loader costs a process
// tens of ms before it serves (resolving and linking each module, and an ES module facade
// for every built-in it imports); require() has none of that. See the README's Performance
// section. Packages that are large or loaded on demand are left external.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const out = path.join(root, 'dist');

// A clean dist/: leftovers of an earlier build must not shadow the bundle (tsc writes the .d.ts after).
fs.rmSync(out, { recursive: true, force: true });

const common = {
  absWorkingDir: root,
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  external: [
    '@launchdarkly/*', // required on first use, once per process (sdk.ts, daemon-store.ts)
    'jiti', // TypeScript configs and apps only
    'prom-client', // metrics only
    'typescript', // cosmiconfig's optional TS loader (ldsup uses jiti instead)
  ],
  logLevel: 'warning',
};

// The processes: dist/cli.cjs, dist/worker-process.cjs, dist/watchdog-thread.cjs. The modules
// locate package.json, native/ and each other from import.meta.url, which is this file's URL.
await build({
  ...common,
  entryPoints: {
    cli: 'src/cli.ts',
    'worker-process': 'src/worker-process.ts',
    'watchdog-thread': 'src/watchdog-thread.ts',
  },
  format: 'cjs',
  outExtension: { '.js': '.cjs' },
  define: { 'import.meta.url': '__ldsupModuleUrl' },
  banner: { js: "const __ldsupModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
});

// The public API (`import { defineConfig } from 'ldsup'`): an ES module, as the package is.
await build({
  ...common,
  entryPoints: { index: 'src/index.ts' },
  format: 'esm',
});
