/**
 * Finds, loads and validates the configuration, and merges its layers:
 * defaults < config file < LDSUP_CMD_ARGS < command line (gunicorn's order).
 *
 * TypeScript configs (.mts, and .ts in a "type": "module" package) are loaded by Node itself
 * where it strips types (>= 22.18), as apps are (loader.ts); else, or for what strip-only mode
 * rejects (enums, a syntax error, a .cts, `import 'ldsup'` under `npx` where the project has no
 * ldsup installed), with jiti, which works on Node 20 and 24 and aliases 'ldsup' to this copy.
 * Either way a HUP sees the edited file.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Loader } from 'cosmiconfig';
import { ConfigError, describe, oneLine } from './errors.js';
import { Invalid, SETTINGS, SETTING_KEYS, closest, type SettingDef } from './settings.js';
import { HOOK_NAMES, type Hooks, type ResolvedSettings } from './types.js';
import { importEsm, importEsmFile, isEsmFile, strippingRejected, stripsWithoutWarning } from './esm-import.js';
import { hasTypeStripping } from './runtime.js';
import { createJiti } from './jiti.js';
import { lookup } from './privileges.js';

const SEARCH_PLACES = [
  'package.json',
  '.ldsuprc',
  '.ldsuprc.json',
  '.ldsuprc.yaml',
  '.ldsuprc.yml',
  '.ldsuprc.js',
  'supervisor.config.ts',
  'supervisor.config.mts',
  'supervisor.config.cts',
  'supervisor.config.js',
  'supervisor.config.mjs',
  'supervisor.config.cjs',
  'supervisor.config.json',
];

/** Our own public entry, so a config's `import { defineConfig } from 'ldsup'` always resolves. */
function selfEntry(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const js = path.join(here, 'index.js');
  return fs.existsSync(js) ? js : path.join(here, 'index.ts');
}

/**
 * jiti, loaded only when a config needs it (TypeScript where Node cannot strip types, CommonJS,
 * or an ESM config importing 'ldsup' where the project has not installed it): ~30 ms and ~7 MB
 * to load, and its transform (~200 ms, with Babel) the first time it sees a file, cached on disk.
 */
function jiti(fsCache: boolean) {
  return createJiti(import.meta.url, { alias: { ldsup: selfEntry() }, moduleCache: false, ...(fsCache ? {} : { fsCache: false }) });
}

let generation = 0;
const loaded = new Set<string>();

/** Loads a JS/TS config module afresh every time (HUP must see edits). */
const loadModule: Loader = async (filepath) => {
  const ext = path.extname(filepath);
  const ts = ext !== '.js' && ext !== '.mjs' && ext !== '.cjs';
  const esm = isEsmFile(filepath);
  // Node's own loader for ES modules, and for TypeScript it strips without guessing the module type.
  if (esm || (ts && ext !== '.cts' && hasTypeStripping && stripsWithoutWarning(filepath))) {
    try {
      return defaultExport(await importAfresh(filepath));
    } catch (err) {
      // jiti takes over where only it can: `import { defineConfig } from 'ldsup'` where the
      // project has no ldsup installed (npx, global install: jiti aliases the name to this copy),
      // and TypeScript that strip-only mode rejects (enums…; a syntax error too, so that its
      // message reads the same on every Node).
      if (!isLdsupNotFound(err) && !strippingRejected(err)) throw err;
    }
  }
  const mod = await jiti(ts).import(filepath);
  return ext === '.cts' || (!ts && !esm) ? commonJsExports(mod) : defaultExport(mod);
};

/**
 * The first load in this process goes straight to the file; a reload imports it under a new
 * URL, so that Node evaluates the edited file again (the old copy stays in memory: tiny).
 */
function importAfresh(filepath: string): Promise<unknown> {
  const url = pathToFileURL(filepath).href;
  if (loaded.has(filepath)) return importEsm(`${url}?ldsup=${++generation}`);
  loaded.add(filepath);
  return importEsmFile(filepath, url);
}

