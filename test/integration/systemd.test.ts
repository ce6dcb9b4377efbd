/**
 * systemd: socket activation with Debian's systemd-socket-activate (LISTEN_FDS/LISTEN_PID),
 * `-b fd://N`, and sd_notify READY/RELOADING/STOPPING over a unix datagram socket this test
 * listens on (a tiny python3 listener: Node has no unix datagram sockets).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CI_TIMEOUT, CLI, FIXTURES, cleanup, freePort, get, start, tmpDir, waitGone } from '../support/ldsup.js';
import { childrenOf, killAll, readPid, waitOutput, waitUntil } from '../support/proc.js';
import { waitFor } from '../support/wait.js';

const APP = path.join(FIXTURES, 'apps', 'basic.mjs');
const spawned: ChildProcess[] = [];
afterEach(() => {
  cleanup();
  for (const p of spawned.splice(0)) {
    try {
      process.kill(-p.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const p = spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', LAUNCHDARKLY_SDK_KEY: '', ...env } });
  spawned.push(p);
  const out = { text: '' };
  p.stdout!.on('data', (b) => (out.text += b));
  p.stderr!.on('data', (b) => (out.text += b));
  return { p, out };
}

test('socket activation: serves on the socket systemd-socket-activate passes in, and binds nothing itself', async () => {
  const port = await freePort();
  const never = path.join(tmpDir(), 'never.sock');
  const { p, out } = run('systemd-socket-activate', ['-l', `127.0.0.1:${port}`, process.execPath, CLI, APP, '-w', '2', '-b', `unix:${never}`]);
  await waitFor(() => out.text.includes('Listening on'), 10_000, 'systemd-socket-activate to listen');
  // The first connection makes systemd-socket-activate exec ldsup with the socket as fd 3.
  const r = await get(port, '/');
  expect(r.status).toBe(200);
  await waitFor(() => out.text.includes('Ready: 2 workers serving'), 30_000, 'ldsup ready');
  expect(out.text).toContain('Using 1 socket(s) from systemd (socket activation)');
  expect(fs.existsSync(never)).toBe(false); // the -b given was not bound
  const pids = new Set<number>();
  await waitFor(async () => (pids.add((await get(port, '/')).json<{ pid: number }>().pid), pids.size === 2), 30_000);
  process.kill(p.pid!, 'SIGTERM'); // ldsup replaced systemd-socket-activate (exec): same pid
  await new Promise((r) => p.once('exit', r));
  expect(p.exitCode).toBe(0);
});

test('-b fd://N serves on an inherited socket', async () => {
  const port = await freePort();
  // systemd-socket-activate hands over fd 3; naming it explicitly works the same way.
  const { out } = run('systemd-socket-activate', ['-l', `127.0.0.1:${port}`, '-E', 'LISTEN_PID=0', '-E', 'TMPDIR', process.execPath, CLI, APP, '-w', '1', '-b', 'fd://3']);
  await waitFor(() => out.text.includes('Listening on'), 10_000);
  expect((await get(port, '/')).status).toBe(200);
  await waitFor(() => out.text.includes('Ready: 1 worker serving'), 30_000);
  expect(out.text).toContain('Listening at: http://127.0.0.1:');
});

test('sd_notify: READY=1 once workers are ready, RELOADING=1/READY=1 around a HUP, STOPPING=1 on TERM', async () => {
  const sock = path.join(tmpDir(), 'notify.sock');
  const listener = run('python3', [path.join(FIXTURES, 'bin', 'notify-listener.py'), sock, '60']);
  await waitFor(() => listener.out.text.includes('BOUND'), 10_000, 'the notify listener');
  const port = await freePort();
  const l = start([APP, '-w', '2', '-b', `127.0.0.1:${port}`], { env: { NOTIFY_SOCKET: sock } });
  await l.ready();
  // Each datagram is printed as `GOT A=1 | B=2 …`; keep the state changes, in order.
  const states = () =>
    listener.out.text
      .split('\n')
      .filter((line) => line.startsWith('GOT '))
      .flatMap((line) => line.slice(4).split(' | '))
      .filter((a) => /^(READY|RELOADING|STOPPING)=1$/.test(a))
      .map((a) => a.split('=')[0]);
  await waitFor(() => states().includes('READY'), 10_000, 'READY=1');
  expect(listener.out.text).toContain(`MAINPID=${l.pid}`);
  l.signal('SIGHUP');
  await waitFor(() => states().length >= 3, 30_000, 'RELOADING=1 then READY=1 after the reload');
  l.signal('SIGTERM');
  await l.waitExit();
  await waitFor(() => states().includes('STOPPING'), 10_000, 'STOPPING=1');
  expect(states()).toEqual(['READY', 'RELOADING', 'READY', 'STOPPING']);
  // Workers never see NOTIFY_SOCKET (only the master talks to systemd).
  expect(l.output).not.toContain('cannot notify systemd');
});

test('sd_notify across USR2: the new master becomes MAINPID, and the old one hands MAINPID over as it stops instead of sending STOPPING=1', async () => {
  const dir = tmpDir();
  const sock = path.join(dir, 'notify.sock');
  const listener = run('python3', [path.join(FIXTURES, 'bin', 'notify-listener.py'), sock, '120']);
  await waitFor(() => listener.out.text.includes('BOUND'), 10_000, 'the notify listener');
  const port = await freePort();
  const pidfile = path.join(dir, 'ldsup.pid');
  const l = start([APP, '-w', '1', '-b', `127.0.0.1:${port}`, '-p', pidfile], { cwd: dir, env: { NOTIFY_SOCKET: sock } });
  // Each datagram, as its assignments.
  const datagrams = () =>
    listener.out.text
      .split('\n')
      .filter((line) => line.startsWith('GOT '))
      .map((line) => line.slice(4).split(' | '));
  const mainPid = () => datagrams().flat().filter((a) => a.startsWith('MAINPID=')).pop();
  let newPid = 0;
  try {
    await l.ready();
    await waitFor(() => datagrams().some((d) => d.includes('READY=1') && d.includes(`MAINPID=${l.pid}`)), 10_000, 'READY=1 from the first master');
    const usr2 = async () => {
      const start = datagrams().length;
      l.signal('SIGUSR2');
      const pid = await waitUntil(`<pidfile>.2; output:\n${l.output}`, () => readPid(`${pidfile}.2`));
      await waitFor(() => datagrams().slice(start).some((d) => d.includes('READY=1') && d.includes(`MAINPID=${pid}`)), CI_TIMEOUT, 'READY=1 from the new master');
      return pid;
    };
    // Rollback: the new master stopped, the old one is the service again.
    newPid = await usr2();
    let before = datagrams().length;
    process.kill(newPid, 'SIGTERM');
    await waitOutput(l, new RegExp(`New master \\(pid ${newPid}\\) exited with code 0`));
    await waitFor(() => datagrams().length > before, 10_000, 'what the new master told systemd as it stopped');
    expect(datagrams().slice(before).flat()).not.toContain('STOPPING=1');
    expect(mainPid()).toBe(`MAINPID=${l.pid}`);
    // Upgrade: the old master stopped, the new one is the service.
    newPid = await usr2();
    before = datagrams().length;
    l.signal('SIGTERM');
    expect(await l.waitExit()).toEqual({ code: 0, signal: null });
    await waitOutput(l, /Master has been promoted\./);
    await waitFor(() => datagrams().length > before, 10_000, 'what the old master told systemd as it stopped');
    // systemd must go on with the new master: STOPPING=1 (or the old pid as MAINPID, which then
    // exits) makes it stop the service and kill the new master with the rest of the cgroup.
    expect(datagrams().slice(before).flat()).not.toContain('STOPPING=1');
    expect(mainPid()).toBe(`MAINPID=${newPid}`);
    // The promoted master's own stop is the service's.
    process.kill(newPid, 'SIGTERM');
    await waitGone(newPid, CI_TIMEOUT);
    await waitFor(() => datagrams().slice(before).flat().includes('STOPPING=1'), 10_000, 'STOPPING=1 from the promoted master');
  } finally {
    if (newPid) killAll([...childrenOf(newPid), newPid]);
  }
});
