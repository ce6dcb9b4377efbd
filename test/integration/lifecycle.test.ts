/**
 * The core lifecycle through the real CLI: start, serve from N workers, TERM/INT, pidfile,
 * `ldsup stop`, master SIGKILL, preload failures, app module kinds.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CI_TIMEOUT, FIXTURES, ROOT, cleanup, freePort, get, isAlive, runCli, start, tmpDir, waitGone, writeConfig } from '../support/ldsup.js';
import { acceptQueue, waitUntil } from '../support/proc.js';

afterEach(cleanup);

const app = (name: string) => path.join(FIXTURES, 'apps', name);

/** GETs `/` on fresh connections until `n` distinct worker pids have answered. */
async function distinctPids(port: number, n: number): Promise<Set<number>> {
  const pids = new Set<number>();
  const deadline = Date.now() + CI_TIMEOUT;
  while (pids.size < n && Date.now() < deadline) pids.add((await get(port, '/')).json<{ pid: number }>().pid);
  return pids;
}

test('serves the example app from supervisor.config.ts with --preload: / and /flag from every worker', async () => {
  const port = await freePort();
  const pidfile = path.join(tmpDir(), 'ldsup.pid');
  const l = start(['--config', 'supervisor.config.ts', '--preload', '-b', `127.0.0.1:${port}`, '-p', pidfile], { cwd: ROOT });
  await l.ready();
  expect(l.output).toMatch(/Starting ldsup \d+\.\d+\.\d+/);
  expect(l.output).toContain(`Listening at: http://127.0.0.1:${port} (${l.pid})`);
  expect(l.bootedWorkers()).toHaveLength(2);
  expect(l.output.match(/postFork: worker \d+ \(age \d\) flags initialised: true/g)).toHaveLength(2);
  expect((await get(port, '/')).json()).toEqual({ status: 'ok' });
  // Every answer, whichever worker gives it, has the flag from examples/flags.json.
  for (let i = 0; i < 6; i++) {
    const r = await get(port, '/flag');
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ flag: 'sample-flag', value: false, initialized: true });
  }
  const nf = await get(port, '/nope');
  expect(nf.status).toBe(404);
  expect(nf.headers['content-type']).toBe('application/json');
  l.signal('SIGTERM');
  expect(await l.waitExit()).toEqual({ code: 0, signal: null });
  expect(l.output).toContain('Handling signal: term');
  expect(l.output).toContain('Shutting down: Master');
});

test.each([
  ['ESM JavaScript', 'basic.mjs'],
  ['CommonJS', 'basic.cjs'],
])('a %s app is served by 3 distinct workers', async (_kind, file) => {
  const port = await freePort();
  const l = start([app(file), '-w', '3', '-b', `127.0.0.1:${port}`]);
  await l.ready();
  const pids = await distinctPids(port, 3);
  expect([...pids].sort()).toEqual([...l.bootedWorkers()].sort());
  for (const pid of pids) expect(pid).not.toBe(l.pid);
});

test('a TypeScript factory app gets ctx (age, preload data, initialised flags)', async () => {
  const dir = tmpDir();
  const port = await freePort();
  const cfg = writeConfig(
    dir,
    'supervisor.config.ts',
    `import { defineConfig } from 'ldsup';
     export default defineConfig({
       app: ${JSON.stringify(app('factory.ts'))},
       workers: 2,
       bind: '127.0.0.1:${port}',
       launchdarkly: { flagsFile: ${JSON.stringify(path.join(dir, 'flags.json'))} },
       preload: () => ({ loadedAt: 'master', n: 42 }),
     });`,
  );
  fs.writeFileSync(path.join(dir, 'flags.json'), JSON.stringify({ flagValues: { 'sample-flag': 'from-file' } }));
  const l = start(['-c', cfg]);
  await l.ready();
  const r = (await get(port, '/')).json<{ age: number; preload: unknown; flag: unknown; initialized: boolean }>();
  expect(r.preload).toEqual({ loadedAt: 'master', n: 42 });
  expect(r.flag).toBe('from-file');
  expect(r.initialized).toBe(true);
  expect([1, 2]).toContain(r.age);
});

