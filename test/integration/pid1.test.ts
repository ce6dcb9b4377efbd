/**
 * ldsup as PID 1 (a container's init), in a fresh PID namespace (`unshare --pid --fork
 * --mount-proc`, needs root as CI has): TERM as `docker stop` sends it is a graceful stop with
 * exit 0, and zombies of orphaned grandchildren of the app are reaped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CLI, FIXTURES, NEUTRAL_CWD, cleanup, freePort, get, slowStartConfig, start, tmpDir, type Ldsup } from '../support/ldsup.js';
import { waitFor } from '../support/wait.js';

const APP = path.join(FIXTURES, 'apps', 'orphans.mjs');
afterEach(cleanup); // the group: unshare and, with it, the whole namespace

function stat(pid: number): { ppid: number; state: string } | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: f[0]!, ppid: Number(f[1]) };
  } catch {
    return null;
  }
}
const childrenOf = (pid: number) =>
  fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((p) => stat(p)?.ppid === pid);

/** ldsup with `args` as PID 1 of a new PID namespace (`pid`: unshare's, outside it). */
const asPid1 = (args: string[], cwd: string): Ldsup => start(args, { cwd, command: ['unshare', '--pid', '--fork', '--mount-proc', process.execPath, CLI], pidNamespace: true });

test('as PID 1: orphaned zombies are reaped; TERM (docker stop) stops gracefully with exit 0', async () => {
  const port = await freePort();
  const run = asPid1([APP, '-w', '2', '-b', `127.0.0.1:${port}`], NEUTRAL_CWD);
  await run.waitFor(/Ready: 2 workers serving \(master 1\)/);
  expect(run.output).toContain('running as PID 1: reaping orphaned processes');
  // The master's pid outside the namespace: unshare's only child.
  const master = childrenOf(run.pid)[0]!;
  for (let i = 0; i < 5; i++) expect((await get(port, '/orphan')).status).toBe(200);
  // The orphans were re-parented to the master; once they end, none may stay a zombie.
  await waitFor(() => childrenOf(master).filter((p) => stat(p)?.state !== 'Z' && !isWorker(p)).length === 0, 20_000, 'the orphaned sleeps to end');
  await waitFor(() => childrenOf(master).every((p) => stat(p)?.state !== 'Z'), 20_000, 'zombies to be reaped');
  expect(childrenOf(master).filter(isWorker)).toHaveLength(2);
  process.kill(master, 'SIGTERM');
  expect((await run.waitExit()).code).toBe(0);
  expect(run.output).toContain('Shutting down: Master');
}, 90_000);

test('as PID 1, TERM while the master starts (before it binds) ends it at once: the kernel gives PID 1 no default action', async () => {
  const dir = tmpDir('ldsup-pid1-');
  const s = slowStartConfig(dir, APP, await freePort());
  const run = asPid1(['-c', s.cfg], dir);
  try {
    await waitFor(() => fs.existsSync(s.held), 30_000, `onStarting running as PID 1:\n${run.output}`);
    process.kill(childrenOf(run.pid)[0]!, 'SIGTERM');
    // Not the gate: the master must end while still held in onStarting.
    expect((await run.waitExit(20_000)).code).toBe(128 + 15);
    expect(run.output).not.toMatch(/Booting worker/);
  } finally {
    fs.rmSync(s.gate, { force: true });
  }
}, 90_000);

test("as PID 1: a hook's own child processes in the master are left to Node, so their callbacks come", async () => {
  // whenReady spawns 200 short children one after another, with the event loop busy around them
  // (so a child's exit and a worker's heartbeat are often read in the same turn), and counts the
  // callbacks. A child the reaper waited for would never call back.
  const dir = tmpDir('ldsup-pid1-');
  const counts = path.join(dir, 'counts');
  const cfg = path.join(dir, 'supervisor.config.mjs');
  fs.writeFileSync(
    cfg,
    `import { execFile } from 'node:child_process';
import fs from 'node:fs';
export default {
  app: ${JSON.stringify(APP)}, workers: 2, bind: '127.0.0.1:${await freePort()}',
  whenReady() {
    let spawned = 0, called = 0;
    const next = () => {
      if (spawned === 200) return;
      spawned++;
      execFile('true', () => { called++; fs.writeFileSync(${JSON.stringify(counts)}, spawned + ' ' + called); });
      const until = Date.now() + 15;
      while (Date.now() < until); // busy: the exit is read later, with whatever else came
      setTimeout(next, 5);
    };
    next();
  },
};
`,
  );
  const run = asPid1(['-c', cfg], dir);
  await run.waitFor(/Ready: 2 workers serving \(master 1\)/);
  expect(run.output).toContain('running as PID 1: reaping orphaned processes');
  const read = () => (fs.existsSync(counts) ? fs.readFileSync(counts, 'utf8') : '');
  await waitFor(() => read() === '200 200', 60_000, 'every callback').catch(() => expect(`spawned, called: ${read()}`).toBe('spawned, called: 200 200'));
}, 120_000);

function isWorker(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('worker-process');
  } catch {
    return false;
  }
}
