// Builds dist/: one ES module per process entry (master CLI, worker, watchdog thread, the public
// 'ldsup' API) with ldsup's own modules and its small pure-JS dependencies inlined, shared code
// split into chunks next to them. `tsc` still type-checks and writes the .d.ts files.
//
// Why bundle: each Node process pays for every module it loads (resolve, read, compile, link);
// a master and one worker opened ~110 JavaScript files before serving (besides the SDK's 33),
// now ~20 (strace). See the README's Performance section for the start-up trace. Packages that
// are large or loaded on demand are left external.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const out = path.join(root, 'dist');

// A clean dist/: leftovers of an earlier build must not shadow the bundle (tsc writes the .d.ts after).
fs.rmSync(out, { recursive: true, force: true });

await build({
  absWorkingDir: root,
  entryPoints: {
    cli: 'src/cli.ts',
    'worker-process': 'src/worker-process.ts',
    'watchdog-thread': 'src/watchdog-thread.ts',
    index: 'src/index.ts',
  },
  outdir: 'dist',
  // Chunks sit next to the entries: modules locate package.json, native/ and each other from there.
  chunkNames: 'chunk-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // Inlined CommonJS (cosmiconfig's helpers) calls require() for Node's built-ins.
  banner: { js: "import { createRequire as __ldsupRequire } from 'node:module'; const require = __ldsupRequire(import.meta.url);" },
  external: [
    '@launchdarkly/*', // required on first use, once per process (sdk.ts, daemon-store.ts)
    'jiti', // TypeScript configs and apps only
    'prom-client', // metrics only
    'typescript', // cosmiconfig's optional TS loader (ldsup uses jiti instead)
  ],
  logLevel: 'warning',
});
