/**
 * The package, not just the source: `npm pack`, install the tarball into an empty project,
 * then `npx ldsup --help` and a real start/stop there with a TypeScript config that imports
 * `defineConfig` from 'ldsup'.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { HAS_CXX, ROOT, cleanup, freePort, get, isAlive, tmpDir } from '../support/ldsup.js';
import { spawn } from 'node:child_process';

afterEach(cleanup);

const npm = (args: string[], cwd: string) =>
  execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 240_000 });

test('npm pack → install the tarball → npx ldsup --help, start, serve, stop', async () => {
  const work = tmpDir('ldsup-pack-');
  const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', work, '--ignore-scripts'], ROOT)) as { filename: string; files: { path: string }[] }[];
  const files = packed[0]!.files.map((f) => f.path);
  expect(files).toContain('bin/ldsup.cjs');
  expect(files).toContain('dist/cli.cjs');
  expect(files).toContain('dist/index.d.ts');
  expect(files.some((f) => f.startsWith('test/'))).toBe(false);

  const proj = path.join(work, 'consumer');
  fs.mkdirSync(proj);
  fs.writeFileSync(path.join(proj, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  npm(['install', path.join(work, packed[0]!.filename)], proj);
  // Its install script built the native watchdog for this Node, where a C++ compiler exists.
  expect(fs.existsSync(path.join(proj, 'node_modules', 'ldsup', 'native', 'build', `watchdog-${process.versions.modules}.node`))).toBe(HAS_CXX);

  const help = execFileSync('npx', ['ldsup', '--help'], { cwd: proj, encoding: 'utf8' });
  expect(help).toMatch(/Usage: ldsup/);

  const port = await freePort();
  fs.writeFileSync(path.join(proj, 'app.mjs'), `export default (req, res) => res.end(JSON.stringify({ pid: process.pid }));\n`);
  fs.writeFileSync(
    path.join(proj, 'supervisor.config.ts'),
    `import { defineConfig } from 'ldsup';\nexport default defineConfig({ app: './app.mjs', workers: 2, bind: '127.0.0.1:${port}', pidfile: 'ldsup.pid' });\n`,
  );
  const master = spawn('npx', ['ldsup'], { cwd: proj, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, NO_COLOR: '1' } });
  let out = '';
  master.stdout!.on('data', (b) => (out += b));
  master.stderr!.on('data', (b) => (out += b));
  try {
    const deadline = Date.now() + 60_000;
    while (!/Ready: 2 workers serving/.test(out)) {
      if (Date.now() > deadline || master.exitCode !== null) throw new Error(`no ready line:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await get(port, '/')).status).toBe(200);
    const pid = Number(fs.readFileSync(path.join(proj, 'ldsup.pid'), 'utf8'));
    execFileSync('npx', ['ldsup', 'stop'], { cwd: proj, encoding: 'utf8' });
    expect(isAlive(pid)).toBe(false);
    expect(fs.existsSync(path.join(proj, 'ldsup.pid'))).toBe(false);
  } finally {
    try {
      process.kill(-master.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}, 300_000);
