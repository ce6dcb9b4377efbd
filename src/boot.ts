/**
 * Runs one of ldsup's process bundles (dist/cli.cjs in the master, dist/worker-body.cjs in each
 * worker) with its compiled code cached on disk, so that a process skips most of the parsing and
 * compiling of ldsup's own code before it serves.
 *
 * - Node >= 22.1 has this built in (`module.enableCompileCache()`, NODE_COMPILE_CACHE): used when
 *   present, and the directory is handed to the workers through the environment.
 * - Node 20 has not: the bundle is compiled with `vm.Script` and V8's `cachedData`, a public API.
 *   The cache is written once the process has run for a second (so that it also holds the
 *   functions compiled lazily at start-up) or as it exits if sooner, atomically, and only when
 *   it was missing or V8 rejected it (another Node, other V8 flags, another build). Same
 *   switches as Node's own: NODE_COMPILE_CACHE=dir, NODE_DISABLE_COMPILE_CACHE=1.
 *
 * One V8 limit shapes the Node 20 path: a function restored from a code cache has lost the
 * script's dynamic-import callback, so `import()` inside it throws ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING.
 * The bundle therefore imports ES modules through `__ldsupImport`, a wrapper parameter given
 * here and defined in this file, which Node compiled itself (esm-import.ts).
 *
 * Bundled on its own (dist/boot.cjs): it must not be part of the code it loads.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import Module from 'node:module';

type CompileCacheApi = { enableCompileCache?: (dir?: string) => { directory?: string } | undefined };

/** The parameters of the function a CommonJS module body becomes, plus the import hook. */
const PARAMS = ['exports', 'require', 'module', '__filename', '__dirname', '__ldsupImport'];

export interface RunOptions {
  /**
   * Keep V8's optimising compilers (TurboFan; Maglev on Node >= 22). The master runs no request
   * path, only a few callbacks a second (heartbeats, the arbiter's tick) and the odd reload, yet
   * after a couple of minutes of those the optimiser kicks in and maps ~4 MB of compiler code and
   * data into the master for good (README, Performance: the soak). Interpreter and baseline code
   * are plenty for a supervisor, so bin/ldsup.cjs turns them off unless LDSUP_MASTER_OPTIMIZE=1
   * (a master running heavy hooks, say).
   *
   * Set a second after start (SETTLE_MS), not at once: loading `node:v8` costs ~3-5 ms, which at
   * once would delay the first fork; the optimiser needs minutes of heartbeats, not a second. V8
   * rejects a code cache made under other flags, so the cache is consumed and made under the
   * default ones: Node >= 22 makes its cache as it compiles, and the Node 20 path below writes its
   * own before the flags change.
   */
  optimize?: boolean;
}

/** When the Node 20 code cache is written and the master's optimisers are turned off. */
const SETTLE_MS = 1000;

function turnOffOptimisers(): void {
  const v8 = process.getBuiltinModule('node:v8') as typeof import('node:v8');
  v8.setFlagsFromString('--no-opt');
  v8.setFlagsFromString('--no-maglev');
}

export function run(file: string, opts: RunOptions = {}): void {
  let writeCache: (() => void) | null = null;
  const builtin = (Module as unknown as CompileCacheApi).enableCompileCache;
  if (process.env.NODE_DISABLE_COMPILE_CACHE) {
    require(file);
  } else if (typeof builtin === 'function') {
    const dir = builtin()?.directory;
    // Workers are forked with this environment: they cache into the same directory.
    if (dir && !process.env.NODE_COMPILE_CACHE) process.env.NODE_COMPILE_CACHE = dir;
    require(file);
  } else {
    writeCache = runWithCodeCache(file);
  }
  if (!writeCache && opts.optimize !== false) return;
  // Unref'd: a short command (check, stop, status) exits sooner, writing its cache as it goes.
  setTimeout(() => {
    writeCache?.();
    if (opts.optimize === false) turnOffOptimisers();
  }, SETTLE_MS).unref();
}

function cacheDir(): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  return process.env.NODE_COMPILE_CACHE || path.join(os.tmpdir(), `ldsup-compile-cache-${uid}`);
}

/**
 * Compiled code is run as is, so it is read only from a directory that this user owns and that
 * nobody else can write (the default one is in the shared temporary directory).
 */
function trusted(dir: string): boolean {
  try {
    const st = fs.statSync(dir);
    return st.isDirectory() && (typeof process.getuid !== 'function' || st.uid === process.getuid()) && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/** A short, stable name for a path (FNV-1a), so that two installs of ldsup keep separate caches. */
function pathTag(file: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < file.length; i++) h = Math.imul(h ^ file.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(36);
}

/** Runs the bundle; returns the function that writes its cache when one is needed, else null. */
function runWithCodeCache(file: string): (() => void) | null {
  const source = fs.readFileSync(file, 'utf8');
  const stat = fs.statSync(file);
  const dir = cacheDir();
  const prefix = `${path.basename(file)}-${pathTag(file)}-`;
  const cacheFile = path.join(dir, `${prefix}${process.version}-${process.arch}-${stat.size}-${Math.round(stat.mtimeMs)}.cache`);
  let cachedData: Buffer | undefined;
  try {
    if (trusted(dir)) cachedData = fs.readFileSync(cacheFile);
  } catch {
    // no cache yet
  }
  // As Node's CommonJS loader wraps a module: one line, so that stack traces keep their lines.
  const wrapped = `(function (${PARAMS.join(', ')}) { ${source.replace(/^#!/, '//')}\n});`;
  const script = new vm.Script(wrapped, { filename: file, cachedData });
  const body = script.runInThisContext() as (...args: unknown[]) => void;
  let write: (() => void) | null = null;
  if (!cachedData || script.cachedDataRejected) {
    let written = false;
    // Once the process has run for SETTLE_MS, so that the cache also holds the functions
    // compiled lazily at start-up, or as it exits if sooner.
    write = () => {
      if (!written) writeCache(script, dir, cacheFile, prefix);
      written = true;
    };
    process.once('exit', write);
  }
  const mod = new Module(file, module);
  mod.filename = file;
  mod.loaded = true;
  body.call(mod.exports, mod.exports, Module.createRequire(file), mod, file, path.dirname(file), importEsm);
  return write;
}

/** import() compiled by Node with this file, so it has its dynamic-import callback. */
function importEsm(specifier: string): Promise<unknown> {
  return import(specifier);
}

function writeCache(script: vm.Script, dir: string, cacheFile: string, prefix: string): void {
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!trusted(dir)) return;
    fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
    fs.renameSync(tmp, cacheFile);
    // The caches of earlier builds (or Node versions) of this same file go.
    for (const f of fs.readdirSync(dir)) if (f.startsWith(prefix) && f.endsWith('.cache') && path.join(dir, f) !== cacheFile) fs.rmSync(path.join(dir, f), { force: true });
  } catch {
    // A cache is an optimisation: a read-only or full disk only costs the next start its compile.
    fs.rmSync(tmp, { force: true });
  }
}
