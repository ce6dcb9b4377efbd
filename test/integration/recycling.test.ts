/**
 * Issue 3, recycling (spec §8 max_requests, oracle k/k2): a worker answers exactly its
 * max-requests (jitter 0), logs `Autorestarting worker after current request.`, and its
 * replacement is ready before it stops serving (no failed request under load); with jitter
 * each worker's count lies in [max, max + jitter]; `--max-memory` recycles a worker over its
 * RSS limit, gracefully.
 * Every master runs in a temp directory, so the repo's own supervisor.config.ts (and its
 * pidfile) is not picked up.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { CI_TIMEOUT, FIXTURES, cleanup, freePort, get, start, tmpDir, waitGone, writeConfig } from '../support/ldsup.js';
import { describeLoad, load, stopAllLoads } from '../support/load.js';
import { control, count, settled, waitUntil } from '../support/proc.js';

jest.setTimeout(120_000);
afterEach(stopAllLoads);
afterEach(cleanup);

const APPS = path.join(FIXTURES, 'apps');

/** Sequential GETs on fresh connections; answers per worker pid. */
async function sequential(port: number, n: number): Promise<Map<number, number>> {
  const per = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const r = await get(port, '/');
    expect(r.status).toBe(200);
    const pid = r.json<{ pid: number }>().pid;
    per.set(pid, (per.get(pid) ?? 0) + 1);
  }
  return per;
}

test('max-requests 5, jitter 0: every recycled worker answered exactly 5, and said so', async () => {
  const port = await freePort();
  const l = start([path.join(APPS, 'basic.mjs'), '-w', '2', '--max-requests', '5', '-b', `127.0.0.1:${port}`], { cwd: tmpDir() });
  await l.ready();
  const per = await sequential(port, 32);
  // Every worker that reached its limit is gone once replaced; each answered exactly 5.
  const retired = [...per.entries()].filter(([, n]) => n >= 5);
  expect(retired.length).toBeGreaterThanOrEqual(4);
  for (const [pid] of retired) await waitGone(pid, CI_TIMEOUT);
  expect(Object.fromEntries(retired)).toEqual(Object.fromEntries(retired.map(([pid]) => [pid, 5])));
  for (const [pid] of retired) expect(l.output).toMatch(new RegExp(`\\[${pid}\\] \\[INFO\\] Autorestarting worker after current request\\.`));
  // No worker ever answered more than its limit.
  for (const n of per.values()) expect(n).toBeLessThanOrEqual(5);
});

test('max-requests under load: replacements are ready before the old worker stops, zero failed requests', async () => {
  const port = await freePort();
  const l = start([path.join(APPS, 'basic.mjs'), '-w', '2', '--max-requests', '100', '-b', `127.0.0.1:${port}`], { cwd: tmpDir() });
  await l.ready();
  const run = load({ port, rate: 150, durationMs: 60_000, maxRequests: 1200, sockets: 16 });
  // Wait for several recyclings while the load runs.
  await waitUntil('4 autorestarts', () => count(l.output, /Autorestarting worker after current request\./g) >= 4, 90_000);
  const r = await run.stop();
  expect({ failures: r.failures.length, summary: describeLoad(r) }).toEqual({ failures: 0, summary: expect.any(String) });
  expect(r.answered).toBe(r.sent);
  expect(r.byPid.size).toBeGreaterThanOrEqual(4);
  // Over keep-alive, a request already on the wire on each of the worker's other connections
  // (at most one per client socket, 16) is still answered, with `Connection: close`.
  for (const n of r.byPid.values()) expect(n).toBeLessThanOrEqual(100 + 16);
});