test('TERM while a slow request is in flight: the request gets its 200, then the master exits 0', async () => {
  const port = await freePort();
  const l = start([app('basic.mjs'), '-w', '2', '-b', `127.0.0.1:${port}`]);
  await l.ready();
  const slow = get(port, '/slow?ms=1500');
  // The request is in a worker once its connection is accepted; give it that, then TERM.
  await new Promise((r) => setTimeout(r, 300));
  l.signal('SIGTERM');
  const r = await slow;
  expect(r.status).toBe(200);
  expect(r.json()).toMatchObject({ path: '/slow' });
  expect(await l.waitExit()).toEqual({ code: 0, signal: null });
  expect(l.output.match(/Worker exiting \(pid: \d+\)/g)).toHaveLength(2);
  for (const pid of l.bootedWorkers()) expect(isAlive(pid)).toBe(false);
});

test('TERM: new connections are refused while a long request drains, as in gunicorn (closed listeners), not held in the backlog and reset at the exit', async () => {
  const dir = tmpDir();
  const port = await freePort();
  const mark = path.join(dir, 'slow-request-arrived');
  const l = start([app('slow-boot.mjs'), '-w', '2', '-b', `127.0.0.1:${port}`, '--graceful-timeout', '60'], { env: { SLOW_BOOT_MS: '0', SLOW_MARK: mark } });
  await l.ready();
  let slowDone = false;
  const slow = get(port, '/slow?ms=10000').finally(() => (slowDone = true));
  await waitUntil('the slow request to reach a worker', () => fs.existsSync(mark));
  l.signal('SIGTERM');
  // Master and workers close their copies of the socket: nothing listens on the port any more,
  // while the slow request is still being served.
  await waitUntil('no listener on the port', () => acceptQueue(port) === -1);
  expect(slowDone).toBe(false);
  // A connection now is refused at once, which a client or proxy can retry elsewhere safely; it
  // used to be accepted into a backlog nobody would take it from, sent its request, and was reset
  // when the master exited (nginx retries no POST after that).
  const late = await get(port, '/').then(
    (r) => `answered ${r.status}`,
    (err: NodeJS.ErrnoException) => err.code ?? err.message,
  );
  expect(late).toBe('ECONNREFUSED');
  expect(slowDone).toBe(false);
  expect((await slow).status).toBe(200);
  expect(await l.waitExit()).toEqual({ code: 0, signal: null });
});

test.each(['SIGINT', 'SIGQUIT'] as const)('%s is a quick stop: the in-flight request is cut, the master exits 0', async (sig) => {
  const port = await freePort();
  const l = start([app('basic.mjs'), '-w', '1', '-b', `127.0.0.1:${port}`]);
  await l.ready();
  const slow = get(port, '/slow?ms=5000').then(
    () => 'answered',
    (err: NodeJS.ErrnoException) => err.code ?? err.message,
  );
  await new Promise((r) => setTimeout(r, 300));
  const t0 = Date.now();
  l.signal(sig);
  expect(await slow).not.toBe('answered');
  expect(await l.waitExit()).toEqual({ code: 0, signal: null });
  expect(Date.now() - t0).toBeLessThan(4500); // it did not wait for the 5 s request
});

test('INT during a graceful stop: the draining worker stops at once itself (workerInt, workerExit), it is not left for SIGKILL', async () => {
  const dir = tmpDir();
  const port = await freePort();
  const hooks = path.join(dir, 'hooks.log');
  const log = `(name) => require('node:fs').appendFileSync(${JSON.stringify(hooks)}, name + '\\n')`;
  const cfg = writeConfig(dir, 'supervisor.config.cjs', `const log = ${log};\nmodule.exports = { app: ${JSON.stringify(app('basic.mjs'))}, workers: 1, bind: '127.0.0.1:${port}', workerInt: () => log('workerInt'), workerExit: () => log('workerExit') };\n`);
  const l = start(['-c', cfg]);
  await l.ready();
  const slow = get(port, '/slow?ms=60000').then(
    () => 'answered',
    () => 'cut',
  );
  await new Promise((r) => setTimeout(r, 300));
  l.signal('SIGTERM');
  await l.waitFor(/Handling signal: term/);
  l.signal('SIGINT');
  expect(await slow).toBe('cut');
  expect(await l.waitExit()).toEqual({ code: 0, signal: null });
  expect(l.output).toMatch(/Worker exiting \(pid: \d+\)/);
  expect(l.output).not.toMatch(/SIGKILL/);
  expect(fs.readFileSync(hooks, 'utf8')).toBe('workerInt\nworkerExit\n');
});

