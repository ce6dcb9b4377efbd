/**
 * Issue 3, operating it: daemon mode (`-D` returns 0 only once the workers are ready, or
 * non-zero with the boot error), `ldsup stop`, `ldsup status` (text and --json), `ldsup reload`
 * (returns once the new generation is ready), and the control socket's permissions.
 * A daemon leaves our process group, so every process of a test carries a tag in its
 * environment and is found (and, if need be, killed) by it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { CI_TIMEOUT, FIXTURES, cleanup, freePort, get, isAlive, runCli, start, tmpDir, waitGone } from '../support/ldsup.js';
import { childrenOf, control, killAll, readPid, settled, taggedProcesses, waitUntil } from '../support/proc.js';

jest.setTimeout(120_000);
afterEach(cleanup);

const APPS = path.join(FIXTURES, 'apps');
const BASIC = path.join(APPS, 'basic.mjs');
const TAG = 'LDSUP_TEST_TAG';

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

test('-D returns 0 once the workers are ready, writes the pidfile, logs to the file; ldsup stop stops it and nothing is left', async () => {
  const dir = tmpDir('ldsup-daemon-');
  const port = await freePort();
  const pidfile = path.join(dir, 'ldsup.pid');
  const errlog = path.join(dir, 'error.log');
  const tag = crypto.randomUUID();
  try {
    const r = await runCli(['-D', BASIC, '-w', '2', '-b', `127.0.0.1:${port}`, '-p', pidfile, '--error-logfile', errlog], { cwd: dir, env: { [TAG]: tag } });
    expect(r.code).toBe(0);
    const m = /started in the background, master pid (\d+)/.exec(r.stderr);
    expect(m).not.toBeNull();
    const master = Number(m![1]);
    // Ready means ready: the very first request after the command returned is answered.
    const first = await get(port, '/');
    expect(first.status).toBe(200);
    expect(fs.readFileSync(pidfile, 'utf8')).toBe(`${master}\n`);
    expect(isAlive(master)).toBe(true);
    const workers = childrenOf(master);
    expect(workers).toHaveLength(2);
    expect(workers).toContain(first.json<{ pid: number }>().pid);
    // Logs went to the file, not to the (closed) terminal.
    const log = fs.readFileSync(errlog, 'utf8');
    expect(log).toContain(`Listening at: http://127.0.0.1:${port} (${master})`);
    expect(log.match(/Booting worker with pid: \d+/g)).toHaveLength(2);
    expect(r.stdout).toBe('');

    const stop = await runCli(['stop', '-p', pidfile]);
    expect(stop.code).toBe(0);
    expect(isAlive(master)).toBe(false);
    for (const pid of workers) await waitGone(pid, CI_TIMEOUT);
    expect(fs.existsSync(pidfile)).toBe(false);
    await waitUntil('no tagged process left', () => taggedProcesses(TAG, tag).length === 0);
    expect(await portFree(port)).toBe(true);
  } finally {
    killAll(taggedProcesses(TAG, tag));
  }
});

test('-D with a relative --chdir: the detached master goes there once, as the foreground one would', async () => {
  const dir = tmpDir('ldsup-daemon-');
  const srv = path.join(dir, 'srv');
  fs.mkdirSync(srv);
  fs.copyFileSync(BASIC, path.join(srv, 'app.mjs'));
  const port = await freePort();
  const pidfile = path.join(dir, 'ldsup.pid');
  const tag = crypto.randomUUID();
  try {
    const r = await runCli(['-D', '--chdir', 'srv', 'app.mjs', '-b', `127.0.0.1:${port}`, '-p', pidfile], { cwd: dir, env: { [TAG]: tag } });
    expect([r.code, r.stderr]).toEqual([0, expect.stringMatching(/^ldsup: started in the background, master pid \d+\n$/)]);
    const master = Number(fs.readFileSync(pidfile, 'utf8'));
    expect(fs.readlinkSync(`/proc/${master}/cwd`)).toBe(srv);
    expect((await get(port, '/')).status).toBe(200);
    expect((await runCli(['stop', '-p', pidfile])).code).toBe(0);
    await waitUntil('no tagged process left', () => taggedProcesses(TAG, tag).length === 0);
  } finally {
    killAll(taggedProcesses(TAG, tag));
  }
});

test('-D then USR2: the new master does not daemonize again; TERM to the old one promotes it, and ldsup stop stops it', async () => {
  const dir = tmpDir('ldsup-daemon-');
  const port = await freePort();
  const pidfile = path.join(dir, 'ldsup.pid');
  const errlog = path.join(dir, 'error.log');
  const tag = crypto.randomUUID();
  try {
    const r = await runCli(['-D', BASIC, '-w', '1', '-b', `127.0.0.1:${port}`, '-p', pidfile, '--error-logfile', errlog], { cwd: dir, env: { [TAG]: tag } });
    expect(r.code).toBe(0);
    const old = Number(/master pid (\d+)/.exec(r.stderr)![1]);
    process.kill(old, 'SIGUSR2');
    const next = await waitUntil('the new master to write its .2 pidfile and serve', async () => {
      const pid = readPid(`${pidfile}.2`);
      return pid && childrenOf(pid).length === 1 ? pid : null;
    });
    // Its parent is the old master: started in place, not through another detached copy.
    expect(fs.readFileSync(`/proc/${next}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]).toBe(String(old));
    expect(fs.readFileSync(pidfile, 'utf8')).toBe(`${old}\n`);
    process.kill(old, 'SIGTERM');
    await waitGone(old, CI_TIMEOUT);
    await waitUntil('the pidfile to name the new master', () => fs.existsSync(pidfile) && fs.readFileSync(pidfile, 'utf8') === `${next}\n`);
    expect((await get(port, '/')).status).toBe(200);
    const stop = await runCli(['stop', '-p', pidfile]);
    expect(stop.code).toBe(0);
    expect(isAlive(next)).toBe(false);
    await waitUntil('no tagged process left', () => taggedProcesses(TAG, tag).length === 0);
    expect(fs.readFileSync(errlog, 'utf8')).not.toMatch(/EINVAL|Unhandled/);
  } finally {
    killAll(taggedProcesses(TAG, tag));
  }
});

test.each([
  ['throws-on-import.mjs', 'boom at import'],
  ['exits-on-import.mjs', '5 workers in a row ended before they were ready (the last exited with code 1)'],
])('-D with an app that fails to boot (%s) returns non-zero with the reason, and leaves nothing running', async (appFile, reason) => {
  const dir = tmpDir('ldsup-daemon-');
  const port = await freePort();
  const pidfile = path.join(dir, 'ldsup.pid');
  const tag = crypto.randomUUID();
  try {
    const r = await runCli(['-D', path.join(APPS, appFile), '-w', '2', '-b', `127.0.0.1:${port}`, '-p', pidfile], { cwd: dir, env: { [TAG]: tag } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/ldsup: error: .*Worker failed to boot/);
    expect(r.stderr).toContain(reason);
    await waitUntil('no tagged process left', () => taggedProcesses(TAG, tag).length === 0);
    expect(fs.existsSync(pidfile)).toBe(false);
    expect(await portFree(port)).toBe(true);
  } finally {
    killAll(taggedProcesses(TAG, tag));
  }
});

test('-D with an error log that cannot be opened returns non-zero with the reason, and leaves nothing running', async () => {
  const dir = tmpDir('ldsup-daemon-');
  const port = await freePort();
  const pidfile = path.join(dir, 'ldsup.pid');
  const tag = crypto.randomUUID();
  try {
    const r = await runCli(['-D', BASIC, '-b', `127.0.0.1:${port}`, '-p', pidfile, '--error-logfile', path.join(dir, 'logs', 'error.log')], { cwd: dir, env: { [TAG]: tag } });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^ldsup: error: cannot open error log file \S+ \(--error-logfile \/ errorLog\): ENOENT: no such file or directory/),
    ]);
    expect(r.stderr).toContain(path.join(dir, 'logs', 'error.log'));
    await waitUntil('no tagged process left', () => taggedProcesses(TAG, tag).length === 0);
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(await portFree(port)).toBe(true);
  } finally {
    killAll(taggedProcesses(TAG, tag));
  }
});

test('ldsup status: text and --json (master pid, uptime, workers with pid/age/requests/RSS/state, launchdarkly); the control socket is 0600', async () => {
  const dir = tmpDir('ldsup-status-');
  const port = await freePort();
  const pidfile = path.join(dir, 'ldsup.pid');
  const l = start([BASIC, '-w', '2', '-b', `127.0.0.1:${port}`, '-p', pidfile], { cwd: dir });
  await l.ready();
  const workers = await settled(pidfile, 2);

  const sock = fs.statSync(`${pidfile}.sock`);
  expect(sock.isSocket()).toBe(true);
  expect(sock.mode & 0o777).toBe(0o600);

  for (let i = 0; i < 8; i++) expect((await get(port, '/')).status).toBe(200);
  // Request counts travel with the heartbeat: wait until all 8 are reported.
  await waitUntil('8 requests in status', async () => (await control(pidfile, { cmd: 'status' })).workers.reduce((n, w) => n + w.requests, 0) >= 8);

  const j = await runCli(['status', '--json', '-p', pidfile]);
  expect(j.code).toBe(0);
  const s = JSON.parse(j.stdout);
  expect(s.master).toMatchObject({ pid: l.pid, workersWanted: 2, listening: [`http://127.0.0.1:${port}`] });
  expect(typeof s.master.uptimeS).toBe('number');
  expect(s.master.uptimeS).toBeGreaterThanOrEqual(0);
  expect(s.workers).toHaveLength(2);
  expect(s.workers.map((w: { pid: number }) => w.pid).sort()).toEqual([...workers].sort());
  for (const w of s.workers) {
    expect(w).toEqual(expect.objectContaining({ pid: expect.any(Number), age: expect.any(Number), ageS: expect.any(Number), requests: expect.any(Number), state: 'ready' }));
    expect(w.rssBytes).toBeGreaterThan(1024 * 1024);
  }
  expect(s.workers.reduce((n: number, w: { requests: number }) => n + w.requests, 0)).toBe(8);
  expect(s.launchdarkly).toEqual(expect.objectContaining({ mode: expect.any(String), initialized: expect.any(Boolean) }));

  const t = await runCli(['status', '-p', pidfile]);
  expect(t.code).toBe(0);
  expect(t.stdout).toMatch(new RegExp(`^master  pid ${l.pid}  up \\d+ s  rss [\\d.]+ MB  workers wanted 2`, 'm'));
  for (const pid of workers) expect(t.stdout).toMatch(new RegExp(`^worker  pid ${pid}  age \\d+  ready +up \\d+ s  requests \\d+  rss [\\d.]+ MB`, 'm'));
  expect(t.stdout).toMatch(/^flags   mode \w+/m);

  // No master behind a pidfile: a clear error, non-zero.
  const none = await runCli(['status', '-p', path.join(dir, 'nothing.pid')]);
  expect(none.code).not.toBe(0);
  expect(none.stderr).toMatch(/ldsup: error: no ldsup master listening on/);
});

test('ldsup reload returns once the new generation is ready: every pid is new when it returns', async () => {
  const dir = tmpDir('ldsup-status-');
  const port = await freePort();
  const pidfile = path.join(dir, 'ldsup.pid');
  const l = start([BASIC, '-w', '3', '-b', `127.0.0.1:${port}`, '-p', pidfile], { cwd: dir });
  await l.ready();
  const before = await settled(pidfile, 3);
  // A --timeout that is no number of seconds is refused before anything is sent: no reload.
  const bad = await runCli(['reload', '-p', pidfile, '--timeout', 'abc']);
  expect([bad.code, bad.stderr]).toEqual([2, 'ldsup: error: invalid value for --timeout: expected a number of seconds > 0, found "abc"\n']);
  const untouched = await control(pidfile, { cmd: 'status' });
  expect([untouched.master.generation, untouched.workers.map((w) => w.pid)]).toEqual([0, before]);
  for (let round = 0; round < 2; round++) {
    const prev = (await control(pidfile, { cmd: 'status' })).workers.map((w) => w.pid);
    // The second round waits up to ~35 days: more than a timer holds (it fired at once).
    const r = await runCli(['reload', '-p', pidfile, ...(round ? ['--timeout', '3000000'] : [])]);
    expect([r.code, r.stderr]).toEqual([0, expect.stringMatching(/^ldsup: reloaded: generation \d+, 3 workers ready\n$/)]);
    // Checked at once, without waiting: the reply came after the new generation was up.
    const st = await control(pidfile, { cmd: 'status' });
    const now = st.workers.filter((w) => w.state === 'ready');
    expect(now).toHaveLength(3);
    for (const w of now) {
      expect(prev).not.toContain(w.pid);
      expect(before).not.toContain(w.pid);
    }
    for (let i = 0; i < 3; i++) expect(now.map((w) => w.pid)).toContain((await get(port, '/')).json<{ pid: number }>().pid);
  }
});

test('TERM while a client holds the control socket open without a request: the master still exits 0, socket removed', async () => {
  const dir = tmpDir('ldsup-status-');
  const port = await freePort();
  const pidfile = path.join(dir, 'ldsup.pid');
  const l = start([BASIC, '-w', '1', '-b', `127.0.0.1:${port}`, '-p', pidfile], { cwd: dir });
  await l.ready();
  // A client that connected and never sent its line (a stopped `ldsup status`, a probe).
  const idle = net.connect(`${pidfile}.sock`);
  idle.on('error', () => {});
  await new Promise((resolve) => idle.once('connect', resolve));
  try {
    l.signal('SIGTERM');
    await l.waitFor(/Shutting down: Master/);
    expect(await l.waitExit(CI_TIMEOUT)).toEqual({ code: 0, signal: null });
    expect(fs.existsSync(`${pidfile}.sock`)).toBe(false);
    expect(fs.existsSync(pidfile)).toBe(false);
  } finally {
    idle.destroy();
  }
});
