/**
 * Chaos 1 and 2: workers killed with SIGKILL under a steady load.
 * 1. a random worker every 200 ms: the worker count recovers after every kill, the only failed
 *    requests are those in flight on a killed worker, and no connection is ever refused;
 * 2. every worker at once: requests sent during the gap wait in the master's backlog and are
 *    served by the replacements; none is refused.
 */
import path from 'node:path';
import { CI_TIMEOUT, FIXTURES, freePort, tmpDir } from '../support/ldsup.js';
import { load } from '../support/load.js';
import { childrenOf } from '../support/proc.js';
import { dur, launch, type Ld, loadFigures, RATE, readyWorkers, record, since, timeUntil, useChaos } from './chaos.js';

const APP = path.join(FIXTURES, 'apps', 'basic.mjs');
const N = 3;
/** Keep-alive connections the load keeps open; each holds at most one request at a time. */
const SOCKETS = 8;
let ld: Ld;

useChaos((v) => (ld = v));

/** Samples the number of ready workers every ~50 ms until stopped. */
function sampler(pidfile: string) {
  const samples: { t: number; ready: number }[] = [];
  let on = true;
  const done = (async () => {
    while (on) {
      try {
        const ready = (await readyWorkers(pidfile)).length;
        samples.push({ t: Date.now(), ready });
      } catch {
        /* the master is busy: next time */
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    samples,
    stop: async () => {
      on = false;
      await done;
    },
  };
}

test('kill -9 of a random worker every 200 ms: the count recovers after every kill, no refused connection, failures only in flight', async () => {
  const stormMs = dur(5_000, 20_000);
  const port = await freePort();
  const dir = tmpDir();
  const pidfile = path.join(dir, 'ldsup.pid');
  const l = launch(ld, [APP, '-w', String(N), '-b', `127.0.0.1:${port}`, '-p', pidfile]);
  await l.ready();
  const s = sampler(pidfile);
  const run = load({ port, rate: RATE, durationMs: stormMs + 120_000, maxRequests: RATE * (stormMs / 1000 + 120), sockets: SOCKETS, timeoutMs: 20_000 });
  await timeUntil('the load to be answered', () => run.answered >= 20, CI_TIMEOUT);
  const kills: { t: number; pid: number }[] = [];
  const t0 = Date.now();
  while (since(t0) < stormMs) {
    const kids = childrenOf(l.pid);
    if (kids.length > 0) {
      const pid = kids[Math.floor(Math.random() * kids.length)]!;
      try {
        process.kill(pid, 'SIGKILL');
        kills.push({ t: Date.now(), pid });
      } catch {
        /* exited meanwhile */
      }
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const lastKill = Date.now();
  // After the storm: back to N ready workers (the crash backoff may delay it; bounded by 30 s).
  const recoverMs = await timeUntil(`${N} ready workers`, async () => (await readyWorkers(pidfile)).length === N, 60_000, 50);
  await timeUntil('a few answers after recovery', async () => run.answered > 0, CI_TIMEOUT);
  // The sampler polls on its own clock: let it record the recovered state before it stops.
  await timeUntil('the sampler to see the recovery', async () => s.samples.some((x) => x.t > lastKill && x.ready === N), CI_TIMEOUT, 50);
  const r = await run.stop();
  await s.stop();
  // Per kill: time until the sampler next saw N ready workers.
  const perKill = kills.map((k) => {
    const back = s.samples.find((x) => x.t > k.t && x.ready === N);
    return back ? back.t - k.t : null;
  });
  const recovered = perKill.filter((x): x is number => x !== null).sort((a, b) => a - b);
  const minReady = Math.min(...s.samples.filter((x) => x.t >= t0).map((x) => x.ready));
  const backoffLines = (l.output.match(/Workers are crashing at start-up/g) ?? []).length;
  record('1-kill-random-worker', {
    ...loadFigures(r),
    kills: kills.length,
    stormMs,
    workers: N,
    minReadyDuringStorm: minReady,
    recoveredKills: recovered.length,
    recoverMsMedian: recovered[Math.floor(recovered.length / 2)] ?? null,
    recoverMsMax: recovered[recovered.length - 1] ?? null,
    recoverAfterStormMs: recoverMs,
    backoffWarnings: backoffLines,
    samples: s.samples.length,
    samplesTail: s.samples.slice(-5).map((x) => [x.t - t0, x.ready]),
    failuresPerKill: +(r.failures.length / Math.max(1, kills.length)).toFixed(3),
  });
  expect(kills.length).toBeGreaterThan(5);
  // Every kill was followed by a return to N ready workers.
  expect(perKill.filter((x) => x === null)).toHaveLength(0);
  // Nothing is ever refused: the master holds the listening socket the whole time.
  expect(r.byKind.refused).toBe(0);
  // Only requests on a killed worker's connections fail (reset); none time out. A connection
  // carries one request at a time and dies with its worker, so a kill costs at most one request
  // per connection that worker held (about SOCKETS / N on average, all SOCKETS at worst).
  expect(r.byKind.timeout + r.byKind.status + r.byKind.other).toBe(0);
  expect(r.failures.length).toBeLessThanOrEqual(kills.length * SOCKETS);
  expect(r.sent).toBe(r.answered + r.failures.length);
  expect(r.ok).toBeGreaterThan(r.sent / 2);
}, 240_000);

test('kill -9 of all workers at once: requests in the gap wait in the backlog and are served, none refused', async () => {
  const port = await freePort();
  const dir = tmpDir();
  const pidfile = path.join(dir, 'ldsup.pid');
  const l = launch(ld, [APP, '-w', String(N), '-b', `127.0.0.1:${port}`, '-p', pidfile]);
  await l.ready();
  const before = await readyWorkers(pidfile);
  const run = load({ port, rate: RATE, durationMs: 120_000, maxRequests: RATE * 120, sockets: 8, timeoutMs: 30_000 });
  await timeUntil('the load to be answered', () => run.answered >= 20, CI_TIMEOUT);
  const answeredAtKill = run.answered;
  const tKill = Date.now();
  for (const pid of before) process.kill(pid, 'SIGKILL');
  // Time to recover: until the replacements answer (requests sent in the gap included).
  const newPid = (p: number) => !before.includes(p);
  const gapMs = await timeUntil('an answer from a replacement worker', () => [...run.result().byPid.keys()].some(newPid), 60_000);
  const sentInGap = run.result().sent - answeredAtKill;
  await timeUntil(`${N} ready workers`, async () => (await readyWorkers(pidfile)).filter(newPid).length === N, 60_000, 50);
  const allBackMs = since(tKill);
  // Keep the load going a little past recovery, then stop it.
  const target = run.answered + RATE;
  await timeUntil('load after recovery', () => run.answered >= target, CI_TIMEOUT);
  const r = await run.stop();
  record('2-kill-all-workers', {
    ...loadFigures(r),
    killed: before.length,
    sentDuringGapApprox: sentInGap,
    firstAnswerAfterKillMs: gapMs,
    allReplacedMs: allBackMs,
  });
  expect(r.byKind.refused).toBe(0);
  // Only what was in flight on the killed workers can fail (at most one per keep-alive socket).
  expect(r.byKind.timeout + r.byKind.status + r.byKind.other).toBe(0);
  expect(r.failures.length).toBeLessThanOrEqual(8);
  expect(r.sent).toBe(r.answered + r.failures.length);
  expect(l.output).toMatch(/was sent SIGKILL/);
}, 240_000);
