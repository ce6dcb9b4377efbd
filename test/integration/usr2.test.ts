/**
 * Issue 3, USR2 (spec §5): a new master on the inherited sockets writes `<pidfile>.2`, both
 * generations serve, the guards refuse a second upgrade, TERM to the old master promotes the
 * new one (pidfile renamed) with no failed request across the whole sequence; rollback (TERM
 * the new master) leaves the old one serving, and a second USR2 works.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CI_TIMEOUT, FIXTURES, cleanup, freePort, get, isAlive, start, tmpDir, waitGone } from '../support/ldsup.js';
import { describeLoad, load, stopAllLoads } from '../support/load.js';
import { childrenOf, control, count, killAll, parentOf, readPid, settled, waitOutput, waitUntil } from '../support/proc.js';

jest.setTimeout(150_000);
afterEach(stopAllLoads);
afterEach(cleanup);

const BASIC = path.join(FIXTURES, 'apps', 'basic.mjs');

/** Both masters serve: fresh connections reach workers of each. */
async function servedBy(port: number, masters: number[]): Promise<void> {
  const seen = new Set<number>();
  await waitUntil(`answers from workers of masters ${masters.join(', ')}`, async () => {
    const r = await get(port, '/');
    expect(r.status).toBe(200);
    const ppid = parentOf(r.json<{ pid: number }>().pid);
    if (ppid) seen.add(ppid);
    return masters.every((m) => seen.has(m));
  });
}

/** A master on a free loopback port with `workers` workers and a pidfile, in a fresh directory. */
async function boot(workers: number) {
  const dir = tmpDir('ldsup-usr2-');
  const port = await freePort();
  const pidfile = path.join(dir, 'ldsup.pid');
  const l = start([BASIC, '-w', String(workers), '-b', `127.0.0.1:${port}`, '-p', pidfile], { cwd: dir });
  return { port, pidfile, l };
}

test('USR2 under load: .2 pidfile, both serve, guards, TERM old → promoted, pidfile renamed, zero failed requests', async () => {
  const { port, pidfile, l } = await boot(2);
  let newPid = 0;
  try {
    await l.ready();
    const oldWorkers = await settled(pidfile, 2);
    const run = load({ port, rate: 200, durationMs: 120_000, sockets: 16 });

    l.signal('SIGUSR2');
    newPid = await waitUntil(`<pidfile>.2; output:\n${l.output}`, () => readPid(`${pidfile}.2`));
    expect(newPid).not.toBe(l.pid);
    expect(readPid(pidfile)).toBe(l.pid);
    await waitOutput(l, new RegExp(`Ready: 2 workers serving \\(master ${newPid}\\)`));
    await servedBy(port, [l.pid, newPid]);

    // Guards: one upgrade at a time, and the child cannot upgrade while its parent lives.
    l.signal('SIGUSR2');
    await waitOutput(l, /\[WARNING\] USR2 signal ignored\. Child exists\./);
    process.kill(newPid, 'SIGUSR2');
    await waitOutput(l, /\[WARNING\] USR2 signal ignored\. Parent exists\./);
    expect(count(l.output, /Started new master/g)).toBe(1);

    // Retire the old master: the new one takes over the pidfile.
    l.signal('SIGTERM');
    expect(await l.waitExit()).toEqual({ code: 0, signal: null });
    await waitOutput(l, /Master has been promoted\./);
    await waitUntil('pidfile renamed to the new master', () => readPid(pidfile) === newPid && !fs.existsSync(`${pidfile}.2`));
    for (const pid of oldWorkers) await waitGone(pid, CI_TIMEOUT);
    await servedBy(port, [newPid]);
    // Its control socket now sits beside the main pidfile.
    const st = await control(pidfile, { cmd: 'status' });
    expect(st.master.pid).toBe(newPid);
    expect(st.master.parentPid).toBeNull();

    const r = await run.stop();
    expect({ failures: r.failures.length, summary: describeLoad(r) }).toEqual({ failures: 0, summary: expect.any(String) });
    expect(r.answered).toBe(r.sent);
    // Workers of both generations answered during the run.
    const pids = [...r.byPid.keys()];
    expect(pids.some((p) => oldWorkers.includes(p))).toBe(true);
    expect(pids.some((p) => !oldWorkers.includes(p))).toBe(true);
  } finally {
    if (newPid) killAll([...childrenOf(newPid), newPid]);
  }
});

