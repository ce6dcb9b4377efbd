/**
 * Security items of issue 6.
 * - The SDK key never appears: every chaos file runs its masters with a real key (a local
 *   LaunchDarkly service) and greps, after each scenario, every output, log file, result file and
 *   process title for it (chaos.ts `expectNoSecret`). Here also `ldsup status` (text and JSON)
 *   and an error that involves the key (a rejected key at start-up).
 * - The pidfile is not writable by others, and the control socket `<pidfile>.sock` is 0600.
 * - `ldsup stop` refuses a pid that is not an ldsup master: tested in
 *   test/integration/lifecycle.test.ts ("ldsup stop refuses to signal a process that is not an
 *   ldsup master"), not repeated here.
 * - Started as root with `--user nobody --group nogroup`, workers drop privileges after binding:
 *   the app runs as nobody and cannot write a root-only file; the master stays root.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CI_TIMEOUT, FIXTURES, freePort, get, runCli, tmpDir } from '../support/ldsup.js';
import { load } from '../support/load.js';
import { childrenOf } from '../support/proc.js';
import { expectNoSecret, launch, type Ld, loadFigures, RATE, record, SECRET_KEY, timeUntil, useChaos } from './chaos.js';

const BASIC = path.join(FIXTURES, 'apps', 'basic.mjs');
const PRIV = path.join(FIXTURES, 'apps', 'privileges.mjs');
let ld: Ld;

useChaos((v) => (ld = v));

/** Real and effective uid/gid of a process, from /proc/<pid>/status. */
function ids(pid: number): { uid: number[]; gid: number[] } {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const nums = (k: string) => s.match(new RegExp(`^${k}:\\s+(.*)$`, 'm'))![1]!.trim().split(/\s+/).map(Number);
  return { uid: nums('Uid'), gid: nums('Gid') };
}

test('pidfile not writable by others, control socket 0600; the SDK key is not in `ldsup status` (text or JSON)', async () => {
  const port = await freePort();
  const pidfile = path.join(tmpDir(), 'ldsup.pid');
  const l = launch(ld, [BASIC, '-w', '1', '-b', `127.0.0.1:${port}`, '-p', pidfile]);
  await l.ready();
  const pf = fs.statSync(pidfile);
  const sock = fs.statSync(`${pidfile}.sock`);
  expect(pf.mode & 0o022).toBe(0);
  expect(sock.isSocket()).toBe(true);
  expect(sock.mode & 0o777).toBe(0o600);
  for (const args of [['status', '-p', pidfile], ['status', '-p', pidfile, '--json']]) {
    const r = await runCli(args, { env: ld.env });
    expect(r.code).toBe(0);
    expect(r.output).toMatch(/launchdarkly|mode relay/);
    expect(r.output).not.toContain(SECRET_KEY);
  }
  record('security-files', { pidfileMode: (pf.mode & 0o777).toString(8), socketMode: (sock.mode & 0o777).toString(8), statusHasKey: false });
});

test('a rejected SDK key at start-up: one line, exit 1, and the key is not in it', async () => {
  const port = await freePort();
  ld.fake.failWith(401);
  try {
    const r = await runCli([BASIC, '-b', `127.0.0.1:${port}`], { env: ld.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/401/);
    expect(r.output).not.toContain(SECRET_KEY);
  } finally {
    ld.fake.failWith(null);
  }
});

const root = process.getuid?.() === 0;
(root ? test : test.skip)('--user nobody --group nogroup (as root): workers run as nobody after binding and cannot write a root-only file; the master stays root', async () => {
  const port = await freePort();
  const dir = tmpDir(); // mkdtemp: 0700, owned by root
  fs.chmodSync(dir, 0o700);
  const pidfile = path.join(dir, 'ldsup.pid');
  const secret = path.join(dir, 'root-only.txt');
  const l = launch(ld, [PRIV, '-w', '2', '-b', `127.0.0.1:${port}`, '-p', pidfile, '--user', 'nobody', '--group', 'nogroup']);
  await l.ready();
  const run = load({ port, rate: RATE, durationMs: 60_000, maxRequests: RATE * 60, sockets: 8, timeoutMs: 30_000 });
  await timeUntil('the load to be answered', () => run.answered >= 50, CI_TIMEOUT);
  const replies = [];
  for (let i = 0; i < 6; i++) replies.push((await get(port, `/?file=${encodeURIComponent(secret)}`)).json<{ pid: number; uid: number; gid: number; write: string }>());
  const r = await run.stop();
  const workers = childrenOf(l.pid);
  record('security-privilege-drop', { ...loadFigures(r), replies: replies.map((x) => ({ uid: x.uid, gid: x.gid, write: x.write })), masterUid: ids(l.pid).uid[0] });
  for (const x of replies) {
    expect(x.uid).toBe(65534);
    expect(x.gid).toBe(65534);
    expect(x.write).toBe('EACCES');
  }
  expect(fs.existsSync(secret)).toBe(false);
  // Real, effective, saved and filesystem ids all dropped (no way back to root).
  for (const w of workers) expect(ids(w)).toEqual({ uid: [65534, 65534, 65534, 65534], gid: [65534, 65534, 65534, 65534] });
  expect(ids(l.pid).uid[0]).toBe(0);
  expect(r.failures).toEqual([]);
});
