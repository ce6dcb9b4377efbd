import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatSettings, loadConfigFile, mergeSettings, resolveConfig, splitFileConfig, type Layer } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

// ESM configs (.mjs, .js with "type": "module") are loaded by Node's native import(), which jest's
// CommonJS runtime cannot do: test/integration/bad-config.test.ts covers them through `ldsup check`.
// The same goes for TypeScript configs where Node strips types (>= 22.18): here they take jiti's
// path, as on Node 20; the real CLI covers Node's own (bad-config, reload and lifecycle tests).
jest.mock('../../src/runtime.js', () => ({ ...jest.requireActual('../../src/runtime.js'), hasTypeStripping: false }));

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldsup-config-'));
  // A package.json bounds cosmiconfig's upward search to this directory.
  fs.writeFileSync(path.join(dir, 'package.json'), '{"name": "x"}');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const write = (name: string, text: string): string => {
  const p = path.join(dir, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text);
  return p;
};

const cli = (values: Record<string, unknown> = {}, baseDir = '/cwd'): Layer => ({ source: 'command line', values, fromText: true, baseDir });
const envArgs = (values: Record<string, unknown>): Layer => ({ source: 'LDSUP_CMD_ARGS', values, fromText: true, baseDir: '/cwd' });
const file = (values: Record<string, unknown>, where = '/etc/app/supervisor.config.ts'): Layer => ({ source: where, values, fromText: false, baseDir: path.dirname(where) });