test('USR2, then <pidfile>.2 removed (a tmp cleaner, an operator): TERM to the old master still promotes the new one, which writes the pidfile and serves on', async () => {
  const { port, pidfile, l } = await boot(1);
  let newPid = 0;
  try {
    await l.ready();
    l.signal('SIGUSR2');
    newPid = await waitUntil(`<pidfile>.2; output:\n${l.output}`, () => readPid(`${pidfile}.2`));
    await waitOutput(l, new RegExp(`Ready: 1 worker serving \\(master ${newPid}\\)`));
    fs.rmSync(`${pidfile}.2`);
    l.signal('SIGTERM');
    expect(await l.waitExit()).toEqual({ code: 0, signal: null });
    await waitOutput(l, /Master has been promoted\./);
    await waitUntil(`the pidfile to name the new master; output:\n${l.output}`, () => readPid(pidfile) === newPid);
    expect((await control(pidfile, { cmd: 'status' })).master.pid).toBe(newPid);
    expect((await get(port, '/')).status).toBe(200);
    expect(isAlive(newPid)).toBe(true);
    expect(l.output).not.toContain('Unhandled exception');
  } finally {
    if (newPid) killAll([...childrenOf(newPid), newPid]);
  }
});

test('USR2 when the new master cannot be started (its directory is gone): an error, and this master serves on', async () => {
  const dir = tmpDir('ldsup-usr2-');
  const gone = path.join(dir, 'gone');
  fs.mkdirSync(gone);
  const port = await freePort();
  const l = start([BASIC, '-w', '1', '-b', `127.0.0.1:${port}`], { cwd: gone });
  await l.ready();
  fs.rmSync(gone, { recursive: true });
  l.signal('SIGUSR2');
  await waitOutput(l, /\[ERROR\] USR2: could not start a new master: .*ENOENT.*; this master carries on\./);
  expect((await get(port, '/')).status).toBe(200);
  expect(isAlive(l.pid)).toBe(true);
  l.signal('SIGTERM');
  expect((await l.waitExit()).code).toBe(0);
});

test('rollback: TERM the new master, the old one carries on with the same workers, and a second USR2 works', async () => {
  const { port, pidfile, l } = await boot(2);
  const spawned: number[] = [];
  try {
    await l.ready();
    const oldWorkers = await settled(pidfile, 2);

    l.signal('SIGUSR2');
    const m2 = await waitUntil(`<pidfile>.2; output:\n${l.output}`, () => readPid(`${pidfile}.2`));
    spawned.push(m2);
    await waitOutput(l, new RegExp(`Ready: 2 workers serving \\(master ${m2}\\)`));
    const m2Workers = childrenOf(m2);
    process.kill(m2, 'SIGTERM');
    await waitGone(m2, CI_TIMEOUT);
    await waitOutput(l, new RegExp(`New master \\(pid ${m2}\\) exited with code 0`));
    for (const pid of m2Workers) await waitGone(pid, CI_TIMEOUT);
    expect(fs.existsSync(`${pidfile}.2`)).toBe(false);
    expect(readPid(pidfile)).toBe(l.pid);
    expect(isAlive(l.pid)).toBe(true);
    expect(await settled(pidfile, 2)).toEqual(oldWorkers);
    for (let i = 0; i < 4; i++) expect(oldWorkers).toContain((await get(port, '/')).json<{ pid: number }>().pid);

    // A second USR2 is accepted.
    l.signal('SIGUSR2');
    const m3 = await waitUntil('a second <pidfile>.2', () => {
      const p = readPid(`${pidfile}.2`);
      return p && p !== m2 ? p : null;
    });
    spawned.push(m3);
    await waitOutput(l, new RegExp(`Ready: 2 workers serving \\(master ${m3}\\)`));
    await servedBy(port, [l.pid, m3]);
    expect(count(l.output, /USR2 signal ignored/g)).toBe(0);
  } finally {
    for (const m of spawned) killAll([...childrenOf(m), m]);
  }
});

test('HUP that moves the old master off a unix socket while its USR2 child serves there: the socket path stays, the new master answers on it', async () => {
  const dir = tmpDir('ldsup-usr2-');
  const port = await freePort();
  const sock = path.join(dir, 'app.sock');
  const pidfile = path.join(dir, 'ldsup.pid');
  const cfg = path.join(dir, 'supervisor.config.mjs');
  const config = (bind: string) => `export default { app: ${JSON.stringify(BASIC)}, bind: ${JSON.stringify(bind)}, workers: 1, pidfile: ${JSON.stringify(pidfile)} };\n`;
  fs.writeFileSync(cfg, config(`unix:${sock}`));
  const l = start(['-c', cfg], { cwd: dir });
  let newPid = 0;
  try {
    await l.ready();
    const [oldWorker] = l.bootedWorkers();
    l.signal('SIGUSR2');
    newPid = await waitUntil(`<pidfile>.2; output:\n${l.output}`, () => readPid(`${pidfile}.2`));
    await waitOutput(l, new RegExp(`Ready: 1 worker serving \\(master ${newPid}\\)`));
    fs.writeFileSync(cfg, config(`127.0.0.1:${port}`));
    l.signal('SIGHUP');
    await waitOutput(l, new RegExp(`Listening at: http://127.0.0.1:${port} \\(${l.pid}\\)`));
    expect(fs.existsSync(sock) && fs.statSync(sock).isSocket()).toBe(true);
    expect((await get(0, '/', { socketPath: sock })).status).toBe(200);
    await settled(pidfile, 1, [oldWorker!]);
    expect((await get(port, '/')).status).toBe(200);
  } finally {
    if (newPid) killAll([...childrenOf(newPid), newPid]);
  }
});