const isLdsupNotFound = (err: unknown): boolean =>
  (err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && /Cannot find package 'ldsup'/.test((err as Error).message);

const hasDefault = (mod: unknown): mod is { default: unknown } => mod !== null && typeof mod === 'object' && 'default' in mod;

/**
 * An ES module's default export. Not jiti's `{ default: true }`, which falls back to the
 * namespace: a TS file with only named exports would then pass as a config object, where the
 * same file as .mjs "exports nothing". `in`, not `.default`: jiti's interop proxy answers
 * `.default` with the namespace itself.
 */
const defaultExport = (mod: unknown): unknown => (hasDefault(mod) ? mod.default : undefined);

/** A CommonJS module's `module.exports` (jiti wraps it as `default`, or not, depending on how it required it). */
const commonJsExports = (mod: unknown): unknown => (hasDefault(mod) ? mod.default : mod);


export interface LoadedFile {
  filepath: string | null;
  config: Record<string, unknown>;
}

const MODULE_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'];

async function explorer() {
  const { cosmiconfig } = await importEsm<typeof import('cosmiconfig')>('cosmiconfig');
  return cosmiconfig('ldsup', {
    searchPlaces: SEARCH_PLACES,
    loaders: Object.fromEntries(MODULE_EXTENSIONS.map((ext) => [ext, loadModule])),
    searchStrategy: 'project',
    cache: false,
    // A found config that exports nothing is an error (below), not skipped for the next one.
    ignoreEmptySearchPlaces: false,
  });
}

/**
 * A config module named by --config is imported as cosmiconfig would import it (blank file: no
 * settings), without cosmiconfig: loading it and its meta-config search (it reads and parses the
 * project's package.json) costs the master ~30 ms before it can fork. Searching, and the JSON,
 * YAML and rc formats, stay with cosmiconfig.
 */
async function loadNamedModule(file: string): Promise<{ filepath: string; config: unknown; isEmpty?: boolean }> {
  if (isBlank(file)) return { filepath: file, config: undefined, isEmpty: true };
  return { filepath: file, config: await loadModule(file, '') };
}

/** Finds (or loads the named) config file. A file named explicitly must exist. */
export async function loadConfigFile(explicit: string | undefined, cwd: string): Promise<LoadedFile> {
  let result;
  if (explicit) {
    const file = path.resolve(cwd, explicit);
    if (!fs.existsSync(file)) throw new ConfigError(`config file not found: ${file} (given by --config)`);
    if (fs.statSync(file).isDirectory()) throw new ConfigError(`config file ${file} is a directory (given by --config)`);
    try {
      result = MODULE_EXTENSIONS.includes(path.extname(file)) ? await loadNamedModule(file) : await (await explorer()).load(file);
    } catch (err) {
      throw new ConfigError(`cannot load config file ${file}: ${describeLoadError(err, file)}`, { cause: err });
    }
    if (!result || result.isEmpty || result.config === undefined || result.config === null) {
      if (isBlank(file)) return { filepath: file, config: {} };
      throw new ConfigError(exportsNothing(file));
    }
  } else {
    try {
      result = await (await explorer()).search(cwd);
    } catch (err) {
      const file = (err as { filepath?: string }).filepath ?? 'the config file';
      throw new ConfigError(`cannot load config file ${file}: ${describeLoadError(err, file)}`, { cause: err });
    }
    if (!result) return { filepath: null, config: {} };
    if (result.isEmpty || result.config == null) {
      if (isBlank(result.filepath)) return { filepath: result.filepath, config: {} };
      throw new ConfigError(exportsNothing(result.filepath));
    }
  }
  const config = result.config as unknown;
  if (typeof config !== 'object' || Array.isArray(config))
    throw new ConfigError(`config file ${result.filepath} must export an object, found ${describe(config)}`);
  return { filepath: result.filepath, config: config as Record<string, unknown> };
}

function exportsNothing(file: string): string {
  if (path.basename(file) === 'package.json') return `config file ${file} has no "ldsup" key`;
  return `config file ${file} exports nothing (expected a default export: export default defineConfig({...}))`;
}

/** An empty config file is an empty config (no settings), like an empty gunicorn.conf.py. */
function isBlank(file: string): boolean {
  try {
    return fs.readFileSync(file, 'utf8').trim() === '';
  } catch {
    return false;
  }
}

/** One line that says why a config module could not be loaded, with the line number when known. */
function describeLoadError(err: unknown, file: string): string {
  const e = err as Error & { loc?: { line: number; column: number } };
  const stackLine = e.stack?.split('\n').find((l) => l.includes(path.basename(file)));
  const where = e.loc ? ` (line ${e.loc.line}, column ${e.loc.column})` : locationFrom(stackLine, file) || syntaxErrorLine(err, file);
  return `${reason(err)}${where}`;
}

/**
 * The reason, on one line. cosmiconfig puts it under a "JSON Error in <file>:" header, and
 * parse-json adds code frames (`> 3 |  "app": ,`: the line number is taken from there) and the
 * whole file (` while parsing '…'`, dropped).
 */
function reason(err: unknown): string {
  // Duck-typed: an error thrown by a config evaluated in another realm is no `instanceof Error` here.
  const message = typeof (err as Error)?.message === 'string' ? (err as Error).message : String(err);
  const lines = message.split('\n').map((l) => l.trim()).filter(Boolean);
  if (lines.length > 1 && /Error in .*:$/.test(lines[0]!)) lines.shift();
  const frameLine = lines.map((l) => /^>\s*(\d+)\s*\|/.exec(l)?.[1]).find(Boolean);
  const text = lines.find((l) => !/^(>?\s*\d+\s*)?\|/.test(l));
  if (!text) return oneLine(err);
  // Node 24's JSON.parse already says "(line 3 column 1)"; keep one form on every Node.
  const bare = text.replace(/ while parsing .*$/, '');
  const line = frameLine ?? / \(line (\d+) column \d+\)$/.exec(bare)?.[1];
  return bare.replace(/ \(line \d+ column \d+\)$/, '') + (line ? ` (line ${line})` : '');
}

/**
 * Node's native import() reports a SyntaxError without its location; `node --check` (parse only,
 * nothing runs) prints it as `<file>:<line>` first. Only on this error path.
 */
function syntaxErrorLine(err: unknown, file: string): string {
  if (!(err instanceof SyntaxError) || !/\.(m?js|cjs)$/.test(file)) return '';
  const r = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8', timeout: 10_000 });
  const m = r.stderr?.match(new RegExp(`^${escapeRe(file)}:(\\d+)`, 'm'));
  return m ? ` (line ${m[1]})` : '';
}

function locationFrom(line: string | undefined, file: string): string {
  const m = line?.match(new RegExp(`${escapeRe(path.basename(file))}[^:]*:(\\d+)(?::(\\d+))?`));
  return m ? ` (line ${m[1]})` : '';
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A layer of values to merge, and where it came from (for error messages). */
export interface Layer {
  source: string;
  values: Partial<Record<string, unknown>>;
  /** Values are strings to parse (CLI, LDSUP_CMD_ARGS). */
  fromText: boolean;
  /** Base directory for relative paths given in this layer. */
  baseDir: string;
}

export interface Resolved {
  settings: ResolvedSettings;
  hooks: Hooks;
}

const PATH_KEYS = new Set(['app', 'pidfile', 'chdir']);

/** Splits a config file into settings and hooks, refusing unknown keys and non-function hooks. */
export function splitFileConfig(file: LoadedFile): { layer: Layer | null; hooks: Hooks } {
  if (!file.filepath) return { layer: null, hooks: {} };
  const values: Record<string, unknown> = {};
  const hooks: Record<string, unknown> = {};
  const where = file.filepath;
  for (const [key, value] of Object.entries(file.config)) {
    if (value === undefined) continue;
    if ((HOOK_NAMES as readonly string[]).includes(key)) {
      if (typeof value !== 'function') throw new ConfigError(`hook "${key}" in ${where} must be a function, found ${describe(value)}`);
      hooks[key] = value;
    } else if (key === 'preload' && typeof value === 'function') {
      hooks.preload = value;
      values.preload = true;
    } else if (SETTING_KEYS.has(key as never)) {
      values[key] = value;
    } else {
      throw new ConfigError(`unknown setting "${key}" in ${where}${suggest(key)}`);
    }
  }
  return { layer: { source: where, values, fromText: false, baseDir: path.dirname(where) }, hooks: hooks as Hooks };
}

function suggest(key: string): string {
  const hit = closest(key, [...SETTING_KEYS, ...HOOK_NAMES, 'preload']);
  return hit ? ` (did you mean "${hit}"?)` : '';
}

/** Applies the layers over the defaults; the first invalid value stops with a one-line error. */
export function mergeSettings(layers: Layer[], env: NodeJS.ProcessEnv, configFile: string | null): ResolvedSettings {
  const out: Record<string, unknown> = {};
  /** Where each setting's value came from, for messages about combinations. */
  const from: Record<string, string> = {};
  /** A default taken from a bad environment variable: an error only if no layer overrides it. */
  const badDefaults = new Map<string, Invalid>();
  for (const def of SETTINGS) {
    from[def.key] = 'the default';
    try {
      out[def.key] = def.default(env);
    } catch (err) {
      if (!(err instanceof Invalid)) throw err;
      badDefaults.set(def.key, err);
    }
  }
  for (const layer of layers) {
    for (const def of SETTINGS) {
      const raw = layer.values[def.key];
      if (raw === undefined) continue;
      const value = resolvePaths(def, parseOne(def, raw, layer), layer.baseDir);
      checkPath(def, value, layer, raw);
      checkPrincipal(def, value, layer, raw);
      // The `launchdarkly` section merges key by key across layers; every other setting is replaced.
      out[def.key] = def.key === 'launchdarkly' ? { ...(out[def.key] as object), ...(value as object) } : value;
      from[def.key] = whereFrom(def, layer);
      badDefaults.delete(def.key);
    }
  }
  for (const err of badDefaults.values()) throw new ConfigError(`invalid value for environment variable ${err.at.key}: ${expectedFound(err, undefined)}`);
  const s = out as unknown as ResolvedSettings;
  for (const def of SETTINGS) {
    if (!def.resolve) continue;
    try {
      out[def.key] = def.resolve(out[def.key], s);
    } catch (err) {
      if (!(err instanceof Invalid)) throw err;
      throw new ConfigError(`invalid value for ${from[def.key]}: ${expectedFound(err, out[def.key])}`);
    }
  }
  s.configFile = configFile;
  if (s.maxRequestsJitter > 0 && s.maxRequests === 0)
    throw new ConfigError(
      `conflicting settings: maxRequestsJitter is ${s.maxRequestsJitter} (${from.maxRequestsJitter}) but maxRequests is 0 (${from.maxRequests}); jitter needs maxRequests > 0`,
    );
  return s;
}

/** `"workers" in /app/supervisor.config.ts`, or `--workers (command line)`. */
function whereFrom(def: SettingDef, layer: Layer, key: string = def.key): string {
  const flag = def.flag?.match(/--[a-z-]+/)?.[0];
  return layer.fromText ? `${key === def.key && flag ? flag : key} (${layer.source})` : `"${key}" in ${layer.source}`;
}

function expectedFound(err: Invalid, raw: unknown): string {
  const found = err.at.foundText ?? describe('found' in err.at ? err.at.found : raw);
  return `expected ${err.expected}, found ${found}${err.at.detail ? `: ${err.at.detail}` : ''}`;
}

function parseOne(def: SettingDef, raw: unknown, layer: Layer): unknown {
  try {
    return def.parse(raw, layer.fromText);
  } catch (err) {
    if (!(err instanceof Invalid)) throw err;
    throw new ConfigError(`invalid value for ${whereFrom(def, layer, err.at.key)}: ${expectedFound(err, raw)}`);
  }
}

/**
 * What a path setting names must fit it now, not once the master is running: `chdir` a
 * directory (entered only after the config is loaded and, with -D, detached, where a missing one
 * was Node's bare ENOENT, or no reason at all), `pidfile` no directory (written only once the
 * sockets are bound: a bare EISDIR after "Listening at", and its temp file left behind).
 */
function checkPath(def: SettingDef, value: unknown, layer: Layer, raw: unknown): void {
  if (typeof value !== 'string' || (def.key !== 'chdir' && def.key !== 'pidfile')) return;
  let stat: fs.Stats | undefined;
  let detail: string | null = null;
  try {
    stat = fs.statSync(value);
  } catch (err) {
    // A pidfile that does not exist yet is the usual case (a missing directory: Pidfile.check).
    if (def.key === 'chdir') detail = (err as NodeJS.ErrnoException).code === 'ENOENT' ? `${value} does not exist` : `${value}: ${oneLine(err)}`;
  }
  if (def.key === 'chdir' && stat && !stat.isDirectory()) detail = `${value} is not a directory`;
  if (def.key === 'pidfile' && stat?.isDirectory()) detail = `${value} is a directory`;
  if (!detail) return;
  const expected = def.key === 'chdir' ? 'an existing directory' : 'the path of a file';
  throw new ConfigError(`invalid value for ${whereFrom(def, layer)}: ${expectedFound(new Invalid(expected, { detail }), raw)}`);
}

/**
 * A `user` or `group` name must exist when the config is loaded, as in gunicorn ("No such user"):
 * it was looked up only by the master once running, so `ldsup check` passed it and the start
 * failed with "(--user)" even for a name from the config file. Numeric ids pass, as in gunicorn.
 */
function checkPrincipal(def: SettingDef, value: unknown, layer: Layer, raw: unknown): void {
  if (typeof value !== 'string' || (def.key !== 'user' && def.key !== 'group')) return;
  const [file, id] = def.key === 'user' ? (['/etc/passwd', 'uid'] as const) : (['/etc/group', 'gid'] as const);
  if (lookup(file, value)) return;
  const invalid = new Invalid(`a ${def.key} name from ${file} or a numeric ${id}`, { detail: `no such ${def.key}` });
  throw new ConfigError(`invalid value for ${whereFrom(def, layer)}: ${expectedFound(invalid, raw)}`);
}

function resolvePaths(def: SettingDef, value: unknown, baseDir: string): unknown {
  if (typeof value === 'string' && PATH_KEYS.has(def.key)) return path.resolve(baseDir, value);
  if (def.key === 'launchdarkly' && value && typeof value === 'object') {
    const ld = value as { flagsFile?: string };
    if (ld.flagsFile) return { ...ld, flagsFile: path.resolve(baseDir, ld.flagsFile) };
  }
  return value;
}

/** Loads everything and returns validated settings and hooks. */
export async function resolveConfig(opts: {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** --config from the command line, else from LDSUP_CMD_ARGS. */
  configPath?: string;
  envArgs: Layer | null;
  cli: Layer;
}): Promise<Resolved> {
  const file = await loadConfigFile(opts.configPath, opts.cwd);
  const { layer, hooks } = splitFileConfig(file);
  const layers = [layer, opts.envArgs, opts.cli].filter((l): l is Layer => l !== null);
  const settings = mergeSettings(layers, opts.env, file.filepath);
  return { settings, hooks };
}

/** `name = value` lines sorted by name, as gunicorn's --print-config (the SDK key is masked, also when given through `env`). */
export function formatSettings(s: ResolvedSettings): string {
  const env = { ...s.env };
  if (env.LAUNCHDARKLY_SDK_KEY) env.LAUNCHDARKLY_SDK_KEY = '***';
  const shown: Record<string, unknown> = { ...s, env, launchdarkly: { ...s.launchdarkly, ...(s.launchdarkly.sdkKey ? { sdkKey: '***' } : {}) } };
  return Object.keys(shown)
    .sort()
    .map((k) => `${k} = ${JSON.stringify(shown[k])}`)
    .join('\n');
}
