/**
 * The package, not just the source: `npm pack`, install the tarball into an empty project,
 * then `npx ldsup --help` and a real start/stop there with a TypeScript config that imports
 * `defineConfig` from 'ldsup'.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { HAS_CXX, ROOT, cleanup, freePort, get, isAlive, start, tmpDir } from '../support/ldsup.js';

afterEach(cleanup);

const npm = (args: string[], cwd: string) =>
  execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 240_000 });

/** `npm pack` of this checkout, installed into a fresh project; returns the project and the packed file list. */
function installPacked(): { proj: string; files: string[] } {
  const work = tmpDir('ldsup-pack-');
  const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', work, '--ignore-scripts'], ROOT)) as { filename: string; files: { path: string }[] }[];
  const proj = path.join(work, 'consumer');
  fs.mkdirSync(proj);
  fs.writeFileSync(path.join(proj, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  npm(['install', path.join(work, packed[0]!.filename)], proj);
  return { proj, files: packed[0]!.files.map((f) => f.path) };
}

test('npm pack → install the tarball → npx ldsup --help, start, serve, stop', async () => {
  const { proj, files } = installPacked();
  expect(files).toContain('bin/ldsup.cjs');
  expect(files).toContain('dist/cli.cjs');
  expect(files).toContain('dist/index.d.ts');
  expect(files.some((f) => f.startsWith('test/'))).toBe(false);

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
  const l = start([], { cwd: proj, command: ['npx', 'ldsup'] });
  await l.waitFor(/Ready: 2 workers serving/, 60_000);
  expect((await get(port, '/')).status).toBe(200);
  const pid = Number(fs.readFileSync(path.join(proj, 'ldsup.pid'), 'utf8'));
  execFileSync('npx', ['ldsup', 'stop'], { cwd: proj, encoding: 'utf8' });
  expect(isAlive(pid)).toBe(false);
  expect(fs.existsSync(path.join(proj, 'ldsup.pid'))).toBe(false);
}, 300_000);

/** The exec-form (JSON) value of each `KEY [...]` instruction of the Dockerfile's last stage. */
function dockerInstructions(text: string): { entrypoint: string[]; cmd: string[]; env: Record<string, string> } {
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  const last = lines.slice(lines.map((l) => /^FROM\s/i.test(l)).lastIndexOf(true));
  const exec = (key: string) => {
    const line = last.filter((l) => new RegExp(`^${key}\\s`, 'i').test(l)).pop();
    return line ? (JSON.parse(line.slice(key.length).trim()) as string[]) : [];
  };
  const env: Record<string, string> = {};
  for (const l of last) if (/^ENV\s/i.test(l)) for (const [, k, v] of l.slice(4).matchAll(/(\w+)=(\S+)/g)) env[k!] = v!;
  return { entrypoint: exec('ENTRYPOINT'), cmd: exec('CMD'), env };
}

test('examples/deploy: the container command, as the Kubernetes manifest runs the Dockerfile\'s image, serves the app, /readyz, /healthz and /metrics, and stops on TERM', async () => {
  const deploy = path.join(ROOT, 'examples', 'deploy');
  const docker = dockerInstructions(fs.readFileSync(path.join(deploy, 'Dockerfile'), 'utf8'));
  const manifest = fs.readFileSync(path.join(deploy, 'deployment.yaml'), 'utf8');
  // Kubernetes: `command` replaces the image's ENTRYPOINT, `args` its CMD.
  expect(manifest).not.toMatch(/^\s+command:/m);
  const args = JSON.parse(/^\s+args: (\[.*\])$/m.exec(manifest)![1]!) as string[];
  const port = await freePort();
  const hport = await freePort();
  // The image's ports (8000, and 9000 for probes and metrics, as the manifest says) are the test's.
  expect(manifest).toMatch(/containerPort: 9000/);
  expect(manifest).toMatch(/prometheus\.io\/port: "9000"/);
  const argv = [...docker.entrypoint, ...args].map((a) => a.replace(/^0\.0\.0\.0:8000$/, `127.0.0.1:${port}`).replace(/^0\.0\.0\.0:9000$/, `127.0.0.1:${hport}`));
  expect(argv[0]).toBe('node');

  const { proj } = installPacked(); // WORKDIR /app: the app, its config and node_modules/ldsup
  fs.writeFileSync(path.join(proj, 'app.mjs'), `export default (req, res) => res.end(JSON.stringify({ pid: process.pid, env: process.env.NODE_ENV }));\n`);
  fs.writeFileSync(path.join(proj, 'supervisor.config.ts'), `import { defineConfig } from 'ldsup';\nexport default defineConfig({ app: './app.mjs' });\n`);
  const l = start(argv.slice(2), { cwd: proj, env: docker.env, command: [process.execPath, argv[1]!] });
  await l.ready(60_000);
  expect(l.output).toContain(`Ready: ${args[args.indexOf('--workers') + 1]} workers serving`);
  expect((await get(port, '/')).json()).toEqual({ pid: expect.any(Number), env: 'production' });
  expect((await get(hport, '/readyz')).status).toBe(200);
  expect((await get(hport, '/healthz')).status).toBe(200);
  expect((await get(hport, '/metrics')).body).toMatch(/^ldsup_workers_ready \d+$/m);
  l.signal('SIGTERM'); // STOPSIGNAL
  expect((await l.waitExit()).code).toBe(0);
}, 300_000);
