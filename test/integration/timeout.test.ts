/** Worker timeouts: a blocked event loop is detected, its JS stack logged, the worker replaced. */
import path from 'node:path';
import { FIXTURES, HAS_CXX, cleanup, freePort, get, start, waitGone } from '../support/ldsup.js';

afterEach(cleanup);
const app = path.join(FIXTURES, 'apps', 'blocking.mjs');

// The native watchdog (built for this Node by `npm test`'s pretest wherever a C++ compiler is
// installed), and the worker-thread fallback used where it is not.
test.each([
  [HAS_CXX ? 'native' : 'thread', {}],
  ['thread', { LDSUP_WATCHDOG: 'thread' }],
])('a busy loop (%s watchdog): WORKER TIMEOUT with the JavaScript stack, killed and replaced; the other worker serves meanwhile', async (kind, env) => {
  const port = await freePort();
  const l = start([app, '-w', '2', '-t', '2', '-b', `127.0.0.1:${port}`, '--log-level', 'debug'], { env });
  await l.ready();
  await l.waitFor(new RegExp(`(Watchdog: ${kind}[\\s\\S]*){2}`));
  const spin = get(port, '/spin').catch(() => 'cut');
  const m = await l.waitFor(/WORKER TIMEOUT \(pid:(\d+)\)/);
  const victim = Number(m[1]);
  expect(l.bootedWorkers()).toContain(victim);
  // Where it was stuck: the function and file of the loop.
  await l.waitFor(new RegExp(`Worker ${victim} was stuck[^\\n]*JavaScript stack[^\\n]*\\n\\s+at spinForever \\([^)]*blocking\\.mjs:\\d+:\\d+\\)`));
  await waitGone(victim, 10_000);
  expect(await spin).toBe('cut');
  await l.waitFor(new RegExp(`Worker \\(pid:${victim}\\) was sent SIGKILL`));
  // Replaced: a third worker boots, and requests are answered by live workers only.
  await l.waitFor(/(Booting worker with pid: \d+[\s\S]*){3}/);
  const r = await get(port, '/');
  expect(r.status).toBe(200);
  expect(r.json<{ pid: number }>().pid).not.toBe(victim);
});

test('a stopped worker (SIGSTOP) is detected by the heartbeat, reported as stopped, killed and replaced', async () => {
  const port = await freePort();
  const l = start([app, '-w', '2', '-t', '2', '-b', `127.0.0.1:${port}`]);
  await l.ready();
  const [victim] = l.bootedWorkers();
  process.kill(victim!, 'SIGSTOP');
  await l.waitFor(new RegExp(`WORKER TIMEOUT \\(pid:${victim}\\)`));
  await l.waitFor(new RegExp(`Worker ${victim} was stuck .*the process is stopped`));
  await waitGone(victim!, 10_000);
  await l.waitFor(/(Booting worker with pid: \d+[\s\S]*){3}/);
});

test('a slow request that awaits I/O does not trip the timeout', async () => {
  const port = await freePort();
  const l = start([app, '-w', '1', '-t', '1', '-b', `127.0.0.1:${port}`]);
  await l.ready();
  const r = await get(port, '/slow?ms=3000');
  expect(r.status).toBe(200);
  expect(l.output).not.toContain('WORKER TIMEOUT');
  expect(l.bootedWorkers()).toHaveLength(1);
});