test('TERM with a request longer than graceful-timeout: the worker is killed at the deadline', async () => {
  const port = await freePort();
  const l = start([app('basic.mjs'), '-w', '1', '-b', `127.0.0.1:${port}`, '--graceful-timeout', '1']);
  await l.ready();
  const slow = get(port, '/slow?ms=20000').then(
    () => 'answered',
    () => 'cut',
  );
  await new Promise((r) => setTimeout(r, 300));
  l.signal('SIGTERM');
  expect(await slow).toBe('cut');
  expect(await l.waitExit()).toEqual({ code: 0, signal: null });
  expect(l.output).toMatch(/Worker \(pid:\d+\) was sent SIGKILL/);
});

test('pidfile: written once listening, refused while live, replaced when stale, removed at exit', async () => {
  const dir = tmpDir();
  const pidfile = path.join(dir, 'ldsup.pid');
  const port = await freePort();
  const l = start([app('basic.mjs'), '-b', `127.0.0.1:${port}`, '-p', pidfile]);
  await l.ready();
  expect(fs.readFileSync(pidfile, 'utf8')).toBe(`${l.pid}\n`);

  // A second master with the same pidfile is refused, and leaves the file alone.
  const port2 = await freePort();
  const second = await runCli([app('basic.mjs'), '-b', `127.0.0.1:${port2}`, '-p', pidfile]);
  expect(second.code).toBe(1);
  expect(second.output).toContain(`Already running on PID ${l.pid}`);
  expect(second.output).not.toContain('Booting worker');
  expect(fs.readFileSync(pidfile, 'utf8')).toBe(`${l.pid}\n`);

  l.signal('SIGTERM');
  await l.waitExit();
  expect(fs.existsSync(pidfile)).toBe(false);

  // A stale pidfile (a pid that is gone) is replaced.
  fs.writeFileSync(pidfile, `${second.code === 1 ? 2 ** 22 - 1 : 1}\n`);
  const third = start([app('basic.mjs'), '-b', `127.0.0.1:${port2}`, '-p', pidfile]);
  await third.ready();
  expect(fs.readFileSync(pidfile, 'utf8')).toBe(`${third.pid}\n`);
});

/**
 * Does `chattr +i` stop a rename over a file here? It does as root too (we run as root, where
 * permission bits stop nothing), on ext4 with CAP_LINUX_IMMUTABLE.
 */
function immutableStopsRename(): boolean {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ldsup-chattr-'));
  const f = path.join(d, 'probe');
  fs.writeFileSync(f, '');
  fs.writeFileSync(`${f}.new`, '');
  try {
    if (spawnSync('chattr', ['+i', f]).status !== 0) return false;
    try {
      fs.renameSync(`${f}.new`, f);
      return false;
    } catch {
      return true;
    }
  } finally {
    spawnSync('chattr', ['-i', f]);
    fs.rmSync(d, { recursive: true, force: true });
  }
}

