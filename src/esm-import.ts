import fs from 'node:fs';
import path from 'node:path';

/**
 * `import()` for ldsup's own code. In a process started from a V8 code cache on Node 20
 * (boot.ts), functions restored from the cache cannot call `import()` themselves (V8 drops the
 * script's dynamic-import callback), so the loader hands in its own as `__ldsupImport`. Anywhere
 * else (Node >= 22, the ES module build, tests) this is plain `import()`.
 */
declare const __ldsupImport: ((specifier: string) => Promise<unknown>) | undefined;

export function importEsm<T = unknown>(specifier: string): Promise<T> {
  return (typeof __ldsupImport === 'function' ? __ldsupImport(specifier) : import(specifier)) as Promise<T>;
}

/**
 * Evaluates an ES module file (`.mjs`, or `.js` under "type": "module") and returns its
 * namespace: through require() where this Node can (>= 20.19, and no top-level await in the
 * module's graph), which skips the asynchronous ES module loader's first-use cost (~6 ms in a
 * fresh process here), else through import(). Node's own require (not a test runner's), and only
 * for ES modules: require() of a CommonJS file would give module.exports, not a namespace.
 */
export function importEsmFile(file: string, url: string): Promise<unknown> {
  if ((process.features as { require_module?: boolean }).require_module) {
    const { createRequire } = process.getBuiltinModule('node:module') as typeof import('node:module');
    try {
      return Promise.resolve(createRequire(file)(file));
    } catch (err) {
      // Thrown before the module runs: import() evaluates it.
      if ((err as { code?: string }).code !== 'ERR_REQUIRE_ASYNC_MODULE') return Promise.reject(err);
    }
  }
  return importEsm(url);
}

/** Does Node treat this JavaScript file as an ES module? (.mjs, or .js whose nearest package.json says "type": "module") */
export function isEsmFile(file: string): boolean {
  const ext = path.extname(file);
  return ext === '.mjs' || (ext === '.js' && inModulePackage(file));
}

/**
 * Can Node strip this TypeScript file's types without guessing its module type? A .mts or .cts
 * says it; a .ts follows its package.json's "type", and where that says nothing, Node parses the
 * file twice and prints a MODULE_TYPELESS_PACKAGE_JSON warning (every process, every start).
 */
export function stripsWithoutWarning(file: string): boolean {
  const ext = path.extname(file);
  return ext === '.mts' || ext === '.cts' || (ext === '.ts' && inModulePackage(file));
}

/**
 * Node's type stripping refused the file, before running any of it, where jiti can load it:
 * syntax strip-only mode does not support (enums, namespaces…) or cannot parse, a file under
 * node_modules, or a Node started without type stripping.
 */
export function strippingRejected(err: unknown): boolean {
  return STRIP_REJECTS.has((err as { code?: string } | null)?.code ?? '');
}
const STRIP_REJECTS = new Set([
  'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX',
  'ERR_INVALID_TYPESCRIPT_SYNTAX',
  'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING',
  'ERR_UNKNOWN_FILE_EXTENSION',
]);

/** Does the nearest package.json say "type": "module"? */
function inModulePackage(file: string): boolean {
  for (let dir = path.dirname(file); ; ) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        return (JSON.parse(fs.readFileSync(pj, 'utf8')) as { type?: string }).type === 'module';
      } catch {
        return false;
      }
    }
    const up = path.dirname(dir);
    if (up === dir) return false;
    dir = up;
  }
}
