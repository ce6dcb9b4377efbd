/**
 * Chaos 9: disk trouble under a steady load. The server keeps serving and says so once per
 * process, not once per request.
 *
 * What really fails here (we run as root, so permission bits do not stop a write):
 * - "log file unwritable": `chattr +i` on the open error-log and access-log files. On ext4 a
 *   write through an already-open descriptor then fails with EPERM, and so does a new open
 *   (a worker booting afterwards). Skipped, saying why, where chattr is unavailable.
 * - "access log directory removed": `rm -rf` of the directory. Writes through the open
 *   descriptor still succeed (the inode lives on), so there is nothing to report until the file
 *   is opened again: USR1 (logrotate) and any worker booting afterwards must cope with ENOENT.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CI_TIMEOUT, FIXTURES, freePort, isAlive, runCli, tmpDir } from '../support/ldsup.js';
import { load } from '../support/load.js';
import { count, settled } from '../support/proc.js';
import { launch, type Ld, loadFigures, RATE, readyWorkers, record, timeUntil, useChaos, watchFile } from './chaos.js';

const APP = path.join(FIXTURES, 'apps', 'basic.mjs');
const N = 2;
let ld: Ld;

/** Does `chattr +i` make writes through an open descriptor fail here? */
function immutableWorks(): boolean {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ldsup-chattr-'));
  const f = path.join(d, 'probe');
  const fd = fs.openSync(f, 'a');
  try {
    if (spawnSync('chattr', ['+i', f]).status !== 0) return false;
    try {
      fs.writeSync(fd, 'x');
      return false;
    } catch {
      return true;
    }
  } finally {
    spawnSync('chattr', ['-i', f]);
    fs.closeSync(fd);
    fs.rmSync(d, { recursive: true, force: true });
  }
}
const IMMUTABLE = immutableWorks();
if (!IMMUTABLE) console.warn('disk chaos: chattr +i does not stop writes here (not root, or no ext2/3/4-like filesystem); the unwritable-file scenario is skipped');

useChaos((v) => (ld = v));

(IMMUTABLE ? test : test.skip)('error log and access log made unwritable (chattr +i): serving goes on, each process reports it once, new workers still boot', async () => {
  const dir = tmpDir();
  const port = await freePort();
  const pidfile = path.join(dir, 'ldsup.pid');
  const errorLog = path.join(dir, 'error.log');
  const accessLog = path.join(dir, 'access.log');
  watchFile(errorLog);
  watchFile(accessLog);
  const l = launch(ld, [APP, '-w', String(N), '-b', `127.0.0.1:${port}`, '-p', pidfile, '--error-logfile', errorLog, '--access-logfile', accessLog]);
  try {
    await timeUntil('Ready in the error log', () => /Ready: \d+ workers? serving/.test(fs.readFileSync(errorLog, 'utf8')), CI_TIMEOUT, 50);
    const before = await settled(pidfile, N);
    const run = load({ port, rate: RATE, durationMs: 120_000, maxRequests: RATE * 120, sockets: 8, timeoutMs: 30_000 });
    await timeUntil('the load to be answered', () => run.answered >= 50, CI_TIMEOUT);
    await timeUntil('access log lines', () => fs.readFileSync(accessLog, 'utf8').length > 0, CI_TIMEOUT);
    for (const f of [errorLog, accessLog]) expect(spawnSync('chattr', ['+i', f]).status).toBe(0);
    const answeredAtFault = run.answered;
    // Requests go on; each worker fails to write its access-log line from now on.
    await timeUntil(`${RATE * 2} answers after the fault`, () => run.answered >= answeredAtFault + RATE * 2, CI_TIMEOUT);
    // The master writes to its error log (TTIN: "Booting worker"), and a new worker must boot
    // although it cannot open either file.
    l.signal('SIGTTIN');
    await timeUntil(`${N + 1} ready workers`, async () => (await readyWorkers(pidfile)).length === N + 1, 60_000, 100);
    const target = run.answered + RATE;
    await timeUntil('load after the new worker', () => run.answered >= target, CI_TIMEOUT);
    const r = await run.stop();
    const accessReports = count(l.stderr, new RegExp(`cannot (write|open|reopen) log file ${accessLog.replace(/[.]/g, '\\.')}`, 'g'));
    const errorReports = count(l.stderr, new RegExp(`cannot (write|open|reopen) log file ${errorLog.replace(/[.]/g, '\\.')}`, 'g'));
    const processes = N + 2; // master, the first workers, the TTIN worker
    record('9-log-files-unwritable', {
      ...loadFigures(r),
      method: 'chattr +i on both open files (EPERM on write and open)',
      requestsAfterFault: r.sent - answeredAtFault,
      accessLogReports: accessReports,
      errorLogReports: errorReports,
      processes,
      newWorkerBooted: true,
    });
    expect(r.failures).toEqual([]);
    expect(r.sent).toBe(r.answered);
    // Reported, and once per process at most (not per request: hundreds of lines were dropped).
    expect(accessReports).toBeGreaterThanOrEqual(1);
    expect(accessReports).toBeLessThanOrEqual(N + 1);
    expect(errorReports).toBeGreaterThanOrEqual(1);
    expect(errorReports).toBeLessThanOrEqual(processes);
    expect(isAlive(l.pid)).toBe(true);
    expect(before.every((p) => isAlive(p))).toBe(true);
  } finally {
    for (const f of [errorLog, accessLog]) spawnSync('chattr', ['-i', f]);
  }
}, 180_000);

