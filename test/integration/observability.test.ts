/**
 * Health endpoints and Prometheus metrics, served by the master on their own address:
 * readiness follows the workers (and the flags), goes false while stopping; /metrics passes
 * `promtool check metrics` (Debian's prometheus package; .ci/run installs it).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURES, cleanup, freePort, get, runCli, start, tmpDir } from '../support/ldsup.js';
import { waitFor } from '../support/wait.js';

afterEach(cleanup);
const APP = path.join(FIXTURES, 'apps', 'basic.mjs');

test('/healthz and /readyz: ready once every worker is, not ready while stopping', async () => {
  const port = await freePort();
  const hport = await freePort();
  const l = start([APP, '-w', '2', '-b', `127.0.0.1:${port}`, '--health-bind', `127.0.0.1:${hport}`]);
  await l.waitFor(/Serving \/healthz, \/readyz at http:\/\/127\.0\.0\.1:\d+/);
  await l.ready();
  expect((await get(hport, '/healthz')).json()).toEqual({ status: 'ok' });
  const ready = await get(hport, '/readyz');
  expect(ready.status).toBe(200);
  expect(ready.json()).toEqual({ status: 'ready' });
  expect((await get(hport, '/metrics')).status).toBe(404); // metrics are opt-in, on their own bind
  // Health is served by the master, not the app: it answers while the app is busy stopping.
  const slow = get(port, '/slow?ms=3000');
  await new Promise((r) => setTimeout(r, 300));
  l.signal('SIGTERM');
  await waitFor(async () => (await get(hport, '/readyz').catch(() => null))?.status === 503, 10_000, '/readyz to turn 503');
  const during = await get(hport, '/readyz');
  expect(during.json<{ why: string[] }>().why).toContain('stopping');
  expect((await slow).status).toBe(200);
  expect((await l.waitExit()).code).toBe(0);
});

test('/readyz waits for the flags unless told not to', async () => {
  const port = await freePort();
  const hport = await freePort();
  // A LaunchDarkly that never answers: workers start with defaults, flags stay uninitialised.
  const env = { LAUNCHDARKLY_SDK_KEY: 'sdk-unreachable', LAUNCHDARKLY_STREAM_URI: 'http://127.0.0.1:9', LAUNCHDARKLY_BASE_URI: 'http://127.0.0.1:9', LAUNCHDARKLY_EVENTS_URI: 'http://127.0.0.1:9' };
  const cfg = ['-w', '1', '-b', `127.0.0.1:${port}`, '--health-bind', `127.0.0.1:${hport}`];
  const strict = start([APP, ...cfg], { env });
  await strict.ready(60_000);
  const r = await get(hport, '/readyz');
  expect(r.status).toBe(503);
  expect(r.json<{ why: string[] }>().why).toContain('flags not initialised');
  strict.signal('SIGTERM');
  await strict.waitExit();
  const lax = start([APP, ...cfg, '--ready-requires-flags', 'false'], { env });
  await lax.ready(60_000);
  expect((await get(hport, '/readyz')).status).toBe(200);
  expect(lax.output).not.toContain('sdk-unreachable');
}, 120_000);

test('/metrics: per-worker and master figures, restarts by reason, valid for promtool', async () => {
  const port = await freePort();
  const mport = await freePort();
  const l = start([APP, '-w', '2', '-b', `127.0.0.1:${port}`, '--metrics-bind', `127.0.0.1:${mport}`, '-t', '5']);
  await l.ready();
  for (let i = 0; i < 5; i++) await get(port, '/');
  let text = '';
  const scrape = async () => (text = (await get(mport, '/metrics')).body);
  // Counts arrive with the workers' heartbeats (every second here).
  await waitFor(async () => /ldsup_requests_total 5\n/.test(await scrape()), 30_000, 'metrics to count 5 requests');
  const [victim] = l.bootedWorkers();
  process.kill(victim!, 'SIGKILL');
  await waitFor(() => l.bootedWorkers().length === 3, 30_000, 'a replacement');
  await waitFor(async () => /ldsup_workers_ready 2\n/.test(await scrape()) && !(await scrape()).includes(`pid="${victim}"`), 30_000, '2 ready workers again');
  expect(text).toMatch(/ldsup_requests_total 5\n/);
  expect(text).toMatch(/ldsup_worker_restarts_total\{reason="crash"\} 1/);
  expect(text).toMatch(/ldsup_worker_resident_memory_bytes\{pid="\d+",age="\d+"\} \d+/);
  expect(text).toMatch(/ldsup_worker_event_loop_lag_seconds\{pid="\d+",age="\d+"\} [\d.e-]+/);
  expect(text).toMatch(/ldsup_worker_inflight_requests\{pid="\d+",age="\d+"\} 0/);
  expect(text).toMatch(/ldsup_master_uptime_seconds [\d.]+/);
  expect(text).toMatch(/ldsup_launchdarkly_initialized 1/);
  expect(text).not.toContain(`pid="${victim}"`);
  // promtool exits non-zero on any format or naming problem.
  const out = execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  expect(out).toBe('');
});

test('ldsup_requests_total keeps what a worker served after its last heartbeat: it tells the master as it exits (max-requests recycling)', async () => {
  const port = await freePort();
  const mport = await freePort();
  // Heartbeats every second; the worker serves its 3 requests and is recycled well within one.
  const l = start([APP, '-w', '1', '-b', `127.0.0.1:${port}`, '--metrics-bind', `127.0.0.1:${mport}`, '-t', '120', '--max-requests', '3']);
  await l.ready();
  const [first] = l.bootedWorkers();
  for (let i = 0; i < 3; i++) await get(port, '/');
  await l.waitFor(new RegExp(`Worker exiting \\(pid: ${first}\\)`));
  await waitFor(async () => /ldsup_requests_total 3\n/.test((await get(mport, '/metrics')).body), 30_000, 'metrics to count the 3 requests of the recycled worker');
});

test('HUP that moves the metrics endpoint: a warning naming it, and /metrics stays where the master serves it', async () => {
  const dir = tmpDir('ldsup-obs-');
  const [port, mport, moved] = [await freePort(), await freePort(), await freePort()];
  const cfg = path.join(dir, 'supervisor.config.mjs');
  const write = (m: number) => fs.writeFileSync(cfg, `export default { app: ${JSON.stringify(APP)}, workers: 1, bind: '127.0.0.1:${port}', metricsBind: '127.0.0.1:${m}' };\n`);
  write(mport);
  const l = start(['-c', cfg]);
  await l.ready();
  const [first] = l.bootedWorkers();
  write(moved);
  l.signal('SIGHUP');
  await l.waitFor(/\[WARNING\] Reload: metricsBind changed; HUP keeps the current settings/);
  // The reload itself goes on: a new worker replaces the old one.
  await l.waitFor(new RegExp(`Worker exiting \\(pid: ${first}\\)`));
  expect((await get(mport, '/metrics')).status).toBe(200);
  await expect(get(moved, '/metrics', { timeoutMs: 2_000 })).rejects.toThrow(/ECONNREFUSED/);
});

test('a health socket left by a master killed with SIGKILL does not block the next start; one in use does', async () => {
  const dir = tmpDir('ldsup-health-');
  const sock = path.join(dir, 'health.sock');
  const args = (port: number) => [APP, '-w', '1', '-b', `127.0.0.1:${port}`, '--health-bind', `unix:${sock}`];
  const first = start(args(await freePort()));
  await first.ready();
  first.killGroup(); // OOM killer, kill -9: nothing removes the socket file
  await first.waitExit();
  expect(fs.statSync(sock).isSocket()).toBe(true);
  const next = start(args(await freePort()));
  await next.ready();
  expect((await get(0, '/healthz', { socketPath: sock })).json()).toEqual({ status: 'ok' });
  // The same path while `next` serves on it: refused, with the address and what it is for.
  const r = await runCli(args(await freePort()));
  expect(r.code).toBe(1);
  expect(r.output).toMatch(new RegExp(`cannot bind unix:${sock.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} for health: EADDRINUSE`));
  expect((await get(0, '/healthz', { socketPath: sock })).status).toBe(200);
});
