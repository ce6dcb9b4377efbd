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