test('max-requests 5 with jitter 5: each recycled worker answered between 5 and 10', async () => {
  const port = await freePort();
  const l = start([path.join(APPS, 'basic.mjs'), '-w', '1', '--max-requests', '5', '--max-requests-jitter', '5', '-b', `127.0.0.1:${port}`], { cwd: tmpDir() });
  await l.ready();
  const per = await sequential(port, 45);
  const booted = l.bootedWorkers();
  const done = [...per.entries()].filter(([pid]) => booted.indexOf(pid) < booted.length - 1 && count(l.output, new RegExp(`\\[${pid}\\] \\[INFO\\] Autorestarting`, 'g')) === 1);
  expect(done.length).toBeGreaterThanOrEqual(3);
  for (const [pid, n] of done) {
    await waitGone(pid, CI_TIMEOUT);
    expect(n).toBeGreaterThanOrEqual(5);
    expect(n).toBeLessThanOrEqual(10);
  }
});

test('--max-memory: a worker over its RSS limit is replaced (replacement first) and stops; the other serves on', async () => {
  const dir = tmpDir('ldsup-mem-');
  const port = await freePort();
  const pidfile = path.join(dir, 'ldsup.pid');
  const l = start([path.join(APPS, 'memory.mjs'), '-w', '2', '--max-memory', '150', '-b', `127.0.0.1:${port}`, '-p', pidfile], { cwd: dir });
  await l.ready();
  const before = await settled(pidfile, 2);
  const run = load({ port, rate: 50, durationMs: 60_000, sockets: 4 });
  const grown = (await get(port, '/grow?mb=200')).json<{ pid: number; rssMb: number }>();
  expect(grown.rssMb).toBeGreaterThan(150);
  await l.waitFor(new RegExp(`Worker \\(pid:${grown.pid}\\) uses \\d+ MB, over max-memory 150 MB: replacing it`));
  await waitGone(grown.pid, CI_TIMEOUT);
  const after = await settled(pidfile, 2, [grown.pid]);
  expect(after).toContain(before.find((p) => p !== grown.pid));
  const r = await run.stop();
  expect({ failures: r.failures.length, summary: describeLoad(r) }).toEqual({ failures: 0, summary: expect.any(String) });
  const st = await control(pidfile, { cmd: 'status' });
  for (const w of st.workers) expect(w.rssBytes).toBeLessThan(150 * 1048576);
});

/**
 * Sends the GETs for `paths` pipelined, in one write, on one connection, and reads until the
 * server closes it: the paths answered (basic.mjs echoes its path), in order.
 */
/**
 * One worker serving `app` on a free port, with a preRequest hook that writes the path of every
 * request the app is about to run to `ran` (one per line); `extra` adds config keys.
 */
async function recordingWorker(dir: string, app: string, extra = '') {
  const port = await freePort();
  const ran = path.join(dir, 'ran');
  const cfg = writeConfig(
    dir,
    'supervisor.config.mjs',
    `import fs from 'node:fs';
export default {
  app: ${JSON.stringify(app)},
  bind: '127.0.0.1:${port}',
  workers: 1,${extra}
  preRequest: (ctx, req) => fs.appendFileSync(${JSON.stringify(ran)}, new URL(req.url, 'http://x').pathname + '\\n'),
};
`,
  );
  const l = start(['-c', cfg], { cwd: dir });
  await l.ready();
  return { l, port, ran };
}

function pipelined(port: number, paths: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => s.destroy(new Error(`connection still open after ${CI_TIMEOUT} ms; read so far:\n${data}`)), CI_TIMEOUT);
    s.setEncoding('utf8');
    s.on('data', (c: string) => (data += c));
    s.on('error', (err) => (clearTimeout(timer), reject(err)));
    s.on('close', () => {
      clearTimeout(timer);
      resolve([...data.matchAll(/"path":"([^"]*)"/g)].map((m) => m[1]!));
    });
    s.write(paths.map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
  });
}