(immutableStopsRename() ? test : test.skip)('a pidfile that cannot be replaced (immutable: the rename fails): exit 1 naming it, no <pidfile>.<pid>.tmp left', async () => {
  const dir = tmpDir();
  const port = await freePort();
  const pidfile = path.join(dir, 'ldsup.pid');
  fs.writeFileSync(pidfile, 'stale\n'); // no live pid: to be replaced
  spawnSync('chattr', ['+i', pidfile]);
  try {
    const r = await runCli([app('basic.mjs'), '-b', `127.0.0.1:${port}`, '-p', pidfile], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toBe(`ldsup: error: Can't write pidfile ${pidfile}: EPERM: operation not permitted`);
    expect(fs.readdirSync(dir)).toEqual(['ldsup.pid']);
    expect(fs.readFileSync(pidfile, 'utf8')).toBe('stale\n');
  } finally {
    spawnSync('chattr', ['-i', pidfile]);
  }
});

test('a relative --chdir is taken from where ldsup was started, once: the app is loaded and served from there, and check and print-config agree', async () => {
  const dir = tmpDir();
  const srv = path.join(dir, 'srv');
  fs.mkdirSync(srv);
  fs.copyFileSync(app('basic.mjs'), path.join(srv, 'app.mjs'));

  const printed = await runCli(['print-config', '--chdir', 'srv', 'app.mjs'], { cwd: dir });
  expect([printed.code, printed.stderr]).toEqual([0, '']);
  expect(printed.stdout.split('\n')).toEqual(expect.arrayContaining([`chdir = ${JSON.stringify(srv)}`, `app = ${JSON.stringify(path.join(srv, 'app.mjs'))}`]));

  const port = await freePort();
  const l = start(['--chdir', 'srv', '-b', `127.0.0.1:${port}`, 'app.mjs'], { cwd: dir });
  await l.ready();
  expect((await get(port, '/')).status).toBe(200);
  l.signal('SIGTERM');
  expect(await l.waitExit()).toEqual({ code: 0, signal: null });
});

test('ldsup stop (another process) stops the master gracefully and returns once it has exited', async () => {
  const dir = tmpDir();
  const pidfile = path.join(dir, 'ldsup.pid');
  const port = await freePort();
  const l = start([app('basic.mjs'), '-w', '2', '-b', `127.0.0.1:${port}`, '-p', pidfile]);
  await l.ready();
  const stop = await runCli(['stop', '-p', pidfile]);
  expect(stop.code).toBe(0);
  // stop returned only after the master exited: it is gone now, and its workers too.
  expect(isAlive(l.pid)).toBe(false);
  for (const pid of l.bootedWorkers()) expect(isAlive(pid)).toBe(false);
  expect((await l.waitExit()).code).toBe(0);

  const again = await runCli(['stop', '-p', pidfile]);
  expect(again.code).toBe(1);
  expect(again.output).toMatch(/no pidfile at .*ldsup is not running/);
});

test('ldsup stop refuses to signal a process that is not an ldsup master', async () => {
  const dir = tmpDir();
  const pidfile = path.join(dir, 'other.pid');
  const { spawn } = await import('node:child_process');
  const other = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    fs.writeFileSync(pidfile, `${other.pid}\n`);
    const r = await runCli(['stop', '-p', pidfile]);
    expect(r.code).toBe(1);
    expect(r.output).toContain(`pid ${other.pid} in ${pidfile} is not an ldsup master`);
    expect(isAlive(other.pid!)).toBe(true);
  } finally {
    other.kill('SIGKILL');
  }
});

test('SIGKILL of the master: every worker exits by itself within 2 s, and the port is free again', async () => {
  const port = await freePort();
  const l = start([app('basic.mjs'), '-w', '2', '-b', `127.0.0.1:${port}`]);
  await l.ready();
  const workers = l.bootedWorkers();
  expect(workers).toHaveLength(2);
  process.kill(l.pid, 'SIGKILL');
  await l.waitExit();
  await Promise.all(workers.map((pid) => waitGone(pid, 2000)));
  const again = start([app('basic.mjs'), '-w', '1', '-b', `127.0.0.1:${port}`]);
  await again.ready();
  expect((await get(port, '/')).status).toBe(200);
});

test('SIGKILL of the master during a graceful stop: a worker still draining a long request exits by itself too', async () => {
  const port = await freePort();
  const l = start([app('basic.mjs'), '-w', '1', '-b', `127.0.0.1:${port}`]);
  await l.ready();
  const [worker] = l.bootedWorkers();
  const slow = get(port, '/slow?ms=600000', { timeoutMs: 600_000 }).then(
    () => 'answered',
    () => 'cut',
  );
  await new Promise((r) => setTimeout(r, 300));
  // The worker's listen socket (inherited as fd 4): a draining worker closes its copy.
  const listener = fs.readlinkSync(`/proc/${worker}/fd/4`);
  expect(listener).toMatch(/^socket:/);
  const holdsListener = () => fs.readdirSync(`/proc/${worker}/fd`).some((fd) => fs.readlinkSync(`/proc/${worker}/fd/${fd}`) === listener);
  l.signal('SIGTERM'); // the worker starts draining: its request has ten minutes to go
  await waitUntil('the worker to close its listen socket (draining)', () => !holdsListener());
  process.kill(l.pid, 'SIGKILL');
  await l.waitExit();
  // No master is left to kill it at the graceful timeout: the worker must not wait for its client.
  await waitGone(worker!, CI_TIMEOUT);
  expect(await slow).toBe('cut');
});

