// Start-up code cache (src/boot.ts): Node's own on Node >= 22, ldsup's vm.Script cache on Node 20.
// The trap it must avoid on Node 20: code restored from a V8 cache cannot call import() itself,
// and `ldsup check -c x.mjs` imports the config with import() — from cached code the second time.
import fs from 'node:fs';
import path from 'node:path';
import { CI_TIMEOUT, FIXTURES, cleanup, freePort, runCli, start, tmpDir, writeConfig } from '../support/ldsup.js';

afterEach(cleanup);

const APP = path.join(FIXTURES, 'apps', 'basic.mjs');
const builtinCache = typeof (require('node:module') as { enableCompileCache?: unknown }).enableCompileCache === 'function';
const files = (dir: string): Record<string, number> =>
  Object.fromEntries(
    fs.readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => [path.join(e.parentPath ?? e.path, e.name), fs.statSync(path.join(e.parentPath ?? e.path, e.name)).mtimeMs]),
  );

test('the CLI writes its code cache, and the next run starts from it (config import() included)', async () => {
  const dir = tmpDir();
  const cache = path.join(dir, 'cache');
  fs.mkdirSync(cache, { mode: 0o700 });
  const config = writeConfig(dir, 'ldsup.config.mjs', 'export default { workers: 3 };\n');
  const env = { NODE_COMPILE_CACHE: cache };
  const first = await runCli(['print-config', '-c', config, APP], { env });
  expect(first.output).toMatch(/workers\s*=\s*3/);
  expect(first.code).toBe(0);
  const made = files(cache);
  expect(Object.keys(made).length).toBeGreaterThan(0);
  if (!builtinCache) expect(Object.keys(made).map((f) => path.basename(f))).toEqual([expect.stringMatching(/^cli\.cjs-.*\.cache$/)]);

  const second = await runCli(['print-config', '-c', config, APP], { env });
  expect(second.output).toMatch(/workers\s*=\s*3/);
  expect(second.code).toBe(0);
  // Accepted, so not written again (ldsup's own cache; Node's rewrites its index).
  if (!builtinCache) expect(files(cache)).toEqual(made);
});

// The master turns V8's optimisers off a second after start, and V8 rejects a code cache made
// under other flags: a master that served for longer must still leave a cache the next start uses.
test('a master that ran past its optimiser switch leaves a cache the next master accepts', async () => {
  const dir = tmpDir();
  const cache = path.join(dir, 'cache');
  fs.mkdirSync(cache, { mode: 0o700 });
  // Node >= 22 says whether it accepted its cache; ldsup's Node 20 cache is rewritten when rejected.
  const env = { NODE_COMPILE_CACHE: cache, NODE_DEBUG_NATIVE: builtinCache ? 'COMPILE_CACHE' : '' };
  const serve = async () => start([APP, '-w', '1', '-b', `127.0.0.1:${await freePort()}`], { env });

  const first = await serve();
  await first.ready();
  // Node 20: ldsup writes the cache once the master has run for a second, then switches.
  const deadline = Date.now() + CI_TIMEOUT;
  while (!builtinCache && Object.keys(files(cache)).length === 0) {
    if (Date.now() > deadline) throw new Error('no code cache written while the master ran');
    await new Promise((r) => setTimeout(r, 50));
  }
  first.signal('SIGTERM');
  expect((await first.waitExit()).code).toBe(0);
  const made = files(cache);
  expect(Object.keys(made).length).toBeGreaterThan(0);

  const second = await serve();
  await second.ready();
  second.signal('SIGTERM');
  expect((await second.waitExit()).code).toBe(0);
  if (builtinCache) expect(second.output).toMatch(/V8 code cache for CommonJS \S*dist\/cli\.cjs was accepted/);
  else expect(files(cache)).toEqual(made);
});

test('NODE_DISABLE_COMPILE_CACHE=1 writes nothing', async () => {
  const dir = tmpDir();
  const cache = path.join(dir, 'cache');
  fs.mkdirSync(cache, { mode: 0o700 });
  const r = await runCli(['check', APP], { env: { NODE_COMPILE_CACHE: cache, NODE_DISABLE_COMPILE_CACHE: '1' } });
  expect(r.code).toBe(0);
  expect(fs.readdirSync(cache)).toEqual([]);
});

(builtinCache ? test.skip : test)('Node 20: a cache directory others can write to is neither read nor written', async () => {
  const dir = tmpDir();
  const cache = path.join(dir, 'cache');
  fs.mkdirSync(cache);
  fs.chmodSync(cache, 0o777);
  const r = await runCli(['check', APP], { env: { NODE_COMPILE_CACHE: cache } });
  expect(r.code).toBe(0);
  expect(fs.readdirSync(cache)).toEqual([]);
});
