/**
 * Chaos 4: kill -9 of the master. Every worker notices (IPC disconnect) and exits within 2 s,
 * the port is free again, and a new start with the stale pidfile left behind works.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { CI_TIMEOUT, FIXTURES, freePort, get, isAlive, tmpDir } from '../support/ldsup.js';
import { load } from '../support/load.js';
import { childrenOf } from '../support/proc.js';
import { launch, type Ld, loadFigures, RATE, record, since, timeUntil, useChaos } from './chaos.js';

const APP = path.join(FIXTURES, 'apps', 'basic.mjs');
let ld: Ld;

useChaos((v) => (ld = v));

const canBind = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });

test('kill -9 of the master: every worker exits within 2 s, the port is free, a new start with the stale pidfile works', async () => {
  const port = await freePort();
  const pidfile = path.join(tmpDir(), 'ldsup.pid');
  const l = launch(ld, [APP, '-w', '3', '-b', `127.0.0.1:${port}`, '-p', pidfile]);
  await l.ready();
  const workers = childrenOf(l.pid);
  expect(workers).toHaveLength(3);
  const run = load({ port, rate: RATE, durationMs: 60_000, maxRequests: RATE * 60, sockets: 8, timeoutMs: 5_000 });
  await timeUntil('the load to be answered', () => run.answered >= 50, CI_TIMEOUT);
  const t0 = Date.now();
  process.kill(l.pid, 'SIGKILL');
  const goneAt = new Map<number, number>();
  try {
    await timeUntil('every worker to exit', () => {
      for (const w of workers) if (!goneAt.has(w) && !isAlive(w)) goneAt.set(w, since(t0));
      return goneAt.size === workers.length;
    }, CI_TIMEOUT, 10);
  } finally {
    for (const w of workers) if (isAlive(w)) process.kill(w, 'SIGKILL');
  }
  const r = await run.stop();
  const exitMs = Math.max(...goneAt.values());
  const portFreeMs = await timeUntil('the port to be free', () => canBind(port), CI_TIMEOUT);
  // The pidfile is left behind, naming a dead process: a new start replaces it.
  expect(fs.readFileSync(pidfile, 'utf8').trim()).toBe(String(l.pid));
  const l2 = launch(ld, [APP, '-w', '2', '-b', `127.0.0.1:${port}`, '-p', pidfile]);
  await l2.ready();
  expect(fs.readFileSync(pidfile, 'utf8').trim()).toBe(String(l2.pid));
  expect((await get(port, '/')).status).toBe(200);
  record('4-kill-master', { ...loadFigures(r), workers: workers.length, workerExitMsMax: exitMs, workerExitMs: [...goneAt.values()], portFreeAfterMs: exitMs + portFreeMs, restartWithStalePidfile: 'ok' });
  // Within 2 s of the master's death (workers drain for at most 1.5 s after the IPC disconnect).
  expect(exitMs).toBeLessThanOrEqual(2000);
  // Requests after the master's death are refused once the workers have closed the port:
  // nothing to assert there (no supervisor left); the counts are in the summary.
  expect(r.sent).toBe(r.answered + r.failures.length);
  l2.signal('SIGTERM');
  expect((await l2.waitExit()).code).toBe(0);
  expect(fs.existsSync(pidfile)).toBe(false);
}, 120_000);
