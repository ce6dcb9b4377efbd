/**
 * Issue 3, TTIN/TTOU and `ldsup scale` (spec §1): one worker more or less, TTOU removes the
 * oldest and never goes below 1; a burst of 50 HUPs under load ends with exactly N healthy
 * workers, no orphan, and no failed request.
 */
import path from 'node:path';
import { CI_TIMEOUT, FIXTURES, cleanup, freePort, isAlive, runCli, start, tmpDir, waitGone } from '../support/ldsup.js';
import { describeLoad, load, stopAllLoads } from '../support/load.js';
import { childrenOf, control, count, settled, waitUntil } from '../support/proc.js';

jest.setTimeout(150_000);
afterEach(stopAllLoads);
afterEach(cleanup);

const BASIC = path.join(FIXTURES, 'apps', 'basic.mjs');

async function boot(workers: number) {
  const dir = tmpDir('ldsup-scale-');
  const port = await freePort();
  const pidfile = path.join(dir, 'ldsup.pid');
  const l = start([BASIC, '-w', String(workers), '-b', `127.0.0.1:${port}`, '-p', pidfile], { cwd: dir });
  await l.ready();
  return { l, port, pidfile };
}

const workersOf = async (pidfile: string) => (await control(pidfile, { cmd: 'status' })).workers;

test('TTIN adds one, TTOU removes the oldest, and TTOU never goes below 1', async () => {
  const { l, pidfile } = await boot(2);
  const start2 = await settled(pidfile, 2);

  l.signal('SIGTTIN');
  const three = await settled(pidfile, 3);
  expect(three).toEqual(expect.arrayContaining(start2));
  l.signal('SIGTTIN');
  await settled(pidfile, 4);

  // TTOU: the worker with the lowest age goes, the others stay.
  for (const expected of [3, 2, 1]) {
    const before = await workersOf(pidfile);
    const oldest = before.reduce((a, b) => (a.age < b.age ? a : b));
    l.signal('SIGTTOU');
    const after = await settled(pidfile, expected);
    expect(after).not.toContain(oldest.pid);
    expect(after.sort()).toEqual(before.filter((w) => w.pid !== oldest.pid).map((w) => w.pid).sort());
    await waitGone(oldest.pid, CI_TIMEOUT);
  }

  // At 1, TTOU is handled and changes nothing.
  const [last] = await settled(pidfile, 1);
  const handled = count(l.output, /Handling signal: ttou/g);
  l.signal('SIGTTOU');
  await l.waitFor(new RegExp(`(Handling signal: ttou[\\s\\S]*){${handled + 1}}`));
  // A status request is queued after the signal, so its answer reflects it.
  const st = await control(pidfile, { cmd: 'status' });
  expect(st.master.workersWanted).toBe(1);
  expect(st.workers.map((w) => w.pid)).toEqual([last]);
  expect(isAlive(last!)).toBe(true);
});

test('ldsup scale N, +N and -N set the worker count; out-of-range values are refused', async () => {
  const { pidfile } = await boot(1);
  const scale = (v: string) => runCli(['scale', '-p', pidfile, '--', v]);

  let r = await scale('3');
  expect(r.code).toBe(0);
  expect(r.stderr).toContain('workers wanted: 3');
  await settled(pidfile, 3);

  r = await scale('+2');
  expect(r.code).toBe(0);
  await settled(pidfile, 5);

  const before = await workersOf(pidfile);
  r = await scale('-3');
  expect(r.code).toBe(0);
  const after = await settled(pidfile, 2);
  // The three oldest went.
  const keep = [...before].sort((a, b) => b.age - a.age).slice(0, 2).map((w) => w.pid);
  expect(after.sort()).toEqual(keep.sort());

  for (const bad of ['0', '-2', 'lots']) {
    const b = await scale(bad);
    expect(b.code).not.toBe(0);
    expect(b.stderr).toMatch(/ldsup: error: /);
  }
  expect((await settled(pidfile, 2)).sort()).toEqual(keep.sort());
});

test('50 HUPs in a burst under load: exactly N healthy workers after, no orphans, no failed request', async () => {
  const { l, port, pidfile } = await boot(3);
  const run = load({ port, rate: 200, durationMs: 120_000, sockets: 16 });
  for (let i = 0; i < 50; i++) l.signal('SIGHUP');
  // A reload through the control socket is queued behind the burst and answers once its
  // generation is fully up: after that, nothing of the burst is pending.
  const rr = await runCli(['reload', '-p', pidfile], { timeoutMs: 120_000 });
  expect(rr.code).toBe(0);
  const final = await settled(pidfile, 3);
  const r = await run.stop();
  expect({ failures: r.failures.length, summary: describeLoad(r) }).toEqual({ failures: 0, summary: expect.any(String) });
  expect(r.answered).toBe(r.sent);

  // Every worker the master ever booted is either one of the final 3 or gone.
  const booted = l.bootedWorkers();
  expect(booted.length).toBeGreaterThan(3);
  for (const pid of booted) if (!final.includes(pid)) await waitGone(pid, CI_TIMEOUT);
  // The master's children, from /proc, are exactly the final workers.
  await waitUntil('master children == final workers', () => JSON.stringify(childrenOf(l.pid)) === JSON.stringify([...final].sort((a, b) => a - b)));
  expect(isAlive(l.pid)).toBe(true);
  const st = await control(pidfile, { cmd: 'status' });
  expect(st.master.workersWanted).toBe(3);
  expect(new Set(st.workers.map((w) => w.generation)).size).toBe(1);
});