test('USR2 on a unix socket, then TERM to the old master: the socket path stays, and the promoted master answers on it', async () => {
  const dir = tmpDir('ldsup-usr2-');
  const sock = path.join(dir, 'app.sock');
  const pidfile = path.join(dir, 'ldsup.pid');
  const l = start([BASIC, '-w', '1', '-b', `unix:${sock}`, '-p', pidfile], { cwd: dir });
  let newPid = 0;
  try {
    await l.ready();
    l.signal('SIGUSR2');
    newPid = await waitUntil(`<pidfile>.2; output:\n${l.output}`, () => readPid(`${pidfile}.2`));
    await waitOutput(l, new RegExp(`Ready: 1 worker serving \\(master ${newPid}\\)`));
    l.signal('SIGTERM');
    expect(await l.waitExit()).toEqual({ code: 0, signal: null });
    await waitUntil(`the pidfile to name the new master; output:\n${l.output}`, () => readPid(pidfile) === newPid);
    expect(fs.existsSync(sock) && fs.statSync(sock).isSocket()).toBe(true);
    expect((await get(0, '/', { socketPath: sock })).status).toBe(200);
  } finally {
    if (newPid) killAll([...childrenOf(newPid), newPid]);
  }
});

test('USR2 with health and metrics endpoints: the new master serves them on the inherited sockets; the old one, stopping, leaves them to it', async () => {
  const dir = tmpDir('ldsup-usr2-');
  const port = await freePort();
  const mport = await freePort();
  const health = path.join(dir, 'health.sock');
  const pidfile = path.join(dir, 'ldsup.pid');
  const l = start([BASIC, '-w', '1', '-b', `127.0.0.1:${port}`, '--health-bind', `unix:${health}`, '--metrics-bind', `127.0.0.1:${mport}`, '-p', pidfile], { cwd: dir });
  const readyz = () => get(0, '/readyz', { socketPath: health });
  let newPid = 0;
  try {
    await l.ready();
    expect((await readyz()).status).toBe(200);
    // Keeps the old master draining for a while after its TERM (only its worker exists now).
    const slow = get(port, '/slow?ms=6000');
    await waitUntil('the slow request in flight', async () => /ldsup_worker_inflight_requests\{[^}]*\} 1/.test((await get(mport, '/metrics')).body));
    l.signal('SIGUSR2');
    newPid = await waitUntil(`<pidfile>.2; output:\n${l.output}`, () => readPid(`${pidfile}.2`));
    await waitOutput(l, new RegExp(`Ready: 1 worker serving \\(master ${newPid}\\)`));
    expect(l.output).not.toContain('cannot bind');
    expect((await readyz()).status).toBe(200);
    expect((await get(mport, '/metrics')).status).toBe(200);

    // While the old master drains, the probes reach the master that stays: ready, never 'stopping'.
    l.signal('SIGTERM');
    await waitOutput(l, new RegExp(`\\[${l.pid}\\] \\[INFO\\] Handling signal: term`));
    const during: string[] = [];
    while (isAlive(l.pid)) during.push((await readyz()).body);
    expect(during.length).toBeGreaterThan(0);
    expect(during.filter((b) => b !== JSON.stringify({ status: 'ready' }))).toEqual([]);
    expect((await slow).status).toBe(200);
    expect(await l.waitExit()).toEqual({ code: 0, signal: null });

    await waitOutput(l, /Master has been promoted\./);
    expect(fs.existsSync(health) && fs.statSync(health).isSocket()).toBe(true);
    expect((await readyz()).json()).toEqual({ status: 'ready' });
    const metrics = (await get(mport, '/metrics')).body;
    expect(metrics).toMatch(/^ldsup_workers_ready 1$/m);
    expect(metrics).not.toMatch(new RegExp(`pid="${l.bootedWorkers()[0]}"`));
  } finally {
    if (newPid) killAll([...childrenOf(newPid), newPid]);
  }
});
