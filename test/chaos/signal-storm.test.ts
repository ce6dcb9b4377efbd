/**
 * Chaos 5: 50 HUPs in a burst, then 20 TTIN/TTOU alternating, under a steady load: the master
 * ends with exactly the worker count it was told to have, no worker is left over (every pid it
 * ever booted is either serving or gone), and not one request fails.
 */
import path from 'node:path';
import { CI_TIMEOUT, FIXTURES, freePort, isAlive, tmpDir } from '../support/ldsup.js';
import { load } from '../support/load.js';
import { childrenOf, control, count, settled } from '../support/proc.js';
import { launch, type Ld, loadFigures, RATE, record, since, timeUntil, useChaos } from './chaos.js';

const APP = path.join(FIXTURES, 'apps', 'basic.mjs');
const N = 3;
let ld: Ld;

useChaos((v) => (ld = v));

const tick = () => new Promise((r) => setImmediate(r));

test('50 HUPs in a burst, then 20 TTIN/TTOU alternating: exactly the configured count, no orphan, zero failed requests', async () => {
  const port = await freePort();
  const pidfile = path.join(tmpDir(), 'ldsup.pid');
  const l = launch(ld, [APP, '-w', String(N), '-b', `127.0.0.1:${port}`, '-p', pidfile]);
  await l.ready();
  const first = await settled(pidfile, N);
  const run = load({ port, rate: RATE, durationMs: 180_000, maxRequests: RATE * 180, sockets: 8, timeoutMs: 30_000 });
  await timeUntil('the load to be answered', () => run.answered >= 50, CI_TIMEOUT);

  // 50 HUPs, back to back (the kernel may merge some; a burst is one reload by design).
  const t0 = Date.now();
  for (let i = 0; i < 50; i++) l.signal('SIGHUP');
  await timeUntil('a reload to start', () => /Handling signal: hup/.test(l.output), CI_TIMEOUT);
  const afterHup = await settled(pidfile, N, first, 90_000);
  const hupSettledMs = since(t0);
  const hupsHandled = count(l.output, /Handling signal: hup/g);

  // 20 TTIN/TTOU alternating, each one event-loop turn after the other.
  const t1 = Date.now();
  for (let i = 0; i < 20; i++) {
    l.signal(i % 2 === 0 ? 'SIGTTIN' : 'SIGTTOU');
    await tick();
  }
  // The master's queue is in order: once a status reply comes back after the signals were
  // handled, the wanted count is final. Signals merged by the kernel are simply not counted.
  const handled = () => ({ ttin: count(l.output, /Handling signal: ttin/g), ttou: count(l.output, /Handling signal: ttou/g) });
  await timeUntil('the TTIN/TTOU burst to be handled', async () => {
    const h = handled();
    const st = await control(pidfile, { cmd: 'status' });
    return h.ttin + h.ttou > 0 && st.master.workersWanted === N + h.ttin - h.ttou;
  }, CI_TIMEOUT, 100);
  // Stable: the wanted count does not move any more (a late signal would change it).
  let wanted = -1;
  await timeUntil('a stable wanted count', async () => {
    const h = handled();
    const st = await control(pidfile, { cmd: 'status' });
    const same = st.master.workersWanted === wanted;
    wanted = st.master.workersWanted;
    return same && wanted === N + h.ttin - h.ttou;
  }, CI_TIMEOUT, 300);
  const final = await settled(pidfile, wanted, [], 90_000);
  const ttinTtouSettledMs = since(t1);
  // Let the load run a moment past the last change, then stop it.
  const target = run.answered + RATE;
  await timeUntil('load after the storm', () => run.answered >= target, CI_TIMEOUT);
  const r = await run.stop();

  // No orphan: the master's children are exactly the serving workers; every other pid it booted is gone.
  expect(childrenOf(l.pid).sort()).toEqual([...final].sort());
  const stray = l.bootedWorkers().filter((p) => !final.includes(p) && isAlive(p));
  const h = handled();
  record('5-hup-ttin-ttou-storm', {
    ...loadFigures(r),
    hupsSent: 50,
    hupsHandled,
    hupSettledMs,
    ttinSent: 10,
    ttouSent: 10,
    ttinHandled: h.ttin,
    ttouHandled: h.ttou,
    workersWanted: wanted,
    workersAtEnd: final.length,
    workersBooted: l.bootedWorkers().length,
    orphans: stray.length,
    ttinTtouSettledMs,
  });
  expect(afterHup).toHaveLength(N);
  expect(wanted).toBe(N + h.ttin - h.ttou);
  expect(final).toHaveLength(wanted);
  expect(stray).toEqual([]);
  expect(r.failures).toEqual([]);
  expect(r.sent).toBe(r.answered);
  expect(isAlive(l.pid)).toBe(true);
}, 240_000);