test('a master killed with SIGKILL leaves its run directory behind; the next master removes it, and only it', async () => {
  const tmp = tmpDir();
  const env = { TMPDIR: tmp };
  const runDirs = () => fs.readdirSync(tmp).filter((n) => n.startsWith('ldsup-') && !n.startsWith('ldsup-compile-cache'));
  const killed = start([app('basic.mjs'), '-w', '1', '-b', '127.0.0.1:0'], { env });
  await killed.ready();
  const [left] = runDirs();
  expect(left).toMatch(new RegExp(`^ldsup-${killed.pid}-`));
  process.kill(killed.pid, 'SIGKILL');
  await killed.waitExit();
  // Not removed: a live pid (this test's own), a file, and a name that is not a run directory.
  for (const keep of [`ldsup-${process.pid}-abcdef`, 'ldsup-x-abcdef']) fs.mkdirSync(path.join(tmp, keep));
  fs.writeFileSync(path.join(tmp, 'ldsup-2147483647-abcdef'), '');
  expect(runDirs()).toHaveLength(4);
  const next = start([app('basic.mjs'), '-w', '1', '-b', '127.0.0.1:0', '--log-level', 'debug'], { env });
  await next.ready();
  await next.waitFor(/Removed 1 run directory of masters that are gone/);
  const after = runDirs();
  expect(after).not.toContain(left);
  expect(after).toEqual(expect.arrayContaining([`ldsup-${process.pid}-abcdef`, 'ldsup-2147483647-abcdef', 'ldsup-x-abcdef']));
  expect(after.filter((n) => n.startsWith(`ldsup-${next.pid}-`))).toHaveLength(1);
  expect(after).toHaveLength(4);
  next.signal('SIGTERM');
  await next.waitExit();
  expect(runDirs().some((n) => n.startsWith(`ldsup-${next.pid}-`))).toBe(false);
});

test('--preload with an app that throws at import: exit 1, no worker ever started, nothing left', async () => {
  const dir = tmpDir();
  const pidfile = path.join(dir, 'x.pid');
  const port = await freePort();
  const r = await runCli([app('throws-on-import.mjs'), '--preload', '-b', `127.0.0.1:${port}`, '-p', pidfile]);
  expect(r.code).toBe(1);
  expect(r.output).toMatch(/ldsup: error: cannot import app .*throws-on-import\.mjs: boom at import/);
  expect(r.output).not.toContain('Booting worker');
  expect(r.output).not.toContain('Listening at');
  expect(fs.existsSync(pidfile)).toBe(false);
});

test('without preload, an app that throws at import halts the master with exit 3 and the reason', async () => {
  const port = await freePort();
  const r = await runCli([app('throws-on-import.mjs'), '-w', '2', '-b', `127.0.0.1:${port}`]);
  expect(r.code).toBe(3);
  expect(r.output).toContain('Reason: Worker failed to boot.');
  expect(r.output.match(/Shutting down: Master/g)).toHaveLength(1);
});

test('without preload, an app that exits at import (process.exit(1), no exception): the master halts with exit 3 after 5 tries, saying why', async () => {
  const port = await freePort();
  const r = await runCli([app('exits-on-import.mjs'), '-w', '2', '-b', `127.0.0.1:${port}`]);
  expect(r.code).toBe(3);
  expect(r.output).toContain('Reason: Worker failed to boot. 5 workers in a row ended before they were ready (the last exited with code 1) and none has served yet.');
  expect(r.output.match(/Booting worker/g)).toHaveLength(5);
  expect(r.output.match(/DATABASE_URL is not set/g)).toHaveLength(5);
  expect(r.output.match(/Shutting down: Master/g)).toHaveLength(1);
});

test('an app that never finishes importing: the worker times out at `timeout` and the master halts with exit 3 and the reason', async () => {
  const r = await runCli([app('slow-boot.mjs'), '-w', '1', '-b', '127.0.0.1:0', '-t', '2'], { env: { SLOW_BOOT_MS: '600000' } });
  expect(r.code).toBe(3);
  expect(r.output).toMatch(/\[CRITICAL\] WORKER TIMEOUT \(pid:\d+\)/);
  expect(r.output).toContain('Reason: Worker failed to boot. it did not finish booting within timeout (2 s)');
});