test('access log directory removed: serving goes on; USR1 (logrotate) and a new worker report the missing directory once each and keep serving', async () => {
  const dir = tmpDir();
  const logs = path.join(dir, 'logs');
  fs.mkdirSync(logs);
  const port = await freePort();
  const pidfile = path.join(dir, 'ldsup.pid');
  const accessLog = path.join(logs, 'access.log');
  const l = launch(ld, [APP, '-w', String(N), '-b', `127.0.0.1:${port}`, '-p', pidfile, '--access-logfile', accessLog]);
  await l.ready();
  const before = await settled(pidfile, N);
  const run = load({ port, rate: RATE, durationMs: 120_000, maxRequests: RATE * 120, sockets: 8, timeoutMs: 30_000 });
  await timeUntil('the load to be answered', () => run.answered >= 50, CI_TIMEOUT);
  await timeUntil('access log lines', () => fs.existsSync(accessLog) && fs.readFileSync(accessLog, 'utf8').length > 0, CI_TIMEOUT);
  fs.rmSync(logs, { recursive: true, force: true });
  const atRemoval = run.answered;
  await timeUntil(`${RATE} answers after the removal`, () => run.answered >= atRemoval + RATE, CI_TIMEOUT);
  // logrotate: every worker tries to reopen the file and cannot.
  l.signal('SIGUSR1');
  await l.waitFor(/cannot reopen log file [^\n]*access\.log/);
  const atUsr1 = run.answered;
  await timeUntil(`${RATE} answers after USR1`, () => run.answered >= atUsr1 + RATE, CI_TIMEOUT);
  // A worker booting now cannot open the access log either: it must serve all the same.
  l.signal('SIGTTIN');
  await timeUntil(`${N + 1} ready workers`, async () => (await readyWorkers(pidfile)).length === N + 1, 60_000, 100);
  const target = run.answered + RATE;
  await timeUntil('load after the new worker', () => run.answered >= target, CI_TIMEOUT);
  const r = await run.stop();
  const reports = count(l.output, /cannot (write|open|reopen) log file [^\n]*access\.log/g);
  record('9-access-log-dir-removed', {
    ...loadFigures(r),
    method: 'rm -rf of the access log directory, then USR1 and TTIN',
    requestsAfterRemoval: r.sent - atRemoval,
    reports,
    workers: N + 1,
    newWorkerBooted: true,
    crashLoopWarnings: count(l.output, /Workers are crashing/g),
  });
  expect(r.failures).toEqual([]);
  expect(r.sent).toBe(r.answered);
  expect(reports).toBeGreaterThanOrEqual(N);
  expect(reports).toBeLessThanOrEqual(N + 1);
  expect(before.every((p) => isAlive(p))).toBe(true);
}, 180_000);

test('an access log in a missing directory at start-up is still a one-line start error (exit 1, nothing started)', async () => {
  const dir = tmpDir();
  const port = await freePort();
  const bad = path.join(dir, 'no-such-dir', 'access.log');
  const r = await runCli([APP, '-b', `127.0.0.1:${port}`, '--access-logfile', bad], { env: ld.env });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(`cannot open access log file ${bad}: ENOENT`);
  expect(r.output).not.toMatch(/Booting worker/);
});
