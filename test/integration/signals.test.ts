/**
 * Issue 3, the remaining master signals and crash handling (spec §1, §6):
 * - USR1 reopens the error and access logs in master and workers (logrotate);
 * - WINCH (no terminal here) stops every worker but keeps the master and its socket: a request
 *   waits in the backlog and is answered after TTIN;
 * - a boot failure after a healthy start backs off (logged), the master stays up and serves
 *   with what it has, and does not spin.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CI_TIMEOUT, FIXTURES, cleanup, freePort, get, isAlive, slowStartConfig, start, tmpDir, waitGone } from '../support/ldsup.js';
import { childrenOf, control, count, cpuTicks, settled, waitUntil } from '../support/proc.js';

jest.setTimeout(120_000);
afterEach(cleanup);

const BASIC = path.join(FIXTURES, 'apps', 'basic.mjs');

test('USR1: after logrotate renames the logs, master and worker lines land in the new files', async () => {
  const dir = tmpDir('ldsup-usr1-');
  const port = await freePort();
  const err = path.join(dir, 'error.log');
  const acc = path.join(dir, 'access.log');
  const l = start([BASIC, '-w', '2', '-b', `127.0.0.1:${port}`, '--error-logfile', err, '--access-logfile', acc, '--access-logformat', '%(p)s "%(r)s" %(s)s'], { cwd: dir });
  await waitUntil('ready in the error log', () => fs.existsSync(err) && /Ready: 2 workers serving/.test(fs.readFileSync(err, 'utf8')));
  const workers = childrenOf(l.pid);
  expect(workers).toHaveLength(2);
  expect((await get(port, '/')).status).toBe(200);
  await waitUntil('a line in the access log', () => fs.readFileSync(acc, 'utf8').includes('"GET / HTTP/1.1" 200'));

  // logrotate: rename, then USR1.
  fs.renameSync(err, `${err}.1`);
  fs.renameSync(acc, `${acc}.1`);
  l.signal('SIGUSR1');
  await waitUntil('the master reopened its error log', () => fs.existsSync(err));
  expect(fs.readFileSync(`${err}.1`, 'utf8')).toContain('Handling signal: usr1');
  // Both workers write to the new access log (so both have reopened their logs).
  await waitUntil('both workers in the new access log', async () => {
    await get(port, '/');
    const text = fs.existsSync(acc) ? fs.readFileSync(acc, 'utf8') : '';
    return workers.every((pid) => text.includes(`<${pid}>`));
  });
  const oldAccess = fs.readFileSync(`${acc}.1`, 'utf8');
  expect((await get(port, '/')).status).toBe(200);
  await waitUntil('one more access line', () => fs.readFileSync(acc, 'utf8').split('\n').length > 2);
  expect(fs.readFileSync(`${acc}.1`, 'utf8')).toBe(oldAccess);

  // A master line and a worker line after the reopen go to the new error log only.
  const oldErr = fs.readFileSync(`${err}.1`, 'utf8');
  l.signal('SIGTTIN');
  process.kill(workers[0]!, 'SIGTERM');
  await waitUntil('master and worker lines in the new error log', () => {
    const text = fs.readFileSync(err, 'utf8');
    return text.includes(`[${l.pid}] [INFO] Handling signal: ttin`) && text.includes(`[${workers[0]}] [INFO] Worker exiting (pid: ${workers[0]})`);
  });
  expect(fs.readFileSync(`${err}.1`, 'utf8')).toBe(oldErr);
});

const root = process.getuid?.() === 0;
(root ? test : test.skip)('USR1 with --user (as root): workers that dropped privileges reopen the rotated logs too', async () => {
  const dir = tmpDir('ldsup-usr1-');
  fs.chmodSync(dir, 0o755); // a log directory like /var/log/app: root's, which the workers' user may only traverse
  const port = await freePort();
  const err = path.join(dir, 'error.log');
  const acc = path.join(dir, 'access.log');
  const l = start([BASIC, '-w', '1', '-b', `127.0.0.1:${port}`, '--user', 'nobody', '--group', 'nogroup', '--error-logfile', err, '--access-logfile', acc, '--access-logformat', '%(p)s "%(r)s" %(s)s'], { cwd: dir });
  await waitUntil('ready in the error log', () => fs.existsSync(err) && /Ready: 1 worker serving/.test(fs.readFileSync(err, 'utf8')));
  const [worker] = childrenOf(l.pid);
  expect((await get(port, '/')).status).toBe(200);
  await waitUntil('a line in the access log', () => fs.readFileSync(acc, 'utf8').includes('"GET / HTTP/1.1" 200'));

  fs.renameSync(err, `${err}.1`);
  fs.renameSync(acc, `${acc}.1`);
  l.signal('SIGUSR1');
  await waitUntil('the master reopened its error log', () => fs.existsSync(err) && fs.readFileSync(`${err}.1`, 'utf8').includes('Handling signal: usr1'));
  await waitUntil(`the worker's lines in the new access log; output:\n${l.output}`, async () => {
    await get(port, '/after');
    return fs.existsSync(acc) && fs.readFileSync(acc, 'utf8').includes(`<${worker}> "GET /after HTTP/1.1" 200`);
  });
  expect(fs.readFileSync(`${acc}.1`, 'utf8')).not.toContain('/after');
  process.kill(worker!, 'SIGTERM');
  await waitUntil(`the worker's exit line in the new error log; output:\n${l.output}`, () => fs.readFileSync(err, 'utf8').includes(`[${worker}] [INFO] Worker exiting`));
  expect(fs.readFileSync(`${err}.1`, 'utf8')).not.toContain(`[${worker}] [INFO] Worker exiting`);
  expect(l.output).not.toContain('cannot reopen');
});

test('WINCH: workers stop, the master and its socket stay; a request waits in the backlog and is answered after TTIN', async () => {
  const dir = tmpDir('ldsup-winch-');
  const port = await freePort();
  const pidfile = path.join(dir, 'ldsup.pid');
  const l = start([BASIC, '-w', '2', '-b', `127.0.0.1:${port}`, '-p', pidfile], { cwd: dir });
  await l.ready();
  const workers = await settled(pidfile, 2);
  l.signal('SIGWINCH');
  await l.waitFor(/graceful stop of workers/);
  for (const pid of workers) await waitGone(pid, CI_TIMEOUT);
  await waitUntil('no worker left', () => childrenOf(l.pid).length === 0);
  expect(isAlive(l.pid)).toBe(true);

  let answered = false;
  const waiting = get(port, '/', { timeoutMs: 60_000 }).then((r) => ((answered = true), r));
  // Give the connection a chance to be refused if the socket were gone: it is accepted by the
  // kernel (backlog) and stays pending while no worker exists.
  await waitUntil('no worker, master up', () => childrenOf(l.pid).length === 0 && isAlive(l.pid));
  expect(answered).toBe(false);
  l.signal('SIGTTIN');
  const r = await waiting;
  expect(r.status).toBe(200);
  expect(workers).not.toContain(r.json<{ pid: number }>().pid);
  expect(await settled(pidfile, 1)).toEqual([r.json<{ pid: number }>().pid]);
});

test('boot failure after a healthy start: backoff is logged, the master stays up, serves with what it has, and does not spin', async () => {
  const dir = tmpDir('ldsup-backoff-');
  const port = await freePort();
  const pidfile = path.join(dir, 'ldsup.pid');
  const appFile = path.join(dir, 'app.mjs');
  fs.copyFileSync(BASIC, appFile);
  const l = start([appFile, '-w', '2', '-b', `127.0.0.1:${port}`, '-p', pidfile], { cwd: dir });
  await l.ready();
  const [victim, survivor] = await settled(pidfile, 2);

  fs.writeFileSync(appFile, "throw new Error('broken on disk');\n");
  process.kill(victim!, 'SIGKILL');
  await l.waitFor(/Exception in worker process: [^\n]*broken on disk/);
  await l.waitFor(/\[WARNING\] Workers are crashing at start-up \(2 in a row\); next start in 0\.5 s/);
  const t0 = Date.now();
  const ticks0 = cpuTicks(l.pid);
  // Let the backoff grow: the 5th crash in a row waits 4 s.
  await l.waitFor(/Workers are crashing at start-up \(5 in a row\); next start in 4\.0 s/, 60_000);
  const wallS = (Date.now() - t0) / 1000;
  const cpuS = (cpuTicks(l.pid) - ticks0) / 100;
  // A resource bound, not a speed claim: the master idles between attempts.
  expect(cpuS).toBeLessThan(0.5 * wallS);
  expect(l.output).not.toContain('Shutting down');
  expect(isAlive(l.pid)).toBe(true);
  // Fewer boot attempts than a respawn storm would make: one per backoff step.
  expect(count(l.output, /Exception in worker process/g)).toBeLessThanOrEqual(6);
  // The healthy worker serves on.
  for (let i = 0; i < 3; i++) expect((await get(port, '/')).json<{ pid: number }>().pid).toBe(survivor);

  // Fixed on disk: the next attempt boots and the count is back to 2.
  fs.copyFileSync(BASIC, appFile);
  const after = await settled(pidfile, 2, [victim!], 60_000);
  expect(after).toContain(survivor);
});

test('after a crash loop is over, a later single crash is the first in a row again: respawned at once, no backoff', async () => {
  const dir = tmpDir('ldsup-backoff-');
  const port = await freePort();
  const pidfile = path.join(dir, 'ldsup.pid');
  const appFile = path.join(dir, 'app.mjs');
  const crashOnce = path.join(dir, 'crash-once');
  // Healthy, except for the one worker that finds the crash-once file while it boots.
  const healthy = `import fs from 'node:fs';\nif (fs.existsSync(${JSON.stringify(crashOnce)})) {\n  fs.rmSync(${JSON.stringify(crashOnce)});\n  throw new Error('crash once');\n}\n${fs.readFileSync(BASIC, 'utf8')}`;
  fs.writeFileSync(appFile, healthy);
  const l = start([appFile, '-w', '2', '-b', `127.0.0.1:${port}`, '-p', pidfile], { cwd: dir });
  await l.ready();
  const [victim] = await settled(pidfile, 2);

  // A crash loop: three quick deaths in a row.
  fs.writeFileSync(appFile, "throw new Error('broken on disk');\n");
  process.kill(victim!, 'SIGKILL');
  await l.waitFor(/Workers are crashing at start-up \(3 in a row\)/);
  // Fixed: the next worker boots, and stays up well past the 5 s a crash counts within.
  fs.writeFileSync(appFile, healthy);
  await settled(pidfile, 2, [victim!], 60_000);
  await waitUntil('every worker up for 7 s', async () => (await control(pidfile, { cmd: 'status' })).workers.every((w) => w.ageS >= 7), 60_000);
  const warned = count(l.output, /Workers are crashing at start-up/g);

  // One new worker crashes once (TTIN): the first crash in a row, replaced at once.
  fs.writeFileSync(crashOnce, '');
  l.signal('SIGTTIN');
  await l.waitFor(/Exception in worker process: [^\n]*crash once/);
  await settled(pidfile, 3);
  expect(l.output.slice(l.output.indexOf('crash once'))).not.toMatch(/Workers are crashing at start-up/);
  expect(count(l.output, /Workers are crashing at start-up/g)).toBe(warned);
});

/**
 * Signals at the edges of the master's life. `hold-master.cjs` stops the master at one point,
 * blocked (no JavaScript runs), until the test removes its gate file: what a slow require or a
 * busy moment does, made certain.
 */