/** The ConfigError message `fn` throws (fails if it throws anything else, or nothing). */
async function configError(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('mergeSettings: defaults < config file < LDSUP_CMD_ARGS < command line', () => {
  it('gunicorn oracle z: file workers=2, env -w 3 -t 7, CLI -w 4 → workers 4, timeout 7', () => {
    const s = mergeSettings([file({ workers: 2 }), envArgs({ workers: '3', timeout: '7' }), cli({ workers: '4' })], {}, '/etc/app/supervisor.config.ts');
    expect([s.workers, s.timeout, s.gracefulTimeout]).toEqual([4, 7, 30]);
    expect(s.configFile).toBe('/etc/app/supervisor.config.ts');
  });

  test.each<[string, Layer[], number]>([
    ['default', [], 1],
    ['file over default', [file({ workers: 2 })], 2],
    ['env args over file', [file({ workers: 2 }), envArgs({ workers: '3' })], 3],
    ['CLI over env args', [file({ workers: 2 }), envArgs({ workers: '3' }), cli({ workers: '4' })], 4],
    ['CLI over file', [file({ workers: 2 }), cli({ workers: '4' })], 4],
  ])('%s', (_name, layers, workers) => {
    expect(mergeSettings(layers, {}, null).workers).toBe(workers);
  });

  it('environment defaults (PORT, WEB_CONCURRENCY) sit below every layer', () => {
    const env = { PORT: '5000', WEB_CONCURRENCY: '3' };
    expect(mergeSettings([], env, null)).toMatchObject({ bind: ['0.0.0.0:5000'], workers: 3 });
    expect(mergeSettings([file({ bind: '127.0.0.1:1', workers: 2 })], env, null)).toMatchObject({ bind: ['127.0.0.1:1'], workers: 2 });
  });

  it('a bad PORT / WEB_CONCURRENCY is an error only when its default would be used', async () => {
    expect(await configError(() => mergeSettings([], { WEB_CONCURRENCY: 'lots' }, null))).toBe(
      'invalid value for environment variable WEB_CONCURRENCY: expected an integer from 1 to 512, found "lots" (string)',
    );
    expect(await configError(() => mergeSettings([], { PORT: 'http' }, null))).toBe(
      'invalid value for environment variable PORT: expected a port number from 0 to 65535, found "http" (string)',
    );
    expect(mergeSettings([cli({ workers: '2', bind: ['127.0.0.1:1'] })], { WEB_CONCURRENCY: 'lots', PORT: 'http' }, null)).toMatchObject({ workers: 2 });
  });

  it('the launchdarkly section merges key by key; a repeated -b replaces the bind list', () => {
    const s = mergeSettings(
      [file({ launchdarkly: { mode: 'direct', startWait: 2 }, bind: ['127.0.0.1:1', '127.0.0.1:2'] }), cli({ bind: ['127.0.0.1:3'] })],
      {},
      null,
    );
    expect(s.launchdarkly).toEqual({ mode: 'direct', startWait: 2 });
    expect(s.bind).toEqual(['127.0.0.1:3']);
    expect(mergeSettings([file({ launchdarkly: { mode: 'direct' } }), file({ launchdarkly: { startWait: 1 } })], {}, null).launchdarkly).toEqual({
      mode: 'direct',
      startWait: 1,
    });
  });

  it('relative paths resolve against the layer that gave them (config dir, or cwd for the CLI)', () => {
    const s = mergeSettings([file({ app: './app.ts', pidfile: 'run/app.pid', chdir: '..', launchdarkly: { flagsFile: 'flags.json' } })], {}, null);
    expect(s).toMatchObject({ app: '/etc/app/app.ts', pidfile: '/etc/app/run/app.pid', chdir: '/etc', launchdarkly: { flagsFile: '/etc/app/flags.json' } });
    expect(mergeSettings([file({ app: './app.ts' }), cli({ app: 'other.ts' })], {}, null).app).toBe('/cwd/other.ts');
    expect(mergeSettings([file({ app: '/abs/app.ts' })], {}, null).app).toBe('/abs/app.ts');
  });

  // Each message names the key and where it came from, what was expected and what was found.
  test.each<[string, Layer[], string]>([
    ['int from a file', [file({ workers: '2' })], 'invalid value for "workers" in /etc/app/supervisor.config.ts: expected an integer from 1 to 512, found "2" (string)'],
    ['int from the CLI', [cli({ workers: 'abc' })], 'invalid value for --workers (command line): expected an integer from 1 to 512, found "abc" (string)'],
    ['int from LDSUP_CMD_ARGS', [envArgs({ timeout: 'x' })], 'invalid value for --timeout (LDSUP_CMD_ARGS): expected a number of seconds >= 0, found "x" (string)'],
    ['bool', [file({ preload: 'yes' })], 'invalid value for "preload" in /etc/app/supervisor.config.ts: expected true or false, found "yes" (string)'],
    ['enum', [file({ logLevel: 'verbose' })], 'invalid value for "logLevel" in /etc/app/supervisor.config.ts: expected one of debug, info, warning, error, critical, found "verbose" (string)'],
    ['string', [file({ name: 42 })], 'invalid value for "name" in /etc/app/supervisor.config.ts: expected a non-empty string, found 42 (number)'],
    [
      'bind as a number',
      [file({ bind: 8000 })],
      'invalid value for "bind" in /etc/app/supervisor.config.ts: expected an address (HOST:PORT, [v6]:PORT, unix:PATH or fd://N) or a non-empty array of them, found 8000 (number)',
    ],
    [
      'one bad address of several',
      [cli({ bind: ['127.0.0.1:1', '127.0.0.1:70000'] })],
      'invalid value for --bind (command line): expected an address (HOST:PORT, [v6]:PORT, unix:PATH or fd://N), found "127.0.0.1:70000" (string): port 70000 is out of range (0-65535)',
    ],
    ['env entry', [cli({ env: ['NOPE'] })], 'invalid value for --env (command line): expected KEY=VALUE strings, found "NOPE" (string)'],
    ['env value', [file({ env: { A: 1 } })], 'invalid value for "env.A" in /etc/app/supervisor.config.ts: expected a string, found 1 (number)'],
    ['launchdarkly sub-key', [file({ launchdarkly: { mode: 'proxy' } })], 'invalid value for "launchdarkly.mode" in /etc/app/supervisor.config.ts: expected one of relay, direct, daemon, found "proxy" (string)'],
    ['a function where a value belongs', [file({ workers: () => 2 })], 'invalid value for "workers" in /etc/app/supervisor.config.ts: expected an integer from 1 to 512, found a function'],
    [
      'jitter without maxRequests',
      [cli({ maxRequestsJitter: '5' })],
      'conflicting settings: maxRequestsJitter is 5 (--max-requests-jitter (command line)) but maxRequests is 0 (the default); jitter needs maxRequests > 0',
    ],
    [
      'jitter with maxRequests 0 from a file',
      [file({ maxRequests: 0, maxRequestsJitter: 5 })],
      'conflicting settings: maxRequestsJitter is 5 ("maxRequestsJitter" in /etc/app/supervisor.config.ts) but maxRequests is 0 ("maxRequests" in /etc/app/supervisor.config.ts); jitter needs maxRequests > 0',
    ],
  ])('%s', async (_name, layers, message) => {
    expect(await configError(() => mergeSettings(layers, {}, null))).toBe(message);
  });

  it('jitter with maxRequests set is fine', () => {
    expect(mergeSettings([file({ maxRequests: 100, maxRequestsJitter: 5 })], {}, null)).toMatchObject({ maxRequests: 100, maxRequestsJitter: 5 });
  });
});

describe('splitFileConfig', () => {
  const loaded = (config: Record<string, unknown>) => ({ filepath: '/etc/app/supervisor.config.ts', config });

  it('separates hooks from settings; a preload function is the preload hook and turns preload on', () => {
    const postFork = () => {};
    const preload = () => 1;
    const { layer, hooks } = splitFileConfig(loaded({ workers: 2, postFork, preload, timeout: undefined }));
    expect(layer!.values).toEqual({ workers: 2, preload: true });
    expect(hooks).toEqual({ postFork, preload });
  });

  test.each<[Record<string, unknown>, string]>([
    [{ workerz: 2 }, 'unknown setting "workerz" in /etc/app/supervisor.config.ts (did you mean "workers"?)'],
    [{ max_requests: 2 }, 'unknown setting "max_requests" in /etc/app/supervisor.config.ts (did you mean "maxRequests"?)'],
    [{ postfork: () => {} }, 'unknown setting "postfork" in /etc/app/supervisor.config.ts (did you mean "postFork"?)'],
    [{ port: 8000 }, 'unknown setting "port" in /etc/app/supervisor.config.ts'],
    [{ postFork: 'log' }, 'hook "postFork" in /etc/app/supervisor.config.ts must be a function, found "log" (string)'],
    [{ onExit: {} }, 'hook "onExit" in /etc/app/supervisor.config.ts must be a function, found {} (object)'],
  ])('%j → %s', async (config, message) => {
    expect(await configError(() => splitFileConfig(loaded(config)))).toBe(message);
  });

  it('no file, no layer', () => {
    expect(splitFileConfig({ filepath: null, config: {} })).toEqual({ layer: null, hooks: {} });
  });
});

describe('resolveConfig with real config files', () => {
  const APP = 'export default (req, res) => res.end()';
  const resolve = (opts: { configPath?: string; cli?: Layer; env?: NodeJS.ProcessEnv; cwd?: string } = {}) =>
    resolveConfig({ cwd: opts.cwd ?? dir, env: opts.env ?? {}, configPath: opts.configPath, envArgs: null, cli: opts.cli ?? cli({}, dir) });

  // [file name, text]: each gives workers 3 and an app relative to the config's own directory.
  test.each<[string, string]>([
    // (`import { defineConfig } from 'ldsup'` pulls in modules jest cannot import: the integration test covers it.)
    ['supervisor.config.ts', `const n: number = 3;\nexport default { workers: n, app: './app.mjs' };\n`],
    ['supervisor.config.cts', `const n: number = 3;\nmodule.exports = { workers: n, app: './app.mjs' };\n`],
    ['supervisor.config.cjs', `module.exports = { workers: 3, app: './app.mjs' };\n`],
    ['supervisor.config.js', `module.exports = { workers: 3, app: './app.mjs' };\n`], // CommonJS: package.json has no "type"
    ['supervisor.config.json', `{ "workers": 3, "app": "./app.mjs" }`],
    ['.ldsuprc', `workers: 3\napp: ./app.mjs\n`],
    ['.ldsuprc.yaml', `workers: 3\napp: ./app.mjs\n`],
    ['.ldsuprc.json', `{ "workers": 3, "app": "./app.mjs" }`],
    ['package.json', `{ "name": "x", "ldsup": { "workers": 3, "app": "./app.mjs" } }`],
  ])('%s: found by search from a subdirectory, and named by --config', async (name, text) => {
    const conf = write(`conf/${name}`, text);
    write('conf/app.mjs', APP);
    const sub = path.join(dir, 'conf', 'deeper');
    fs.mkdirSync(sub);
    fs.writeFileSync(path.join(dir, 'package.json'), '{"name": "x"}'); // the root holds no "ldsup" key
    const searched = await resolve({ cwd: path.join(dir, 'conf') });
    expect(searched.settings).toMatchObject({ workers: 3, app: path.join(dir, 'conf', 'app.mjs'), configFile: conf });
    const named = await resolve({ configPath: `conf/${name}` });
    expect(named.settings).toMatchObject({ workers: 3, app: path.join(dir, 'conf', 'app.mjs'), configFile: conf });
  });

  it('a TS config gets its hooks; the CLI beats the file', async () => {
    write('supervisor.config.ts', `export default { workers: 2, postFork(ctx: unknown) {}, preload: () => ({ n: 1 }) };\n`);
    const { settings, hooks } = await resolve({ cli: cli({ workers: '5' }, dir) });
    expect(settings).toMatchObject({ workers: 5, preload: true });
    expect(Object.keys(hooks).sort()).toEqual(['postFork', 'preload']);
    expect(typeof hooks.postFork).toBe('function');
  });

  test.each(['supervisor.config.ts', 'supervisor.config.cjs', '.ldsuprc', 'supervisor.config.json'])('a blank %s is an empty config', async (name) => {
    const f = write(name, '\n');
    expect((await resolve()).settings).toMatchObject({ configFile: f, workers: 1 });
  });

  it('a found config without a default export is an error, not skipped for the next place', async () => {
    const ts = write('supervisor.config.ts', `export const workers = 2;\n`);
    write('supervisor.config.json', `{ "workers": 5 }`);
    expect(await configError(() => resolve())).toBe(`config file ${ts} exports nothing (expected a default export: export default defineConfig({...}))`);
  });

  it('no config file anywhere: defaults, configFile null', async () => {
    const { settings } = await resolve();
    expect(settings).toMatchObject({ configFile: null, workers: 1, app: null });
  });

  it('reloading sees an edited TS config (HUP)', async () => {
    const f = write('supervisor.config.ts', `export default { workers: 2 };\n`);
    expect((await resolve({ configPath: f })).settings.workers).toBe(2);
    fs.writeFileSync(f, `export default { workers: 6 };\n`);
    expect((await resolve({ configPath: f })).settings.workers).toBe(6);
  });

  test.each<[string, string, string, RegExp]>([
    ['syntax error (TS)', 'bad.ts', `export default {\n  workers: 2,\n  app: ,\n};\n`, /^cannot load config file \/.*\/bad\.ts: .*Unexpected token.* \(line 3\b/],
    ['syntax error (CJS)', 'bad.cjs', `module.exports = {\n  workers: 2\n  app: 'x',\n};\n`, /^cannot load config file \/.*\/bad\.cjs: .* \(line 3\b/],
    ['throws at load', 'throws.ts', `const x = 1;\nthrow new Error('no DATABASE_URL');\nexport default { workers: x };\n`, /^cannot load config file \/.*\/throws\.ts: no DATABASE_URL \(line 2\)$/],
    ['bad JSON', 'bad.json', `{\n  "workers": 2,\n}`, /^cannot load config file \/.*\/bad\.json: .*in JSON at position \d+ \(line 3\)$/],
    ['bad YAML', '.ldsuprc', `workers: 2\n  bind: [\n`, /^cannot load config file \/.*\/\.ldsuprc: bad indentation of a mapping entry \(2:\d+\)$/],
    ['exports nothing', 'empty.ts', `export const workers = 2;\n`, /^config file \/.*\/empty\.ts exports nothing \(expected a default export: export default defineConfig\(\{\.\.\.\}\)\)$/],
    ['package.json without the key', 'package.json', `{ "name": "x" }`, /^config file \/.*\/package\.json has no "ldsup" key$/],
    ['exports a number', 'num.ts', `export default 5;\n`, /^config file \/.*\/num\.ts must export an object, found 5 \(number\)$/],
    ['exports an array', 'arr.json', `[1, 2]`, /^config file \/.*\/arr\.json must export an object, found \[1,2\] \(array\)$/],
    ['exports a function', 'fn.ts', `export default () => ({ workers: 2 });\n`, /^config file \/.*\/fn\.ts must export an object, found a function$/],
  ])('%s', async (_name, fileName, text, message) => {
    const f = write(fileName, text);
    const msg = await configError(() => resolve({ configPath: f }));
    expect(msg).toMatch(message);
    expect(msg).not.toContain('\n');
  });

  test.each<[string, string, RegExp]>([
    ['missing', 'nope.ts', /^config file not found: \/.*\/nope\.ts \(given by --config\)$/],
    ['a directory', '.', /^config file \/.* is a directory \(given by --config\)$/],
  ])('--config naming %s', async (_name, given, message) => {
    expect(await configError(() => loadConfigFile(given, dir))).toMatch(message);
  });

  it('a found config with a bad value names that file', async () => {
    const f = write('.ldsuprc.json', `{ "workers": "many" }`);
    expect(await configError(() => resolve())).toBe(`invalid value for "workers" in ${f}: expected an integer from 1 to 512, found "many" (string)`);
  });
});

describe('formatSettings (print-config)', () => {
  it('prints sorted `name = value` lines and masks the SDK key', () => {
    const s = mergeSettings([file({ workers: 3, launchdarkly: { sdkKey: 'sdk-secret-123', mode: 'direct' }, env: { LAUNCHDARKLY_SDK_KEY: 'sdk-secret-456', A: '1' } })], {}, null);
    const text = formatSettings(s);
    const lines = text.split('\n');
    expect(lines.map((l) => l.split(' = ')[0])).toEqual([...lines.map((l) => l.split(' = ')[0])].sort());
    expect(lines).toContain('workers = 3');
    expect(lines).toContain('launchdarkly = {"sdkKey":"***","mode":"direct"}');
    expect(lines).toContain('env = {"LAUNCHDARKLY_SDK_KEY":"***","A":"1"}');
    expect(text).not.toContain('secret');
    for (const l of lines) expect(l).toMatch(/^[a-zA-Z]+ = \S/);
    expect(s.launchdarkly.sdkKey).toBe('sdk-secret-123'); // masking does not touch the settings
  });
});
