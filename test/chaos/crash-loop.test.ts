/**
 * Chaos 7: a crash loop. The app starts healthy (a boot failure at first start stops the master
 * with status 3, by design: see bad-config tests); then every new worker crashes 100 ms after
 * it starts. The master backs off (0.5 s doubling to 30 s), says so in the log, stays up, and
 * does not eat the CPU: its utime+stime from /proc/<pid>/stat over the window, as a fraction of
 * the wall time, stays small (a resource bound, not a speed claim). Once the app is fixed the
 * workers come back by themselves.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CI_TIMEOUT, FIXTURES, freePort, isAlive, tmpDir } from '../support/ldsup.js';
import { load } from '../support/load.js';
import { count, cpuTicks, settled } from '../support/proc.js';
import { dur, launch, type Ld, loadFigures, RATE, readyWorkers, record, since, timeUntil, useChaos } from './chaos.js';

const APP = path.join(FIXTURES, 'apps', 'crash-after-start.mjs');
const HZ = 100; // USER_HZ on Linux
let ld: Ld;

useChaos((v) => (ld = v));

test('crash loop (each worker dies 100 ms after start): backoff logged, master CPU small, recovers once fixed', async () => {
  const windowMs = dur(8_000, 30_000);
  const dir = tmpDir();
  const flag = path.join(dir, 'crash');
  const port = await freePort();
  const pidfile = path.join(dir, 'ldsup.pid');
  const l = launch(ld, [APP, '-w', '2', '-b', `127.0.0.1:${port}`, '-p', pidfile], { env: { CHAOS_CRASH_FILE: flag } });
  await l.ready();
  const healthy = await settled(pidfile, 2);
  const run = load({ port, rate: RATE, durationMs: 180_000, maxRequests: RATE * 180, sockets: 8, timeoutMs: 5_000 });
  await timeUntil('the load to be answered', () => run.answered >= 50, CI_TIMEOUT);

  // From now on every new worker crashes; kill the healthy ones (SIGKILL is not counted as a crash).
  fs.writeFileSync(flag, '');
  const bootedBefore = l.bootedWorkers().length;
  const t0 = Date.now();
  const cpu0 = cpuTicks(l.pid);
  for (const pid of healthy) process.kill(pid, 'SIGKILL');
  await timeUntil(`a ${windowMs} ms window`, () => since(t0) >= windowMs, windowMs + CI_TIMEOUT, 100);
  const wallS = since(t0) / 1000;
  const cpuS = (cpuTicks(l.pid) - cpu0) / HZ;
  const spawns = l.bootedWorkers().length - bootedBefore;
  const backoff = [...l.output.matchAll(/Workers are crashing at start-up \((\d+) in a row\); next start in ([\d.]+) s/g)].map((m) => Number(m[2]));
  const crashLogged = count(l.output, /chaos: crashing 100 ms after start/g);

  // Fixed: the next start after the backoff succeeds, without any signal.
  fs.rmSync(flag);
  const t1 = Date.now();
  await timeUntil('2 ready workers after the fix', async () => (await readyWorkers(pidfile)).length === 2, 60_000, 100);
  const recoveredMs = since(t1);
  const r = await run.stop();
  record('7-crash-loop', {
    ...loadFigures(r),
    windowS: +wallS.toFixed(1),
    masterCpuS: cpuS,
    masterCpuFraction: +(cpuS / wallS).toFixed(4),
    spawnsInWindow: spawns,
    backoffDelaysS: backoff,
    crashesLogged: crashLogged,
    recoveredAfterFixMs: recoveredMs,
  });
  // The log says what is happening: the crash, and the growing backoff.
  expect(crashLogged).toBeGreaterThanOrEqual(2);
  expect(backoff.length).toBeGreaterThanOrEqual(2);
  for (let i = 1; i < backoff.length; i++) expect(backoff[i]!).toBeGreaterThanOrEqual(backoff[i - 1]!);
  expect(Math.max(...backoff)).toBeGreaterThan(backoff[0]!);
  // Bounded respawns: without backoff a 2-worker loop restarts every few hundred ms per worker.
  expect(spawns).toBeLessThanOrEqual(dur(16, 24));
  // The master is not eating the CPU (generous for a loaded CI box: under a quarter of one core).
  expect(cpuS / wallS).toBeLessThan(0.25);
  expect(isAlive(l.pid)).toBe(true);
  // Master holds the socket all along: nothing is refused even with no worker alive.
  expect(r.byKind.refused).toBe(0);
}, 180_000);
