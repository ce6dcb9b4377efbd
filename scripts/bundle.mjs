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
    // Config search and JSON/YAML/rc configs only (config.ts): ~170 KB with js-yaml that a
    // master started with `--config x.ts|.js` would otherwise parse before its first fork.
    'cosmiconfig',
  ],
  logLevel: 'warning',
};

// The processes: dist/cli.cjs, dist/worker-body.cjs, dist/watchdog-thread.cjs (and dist/boot.cjs,
// which runs the first two with a code cache: src/boot.ts). The modules
// locate package.json, native/ and each other from import.meta.url, which is this file's URL.
const processes = (entryPoints, external = []) =>
  build({
    ...common,
    entryPoints,
    external: [...common.external, ...external],
    format: 'cjs',
    outExtension: { '.js': '.cjs' },
    define: { 'import.meta.url': '__ldsupModuleUrl' },
    // 'use strict' first, so that it is the file's directive (esbuild's own comes after the banner).
    banner: { js: "'use strict';\nconst __ldsupModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
    write: false,
  }).then(({ outputFiles }) => {
    fs.mkdirSync(out, { recursive: true });
    for (const f of outputFiles) fs.writeFileSync(f.path, f.path.endsWith('.cjs') ? fasterInterop(f.text, f.path) : f.contents);
  });
await processes({ cli: 'src/cli.ts', 'watchdog-thread': 'src/watchdog-thread.ts', 'worker-body': 'src/worker-process.ts', boot: 'src/boot.ts' });
// What the master forks: runs the worker's bundle through boot.cjs (its compiled code cached).
fs.writeFileSync(
  path.join(out, 'worker-process.cjs'),
  "'use strict';\n// The worker process (forked by the master): dist/worker-body.cjs, run by boot.cjs.\nrequire('./boot.cjs').run(require('node:path').join(__dirname, 'worker-body.cjs'));\n",
);
// boot.cjs hands the bundles their import() (see src/boot.ts): one left in a bundle would fail
// there on Node 20 once its code comes from the cache.
for (const f of ['cli.cjs', 'worker-body.cjs']) {
  const left = fs.readFileSync(path.join(out, f), 'utf8').match(/^.*[^\w.$]import\(.*$/gm)?.filter((l) => !l.includes('typeof __ldsupImport'));
  if (left?.length) throw new Error(`bundle: dist/${f} calls import() itself; use importEsm() (src/esm-import.ts):\n${left[0]}`);
}

/**
 * esbuild turns each `import fs from 'node:fs'` into `__toESM(require('node:fs'))`, which copies
 * every export of the module into a new object as a getter: ~50 such imports cost the master
 * ~5-10 ms before its first fork. An object whose prototype is the module reads the same live
 * values without copying. The helper's text is esbuild's (pinned version): the build fails if it
 * changes, rather than silently keep the slow one.
 */
function fasterInterop(text, file) {
  const slow = /^var __toESM = \(mod, isNodeMode, target\d*\) => [\s\S]*?\n\)\);\n/m;
  const fast =
    'var __toESM = (mod, isNodeMode) => mod != null && (typeof mod === "object" || typeof mod === "function") ?\n' +
    '  __create(mod, isNodeMode || !mod.__esModule ? { default: { value: mod, enumerable: true } } : {}) : { default: mod };\n';
  if (!text.includes('__toESM(')) return text;
  if (!slow.test(text)) throw new Error(`bundle: esbuild's __toESM helper not found in ${file}; update fasterInterop()`);
  // Same number of lines, so that the source map still points at the right lines.
  return text.replace(slow, (helper) => fast + '\n'.repeat(helper.split('\n').length - fast.split('\n').length));
}

// The public API (`import { defineConfig } from 'ldsup'`): an ES module, as the package is.
await build({
  ...common,
  entryPoints: { index: 'src/index.ts' },
  format: 'esm',
});