test.each([
  ['answers at once', ['/a', '/b', '/c', '/d']],
  ['answers later', ['/slow?ms=50', '/slow?ms=50', '/slow?ms=50', '/slow?ms=50']],
])('pipelined requests over a worker’s max-requests (an app that %s): every request the app ran is answered, the rest the client may retry', async (_, paths) => {
  const dir = tmpDir('ldsup-pipeline-');
  const { l, port, ran } = await recordingWorker(dir, path.join(APPS, 'basic.mjs'), '\n  maxRequests: 2,');
  const names = paths.map((p) => new URL(p, 'http://x').pathname);
  const answered = await pipelined(port, paths);
  // The second request reached max-requests: a response from then on says Connection: close.
  await l.waitFor(/Autorestarting worker after current request\./);
  const runs = fs.readFileSync(ran, 'utf8').split('\n').filter(Boolean);
  // One the app ran that got no answer is lost: the client cannot tell that it ran (a POST it
  // sends again runs twice).
  expect({ ran: runs, answered }).toEqual({ ran: answered, answered: names.slice(0, answered.length) });
  expect(answered.length).toBeGreaterThanOrEqual(2);
  // What was left unanswered the client sends again (RFC 9112, 9.3.2), and the next worker answers.
  for (const p of paths.slice(answered.length)) expect((await get(port, p)).status).toBe(200);
});

test('a request pipelined behind an over-limit one (414) is not run, also as a worker’s first: the 414 closes the connection, so nobody would answer it', async () => {
  const dir = tmpDir('ldsup-pipeline-');
  const { l, port, ran } = await recordingWorker(dir, path.join(APPS, 'basic.mjs'), '\n  limitRequestLine: 100,');
  const long = `/${'x'.repeat(200)}`;
  // The worker's very first request, then once more on a worker that has served.
  for (const round of [1, 2]) {
    const answered = await pipelined(port, [long, `/behind${round}`]);
    expect(answered).toEqual([]);
    expect((await get(port, `/after${round}`)).status).toBe(200);
  }
  expect(fs.readFileSync(ran, 'utf8').split('\n').filter(Boolean)).toEqual(['/after1', '/after2']);
});

test('a request pipelined behind responses still queued is not run once one of them has written a close (the app answered a middle one first, closing)', async () => {
  const dir = tmpDir('ldsup-pipeline-');
  // /hold/<name> waits until /release?p=<name>; with ?close, its answer closes the connection.
  writeConfig(
    dir,
    'app.mjs',
    `const held = new Map();
export default function handler(req, res) {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/release') {
    held.get(url.searchParams.get('p'))();
    return res.end('released');
  }
  const reply = () => {
    if (url.searchParams.has('close')) res.setHeader('Connection', 'close');
    res.end(JSON.stringify({ path: url.pathname }));
  };
  if (url.pathname.startsWith('/hold/')) held.set(url.pathname.slice(6), reply);
  else reply();
}
`,
  );
  const { l, port, ran } = await recordingWorker(dir, path.join(dir, 'app.mjs'));
  const runs = () => (fs.existsSync(ran) ? fs.readFileSync(ran, 'utf8').split('\n').filter((p) => p.startsWith('/hold/')) : []);
  const s = net.connect(port, '127.0.0.1');
  let data = '';
  s.setEncoding('utf8');
  s.on('data', (c: string) => (data += c));
  const closed = new Promise((resolve) => s.on('close', resolve));
  s.write(['/hold/a', '/hold/b?close', '/hold/c'].map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
  await waitUntil('three pipelined requests in the app', () => runs().length === 3);
  // b answers before a, with Connection: close: the connection ends after b, c will never be answered.
  expect((await get(port, '/release?p=b')).status).toBe(200);
  s.write('GET /hold/d HTTP/1.1\r\nHost: x\r\n\r\n');
  expect((await get(port, '/release?p=a')).status).toBe(200);
  await closed;
  expect([...data.matchAll(/"path":"([^"]*)"/g)].map((m) => m[1])).toEqual(['/hold/a', '/hold/b']);
  // d came after b's close was written: run, it would never be answered, and run again when sent again.
  expect(runs()).toEqual(['/hold/a', '/hold/b', '/hold/c']);
});