test('a worker that dies is replaced', async () => {
  const port = await freePort();
  const l = start([app('basic.mjs'), '-w', '2', '-b', `127.0.0.1:${port}`]);
  await l.ready();
  const [victim] = l.bootedWorkers();
  process.kill(victim!, 'SIGKILL');
  await l.waitFor(new RegExp(`Worker \\(pid:${victim}\\) was sent SIGKILL`));
  await l.waitFor(/Booting worker with pid: \d+[\s\S]*Booting worker with pid: \d+[\s\S]*Booting worker with pid: (\d+)/);
  const pids = await distinctPids(port, 2);
  expect(pids.has(victim!)).toBe(false);
});

test('bind failure (address in use) is one clear error, exit 1, no workers', async () => {
  const port = await freePort();
  const holder = start([app('basic.mjs'), '-b', `127.0.0.1:${port}`]);
  await holder.ready();
  const r = await runCli([app('basic.mjs'), '-b', `127.0.0.1:${port}`]);
  expect(r.code).toBe(1);
  expect(r.output).toContain(`ldsup: error: cannot bind 127.0.0.1:${port}: address already in use (EADDRINUSE)`);
  expect(r.output).not.toContain('Booting worker');
});

test('port 0 picks a free port and the log says which', async () => {
  const l = start([app('basic.mjs'), '-b', '127.0.0.1:0']);
  const m = await l.waitFor(/Listening at: http:\/\/127\.0\.0\.1:(\d+)/);
  await l.ready();
  const port = Number(m[1]);
  expect(port).toBeGreaterThan(0);
  expect((await get(port, '/')).status).toBe(200);
});

test('several binds, including a unix socket', async () => {
  const dir = tmpDir();
  const sock = path.join(dir, 'ldsup.sock');
  const port = await freePort();
  const l = start([app('basic.mjs'), '-b', `127.0.0.1:${port}`, '-b', `unix:${sock}`]);
  await l.ready();
  expect(l.output).toContain(`Listening at: http://127.0.0.1:${port}, unix:${sock}`);
  expect((await get(port, '/')).status).toBe(200);
  expect((await get(0, '/', { socketPath: sock })).status).toBe(200);
  l.signal('SIGTERM');
  await l.waitExit();
  expect(fs.existsSync(sock)).toBe(false);
});

test("a relative unix: bind is created under the config's chdir, as gunicorn binds after chdir; check and print-config say so", async () => {
  const dir = tmpDir();
  const srv = path.join(dir, 'srv');
  fs.mkdirSync(path.join(srv, 'run'), { recursive: true }); // and no run/ beside the config
  const sock = path.join(srv, 'run', 'app.sock');
  writeConfig(dir, 'supervisor.config.mjs', `export default { app: ${JSON.stringify(app('basic.mjs'))}, chdir: './srv', bind: 'unix:run/app.sock' };\n`);

  const printed = await runCli(['print-config'], { cwd: dir });
  expect([printed.code, printed.stderr]).toEqual([0, '']);
  expect(printed.stdout.split('\n')).toContain(`bind = ${JSON.stringify([`unix:${sock}`])}`);
  const checked = await runCli(['check'], { cwd: dir });
  expect([checked.code, checked.stderr]).toEqual([0, '']);

  const l = start([], { cwd: dir });
  await l.ready();
  expect(l.output).toContain(`Listening at: unix:${sock} (${l.pid})`);
  expect((await get(0, '/', { socketPath: sock })).status).toBe(200);
  l.signal('SIGTERM');
  expect(await l.waitExit()).toEqual({ code: 0, signal: null });
});

test('with every worker dead, connections wait in the backlog and are then served (none refused)', async () => {
  const port = await freePort();
  const l = start([app('basic.mjs'), '-w', '2', '-b', `127.0.0.1:${port}`]);
  await l.ready();
  const workers = l.bootedWorkers();
  for (const pid of workers) process.kill(pid, 'SIGKILL');
  // Sent while no worker is alive: must not be refused.
  const during = await Promise.all([get(port, '/'), get(port, '/'), get(port, '/')]);
  for (const r of during) {
    expect(r.status).toBe(200);
    expect(workers).not.toContain(r.json<{ pid: number }>().pid);
  }
});
