/**
 * Chaos 3: a hung worker under a steady load, with `-t 2`. A SIGSTOPped worker (hung without
 * blocking in JS) and a worker spinning in a busy loop are both detected by the heartbeat
 * timeout, killed and replaced, with the reason in the log (and the JavaScript stack of the busy
 * loop); the other workers serve meanwhile, so the only failed requests are those that were on
 * the stuck worker's connections.
 */
import path from 'node:path';
import { CI_TIMEOUT, FIXTURES, freePort, get, tmpDir, waitGone } from '../support/ldsup.js';
import { load } from '../support/load.js';
import { launch, type Ld, loadFigures, RATE, readyWorkers, record, since, timeUntil, useChaos } from './chaos.js';

const APP = path.join(FIXTURES, 'apps', 'blocking.mjs');
const N = 3;
const SOCKETS = 8;
let ld: Ld;

useChaos((v) => (ld = v));

async function scenario(kind: 'sigstop' | 'busy-loop'): Promise<void> {
  const port = await freePort();
  const pidfile = path.join(tmpDir(), 'ldsup.pid');
  const l = launch(ld, [APP, '-w', String(N), '-t', '2', '-b', `127.0.0.1:${port}`, '-p', pidfile]);
  await l.ready();
  const before = await readyWorkers(pidfile);
  const run = load({ port, rate: RATE, durationMs: 120_000, maxRequests: RATE * 120, sockets: SOCKETS, timeoutMs: 30_000 });
  await timeUntil('the load to be answered', () => run.answered >= 50, CI_TIMEOUT);
  const t0 = Date.now();
  let victim: number;
  let spin: Promise<unknown> | null = null;
  if (kind === 'sigstop') {
    victim = before[0]!;
    process.kill(victim, 'SIGSTOP');
  } else {
    spin = get(port, '/spin', { timeoutMs: 60_000 }).then(
      () => 'answered',
      () => 'cut',
    );
    victim = Number((await l.waitFor(/WORKER TIMEOUT \(pid:(\d+)\)/))[1]);
  }
  try {
    // Detected and logged with the reason.
    await l.waitFor(new RegExp(`WORKER TIMEOUT \\(pid:${victim}\\)`));
    const why = await l.waitFor(new RegExp(`Worker ${victim} was stuck[^\\n]*`));
    if (kind === 'sigstop') expect(why[0]).toMatch(/the process is stopped/);
    else await l.waitFor(new RegExp(`Worker ${victim} was stuck[^\\n]*JavaScript stack[^\\n]*\\n\\s+at spinForever \\([^)]*blocking\\.mjs:\\d+:\\d+\\)`));
    const detectedMs = since(t0);
    // Killed and replaced.
    await waitGone(victim, CI_TIMEOUT);
    await l.waitFor(new RegExp(`Worker \\(pid:${victim}\\) was sent SIGKILL`));
    await timeUntil(`${N} ready workers without ${victim}`, async () => {
      const now = await readyWorkers(pidfile);
      return now.length === N && !now.includes(victim);
    }, 60_000, 50);
    const recoveredMs = since(t0);
    if (spin) expect(await spin).toBe('cut');
    const target = run.answered + RATE;
    await timeUntil('load after recovery', () => run.answered >= target, CI_TIMEOUT);
    const r = await run.stop();
    const byVictim = r.byPid.get(victim) ?? 0;
    record(`3-${kind}`, { ...loadFigures(r), victim, detectedMs, recoveredMs, answeredByVictimBeforeStuck: byVictim, stuckRequests: kind === 'busy-loop' ? 1 : 0 });
    // The other workers served meanwhile: only requests on the stuck worker's connections failed
    // (cut when it was killed), at most one per keep-alive socket; nothing refused or timed out.
    expect(r.byKind.refused).toBe(0);
    expect(r.byKind.timeout + r.byKind.status + r.byKind.other).toBe(0);
    expect(r.failures.length).toBeLessThanOrEqual(SOCKETS);
    expect(r.sent).toBe(r.answered + r.failures.length);
    // Answers kept coming from the other workers while the victim was stuck.
    const others = [...r.byPid.entries()].filter(([pid]) => pid !== victim && before.includes(pid)).reduce((a, [, n]) => a + n, 0);
    expect(others).toBeGreaterThan(0);
  } finally {
    try {
      process.kill(victim, 'SIGKILL'); // if the test failed before the master killed it
    } catch {
      /* gone */
    }
  }
}

test('SIGSTOP of a worker under load: detected by the timeout, logged as stopped, killed, replaced; the others serve', () => scenario('sigstop'), 180_000);

test('a worker in a busy loop under load: detected, logged with its JavaScript stack, killed, replaced; the others serve', () => scenario('busy-loop'), 180_000);
