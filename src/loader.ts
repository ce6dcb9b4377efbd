/**
 * Imports the app module: TypeScript or JavaScript, ESM or CommonJS.
 * - .js/.mjs/.cjs: Node's own import().
 * - .ts/.mts/.cts: native type stripping where Node has it (>= 22.18; fast with the compile
 *   cache) and knows the module type without guessing (not a .ts in a package without "type",
 *   where it would warn in every worker), else jiti (Node 20, or syntax that strip-only mode
 *   rejects, such as enums).
 * The default export is a request listener `(req, res)` or a factory `(ctx) => listener`.
 */
import path from 'node:path';
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { RequestListener } from 'node:http';
import { AppLoadError, EXIT, describe, oneLine } from './errors.js';
import { hasTypeStripping } from './runtime.js';
import type { WorkerContext } from './types.js';
import { importEsm, importEsmFile, isEsmFile, strippingRejected, stripsWithoutWarning } from './esm-import.js';
import { createJiti } from './jiti.js';

const TS = new Set(['.ts', '.mts', '.cts']);
let generation = 0;

/** Imports the module; `fresh` makes a second import in the same process see edits (HUP with preload). */
export async function importApp(file: string, fresh = false): Promise<unknown> {
  if (!fs.existsSync(file)) throw new AppLoadError(`app module not found: ${file}`, EXIT.APP_LOAD_ERROR);
  const ext = path.extname(file);
  const url = pathToFileURL(file).href + (fresh ? `?ldsup=${++generation}` : '');
  try {
    if (!fresh && isEsmFile(file)) return await importEsmFile(file, url);
    if (!TS.has(ext)) return await importEsm(url);
    if (hasTypeStripping && stripsWithoutWarning(file)) {
      try {
        return await importEsm(url);
      } catch (err) {
        if (!strippingRejected(err)) throw err;
      }
    }
    // jiti only when Node cannot strip the types itself (Node 20, enums…).
    const jiti = createJiti(import.meta.url, { moduleCache: !fresh });
    return await jiti.import(file);
  } catch (err) {
    if (err instanceof AppLoadError) throw err;
    throw new AppLoadError(`cannot import app ${file}: ${oneLine(err)}`, EXIT.WORKER_BOOT_ERROR, { cause: err });
  }
}

/** The module's handler export, unwrapping the double default that CJS-through-ESM can produce. */
export function appExport(mod: unknown, file: string): Function {
  const m = mod as { default?: unknown } | undefined;
  let fn: unknown = m?.default ?? m;
  if (fn && typeof fn === 'object' && typeof (fn as { default?: unknown }).default === 'function') fn = (fn as { default: unknown }).default;
  if (typeof fn !== 'function')
    throw new AppLoadError(
      `app ${file} must export default a request handler (req, res) => void or a factory (ctx) => handler, found ${describe(fn)}`,
      EXIT.APP_LOAD_ERROR,
    );
  return fn;
}

/**
 * A function of two or more parameters is a request listener (Express apps take three);
 * one of fewer is a factory, called with the worker context, that returns the listener.
 */
export async function resolveHandler(fn: Function, ctx: WorkerContext, file: string): Promise<RequestListener> {
  if (fn.length >= 2) return fn as RequestListener;
  let handler: unknown;
  try {
    handler = await (fn as (c: WorkerContext) => unknown)(ctx);
  } catch (err) {
    throw new AppLoadError(`app factory in ${file} failed: ${oneLine(err)}`, EXIT.WORKER_BOOT_ERROR, { cause: err });
  }
  if (typeof handler !== 'function')
    throw new AppLoadError(`app factory in ${file} must return a request handler, returned ${describe(handler)}`, EXIT.APP_LOAD_ERROR);
  return handler as RequestListener;
}
