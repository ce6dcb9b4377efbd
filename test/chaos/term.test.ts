/**
 * Chaos 10: stop signals at awkward moments: TERM during boot (before the workers are ready),
 * TERM twice, TERM then INT. Always a clean exit with the documented status (0), the pidfile
 * removed, no worker left behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CI_TIMEOUT, FIXTURES, freePort, get, isAlive, tmpDir, waitGone } from '../support/ldsup.js';
import { load } from '../support/load.js';
import { childrenOf } from '../support/proc.js';
import { launch, type Ld, loadFigures, RATE, record, since, timeUntil, useChaos } from './chaos.js';

const SLOW = path.join(FIXTURES, 'apps', 'slow-boot.mjs');
let ld: Ld;

useChaos((v) => (ld = v));

type Case = 'term-during-boot' | 'term-twice' | 'term-then-int';

test.each<Case>(['term-during-boot', 'term-twice', 'term-then-int'])('%s: exit 0, pidfile removed, no orphan', async (kind) => {
  const port = await freePort();
  const dir = tmpDir();
  const pidfile = path.join(dir, 'ldsup.pid');
  const mark = path.join(dir, 'slow-request-arrived');
  // Boot takes 3 s per worker (top-level await in the app), so "during boot" is a wide window.
  const l = launch(ld, [SLOW, '-w', '2', '-b', `127.0.0.1:${port}`, '-p', pidfile, '--graceful-timeout', '20'], { env: { SLOW_BOOT_MS: kind === 'term-during-boot' ? '3000' : '0', SLOW_MARK: mark } });
  let run = null;
  let slow: Promise<string> | null = null;
  if (kind === 'term-during-boot') {
    await l.waitFor(/(Booting worker with pid: \d+[\s\S]*){2}/);
    await timeUntil('the pidfile', () => fs.existsSync(pidfile), CI_TIMEOUT);
    expect(l.output).not.toMatch(/Ready: /);
  } else {
    await l.ready();
    run = load({ port, rate: RATE, durationMs: 60_000, maxRequests: RATE * 60, sockets: 8, timeoutMs: 30_000 });
    await timeUntil('the load to be answered', () => run!.answered >= 50, CI_TIMEOUT);
    // A request in flight makes the graceful stop last, so the second signal lands during it.
    slow = get(port, '/slow?ms=4000').then(
      (r) => `answered ${r.status}`,
      (e: Error) => `cut: ${e.message}`,
    );
    await timeUntil('the slow request to reach a worker', () => fs.existsSync(mark), CI_TIMEOUT);
  }
  const workers = childrenOf(l.pid);
  expect(workers.length).toBeGreaterThan(0);
  // The load stops sending as the stop begins (a stopping server is expected to turn new
  // connections away); what it had in flight must still be answered, unless INT cuts it.
  const stopped = run?.stop() ?? null;
  const t0 = Date.now();
  l.signal('SIGTERM');
  if (kind !== 'term-during-boot') {
    await l.waitFor(/Handling signal: term/);
    l.signal(kind === 'term-twice' ? 'SIGTERM' : 'SIGINT');
  }
  const exit = await l.waitExit(60_000);
  const exitMs = since(t0);
  for (const w of workers) await waitGone(w, CI_TIMEOUT);
  const r = stopped ? await stopped : null;
  const slowOutcome = slow ? await slow : null;
  record(`10-${kind}`, {
    ...(r ? loadFigures(r) : { sent: 0, answered: 0, failed: 0 }),
    exitCode: exit.code,
    exitSignal: exit.signal,
    exitAfterMs: exitMs,
    pidfileRemoved: !fs.existsSync(pidfile),
    orphans: workers.filter(isAlive).length,
    inflightRequest: slowOutcome,
  });
  expect(exit).toEqual({ code: 0, signal: null });
  expect(fs.existsSync(pidfile)).toBe(false);
  expect(fs.existsSync(`${pidfile}.sock`)).toBe(false);
  expect(workers.filter(isAlive)).toEqual([]);
  expect(l.output).toMatch(/Shutting down: Master/);
  // A second TERM does not cut the graceful stop short; INT makes it quick (the request is cut).
  if (kind === 'term-twice') {
    expect(slowOutcome).toBe('answered 200');
    expect(r!.failures).toEqual([]);
  }
  if (kind === 'term-then-int') expect(slowOutcome).toMatch(/^cut/);
}, 120_000);