const HOLD = path.join(FIXTURES, 'hold-master.cjs');

function holdAt(dir: string, at: string): { gate: string; held: string; env: NodeJS.ProcessEnv } {
  const gate = path.join(dir, 'gate');
  fs.writeFileSync(gate, '');
  const env = { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${JSON.stringify(HOLD)}`, LDSUP_TEST_HOLD_GATE: gate, LDSUP_TEST_HOLD_AT: at };
  return { gate, held: `${gate}.held`, env };
}

test('ldsup stop as soon as the pidfile is there, the master still starting (metrics on): a graceful stop, exit 0, pidfile and control socket removed', async () => {
  const dir = tmpDir('ldsup-early-');
  const port = await freePort();
  const metrics = await freePort();
  const pidfile = path.join(dir, 'ldsup.pid');
  // Held where it loads prom-client: after the pidfile is written, before the loop runs.
  const h = holdAt(dir, 'require:prom-client');
  const l = start([BASIC, '-w', '1', '-b', `127.0.0.1:${port}`, '--metrics-bind', `127.0.0.1:${metrics}`, '-p', pidfile], { cwd: dir, env: h.env });
  try {
    await waitUntil(`the master held with its pidfile written; output:\n${l.output}`, () => fs.existsSync(h.held) && fs.existsSync(pidfile));
    const stop = start(['stop', '-p', pidfile]);
    await stop.waitFor(/Sent TERM to ldsup master/);
    fs.rmSync(h.gate);
    expect(await l.waitExit()).toEqual({ code: 0, signal: null });
    expect((await stop.waitExit()).code).toBe(0);
    expect(l.output).toContain('Shutting down: Master');
    for (const pid of l.bootedWorkers()) expect(isAlive(pid)).toBe(false);
    expect(fs.existsSync(pidfile)).toBe(false);
    expect(fs.existsSync(`${pidfile}.sock`)).toBe(false);
  } finally {
    fs.rmSync(h.gate, { force: true });
  }
});

test('USR1 and TTIN while the master starts (onStarting still running): queued, not fatal nor stopping it; handled once it runs', async () => {
  const dir = tmpDir('ldsup-early-');
  const port = await freePort();
  const pidfile = path.join(dir, 'ldsup.pid');
  const s = slowStartConfig(dir, BASIC, port, pidfile);
  const l = start(['-c', s.cfg], { cwd: dir });
  await waitUntil(`onStarting running; output:\n${l.output}`, () => fs.existsSync(s.held));
  l.signal('SIGUSR1');
  l.signal('SIGTTIN');
  fs.rmSync(s.gate);
  await l.waitFor(/Ready: 2 workers serving/);
  expect(l.output).toContain('Handling signal: usr1');
  expect(l.output).toContain('Handling signal: ttin');
  expect((await get(port, '/')).status).toBe(200);
  l.signal('SIGTERM');
  expect(await l.waitExit()).toEqual({ code: 0, signal: null });
});

test('TERM while the master starts, before it has bound anything: it ends at once and leaves no file behind (no pidfile, no socket, no run directory)', async () => {
  const dir = tmpDir('ldsup-early-');
  const tmp = tmpDir('ldsup-early-tmp-');
  const port = await freePort();
  const pidfile = path.join(dir, 'ldsup.pid');
  const s = slowStartConfig(dir, BASIC, port, pidfile);
  const l = start(['-c', s.cfg], { cwd: dir, env: { TMPDIR: tmp } });
  try {
    await waitUntil(`onStarting running; output:\n${l.output}`, () => fs.existsSync(s.held));
    l.signal('SIGTERM');
    expect(await l.waitExit()).toEqual({ code: null, signal: 'SIGTERM' });
    expect(fs.existsSync(pidfile)).toBe(false);
    expect(fs.existsSync(`${pidfile}.sock`)).toBe(false);
    expect(fs.readdirSync(tmp).filter((f) => f.startsWith(`ldsup-${l.pid}-`))).toEqual([]);
  } finally {
    fs.rmSync(s.gate, { force: true });
  }
});

test('a second TERM while the stopped master exits (held at its exit): still exit 0, not killed by the signal', async () => {
  const dir = tmpDir('ldsup-late-');
  const port = await freePort();
  const pidfile = path.join(dir, 'ldsup.pid');
  const h = holdAt(dir, 'exit');
  const l = start([BASIC, '-w', '1', '-b', `127.0.0.1:${port}`, '-p', pidfile], { cwd: dir, env: h.env });
  try {
    await l.ready();
    l.signal('SIGTERM');
    await waitUntil(`the master held at its exit; output:\n${l.output}`, () => fs.existsSync(h.held));
    expect(l.output).toContain('Shutting down: Master');
    l.signal('SIGTERM');
    fs.rmSync(h.gate);
    expect(await l.waitExit()).toEqual({ code: 0, signal: null });
  } finally {
    fs.rmSync(h.gate, { force: true });
  }
});
