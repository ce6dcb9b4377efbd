/**
 * LaunchDarkly across processes, through the real CLI against a local LaunchDarkly-protocol
 * service: one upstream connection per host, workers initialised before their first request,
 * live updates in every worker, outages, offline file, and the key never printed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FakeLaunchDarkly, DEFAULT_FAKE_KEY } from '../support/fake-ld.js';
import { CI_TIMEOUT, FIXTURES, cleanup, everyWorker, freePort, get, runCli, start, tmpDir, writeConfig, type Ldsup } from '../support/ldsup.js';
import { waitFor } from '../support/wait.js';

const APP = path.join(FIXTURES, 'apps', 'factory.ts');
let fake: FakeLaunchDarkly | null = null;

afterEach(async () => {
  cleanup();
  await fake?.stop();
  fake = null;
});

type Reply = { pid: number; flag: unknown; initialized: boolean };

async function startFake(): Promise<FakeLaunchDarkly> {
  fake = new FakeLaunchDarkly({ sdkKey: DEFAULT_FAKE_KEY, heartbeatMs: 1000 });
  await fake.start();
  fake.setFlag('sample-flag', 'v1');
  return fake;
}

const ldEnv = (f: FakeLaunchDarkly, key = DEFAULT_FAKE_KEY) => ({
  LAUNCHDARKLY_SDK_KEY: key,
  LAUNCHDARKLY_STREAM_URI: f.url,
  LAUNCHDARKLY_BASE_URI: f.url,
  LAUNCHDARKLY_EVENTS_URI: f.url,
});

const allWorkers = (port: number, pids: number[], ok: (r: Reply) => boolean, timeoutMs = CI_TIMEOUT) => everyWorker<Reply>(port, pids, ok, timeoutMs);

function expectNoKey(l: Ldsup, key = DEFAULT_FAKE_KEY): void {
  expect(l.output).not.toContain(key);
}

test.each([1, 4, 8])('relay mode with %i workers: one upstream connection; every worker initialised before its first request', async (n) => {
  const f = await startFake();
  const port = await freePort();
  const l = start([APP, '-w', String(n), '-b', `127.0.0.1:${port}`], { env: ldEnv(f) });
  await l.ready(60_000);
  const pids = l.bootedWorkers();
  expect(pids).toHaveLength(n);
  // The very first answer of each worker already has the data (no per-worker network wait).
  await allWorkers(port, pids, (r) => r.initialized && r.flag === 'v1');
  expect(f.streamConnections).toBe(1);
  expect(f.totalStreamConnections).toBe(1);
  // Live update: a patch reaches every worker.
  f.setFlag('sample-flag', 'v2');
  await allWorkers(port, pids, (r) => r.flag === 'v2');
  expect(f.streamConnections).toBe(1);
  expectNoKey(l);
}, 120_000);

test('direct mode: each worker keeps its own stream (N+1 connections) and still starts with the data', async () => {
  const f = await startFake();
  const dir = tmpDir();
  const port = await freePort();
  const cfg = writeConfig(dir, 'supervisor.config.mjs', `export default { app: ${JSON.stringify(APP)}, workers: 3, bind: '127.0.0.1:${port}', launchdarkly: { mode: 'direct' } };\n`);
  const l = start(['-c', cfg], { env: ldEnv(f) });
  await l.ready();
  const pids = l.bootedWorkers();
  await allWorkers(port, pids, (r) => r.initialized && r.flag === 'v1');
  await waitFor(() => f.streamConnections === 4, CI_TIMEOUT, '4 stream connections');
  f.setFlag('sample-flag', 'direct-2');
  await allWorkers(port, pids, (r) => r.flag === 'direct-2');
  expectNoKey(l);
});

test('a rejected key (401) at start: one clear line, exit 1, no worker, the key never printed', async () => {
  const f = await startFake();
  const badKey = 'sdk-wrong-key-ffffffff';
  const port = await freePort();
  const r = await runCli([APP, '-b', `127.0.0.1:${port}`], { env: ldEnv(f, badKey) });
  expect(r.code).toBe(1);
  const errors = r.output.split('\n').filter((line) => line.startsWith('ldsup: error:'));
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(/401|rejected|Authentication/i);
  expect(r.output).not.toContain('Booting worker');
  expect(r.output).not.toContain(badKey);
});

test('LaunchDarkly down at start: workers start with defaults, then get the data without a restart', async () => {
  const f = await startFake();
  f.failWith(503);
  const dir = tmpDir();
  const port = await freePort();
  const cfg = writeConfig(dir, 'supervisor.config.mjs', `export default { app: ${JSON.stringify(APP)}, workers: 2, bind: '127.0.0.1:${port}', launchdarkly: { startWait: 1 } };\n`);
  const l = start(['-c', cfg], { env: ldEnv(f) });
  await l.ready();
  expect(l.output).toMatch(/No flag data from LaunchDarkly after 1 s/);
  const pids = l.bootedWorkers();
  await allWorkers(port, pids, (r) => !r.initialized && r.flag === 'default');
  f.failWith(null);
  await allWorkers(port, pids, (r) => r.initialized && r.flag === 'v1', 60_000);
  expect(l.bootedWorkers()).toEqual(pids); // no restart
  expectNoKey(l);
}, 90_000);

test('stream dropped: workers keep serving the last data, the master reconnects and changes made meanwhile arrive', async () => {
  const f = await startFake();
  const port = await freePort();
  const l = start([APP, '-w', '2', '-b', `127.0.0.1:${port}`], { env: ldEnv(f) });
  await l.ready();
  const pids = l.bootedWorkers();
  await allWorkers(port, pids, (r) => r.flag === 'v1');
  f.failWith(503);
  f.dropStreams();
  f.setFlag('sample-flag', 'while-down'); // nobody is connected to get this patch
  await allWorkers(port, pids, (r) => r.initialized && r.flag === 'v1'); // last good data meanwhile
  f.failWith(null);
  await allWorkers(port, pids, (r) => r.flag === 'while-down', 60_000); // the reconnect put
  expect(f.streamConnections).toBe(1);
  expectNoKey(l);
}, 90_000);

test('a key rejected mid-run: a worker started after that is told too, and serves the last flags', async () => {
  const f = await startFake();
  const port = await freePort();
  const l = start([APP, '-w', '1', '-b', `127.0.0.1:${port}`], { env: ldEnv(f) });
  await l.ready();
  await allWorkers(port, l.bootedWorkers(), (r) => r.initialized && r.flag === 'v1');
  f.failWith(401);
  f.dropStreams();
  const [first] = l.bootedWorkers();
  await l.waitFor(new RegExp(`\\[${first}\\] [^\\n]*the ldsup master reports the SDK key was rejected \\(HTTP 401\\)`));
  l.signal('SIGTTIN');
  await waitFor(() => l.bootedWorkers().length === 2, CI_TIMEOUT, 'the TTIN worker');
  const fresh = l.bootedWorkers()[1]!;
  await l.waitFor(new RegExp(`\\[${fresh}\\] [^\\n]*the ldsup master reports the SDK key was rejected \\(HTTP 401\\)`));
  await allWorkers(port, [fresh], (r) => r.initialized && r.flag === 'v1');
  expectNoKey(l);
});

const OWN_CLIENT = path.join(FIXTURES, 'apps', 'own-client.mjs');
type OwnReply = Reply & { initializedAtInit: boolean };

test("an app's own client (init(ldSdkKey(), ldOptions()) from 'ldsup') starts from the master's data and follows it, on no stream of its own", async () => {
  const f = await startFake();
  const port = await freePort();
  const l = start([OWN_CLIENT, '-w', '2', '-b', `127.0.0.1:${port}`], { env: ldEnv(f) });
  await l.ready();
  const pids = l.bootedWorkers();
  await everyWorker<OwnReply>(port, pids, (r) => r.initializedAtInit && r.initialized && r.flag === 'v1');
  f.setFlag('sample-flag', 'v2');
  await everyWorker<OwnReply>(port, pids, (r) => r.flag === 'v2');
  expect(f.totalStreamConnections).toBe(1); // the master's: the apps' clients are fed over IPC
  expectNoKey(l);
});

test("offline: an app's own client gets the flags file's values, and its edits", async () => {
  const dir = tmpDir();
  const flags = path.join(dir, 'flags.json');
  fs.writeFileSync(flags, JSON.stringify({ flagValues: { 'sample-flag': 'from-file' } }));
  const port = await freePort();
  const cfg = writeConfig(dir, 'supervisor.config.mjs', `export default { app: ${JSON.stringify(OWN_CLIENT)}, workers: 2, bind: '127.0.0.1:${port}', launchdarkly: { flagsFile: './flags.json' } };\n`);
  const l = start(['-c', cfg]);
  await l.ready();
  const pids = l.bootedWorkers();
  await everyWorker<OwnReply>(port, pids, (r) => r.initializedAtInit && r.flag === 'from-file');
  fs.writeFileSync(flags, JSON.stringify({ flagValues: { 'sample-flag': 'edited' } }));
  await everyWorker<OwnReply>(port, pids, (r) => r.flag === 'edited');
});

test('a worker started mid-run (after a crash) starts with the current flags', async () => {
  const f = await startFake();
  const port = await freePort();
  const l = start([APP, '-w', '2', '-b', `127.0.0.1:${port}`], { env: ldEnv(f) });
  await l.ready();
  f.setFlag('sample-flag', 'current');
  await allWorkers(port, l.bootedWorkers(), (r) => r.flag === 'current');
  const [victim] = l.bootedWorkers();
  process.kill(victim!, 'SIGKILL');
  await waitFor(() => l.bootedWorkers().length === 3, CI_TIMEOUT, 'a replacement worker');
  const fresh = l.bootedWorkers()[2]!;
  await allWorkers(port, [fresh], (r) => r.initialized && r.flag === 'current');
});

test('offline: flags file edits reach every worker, atomic saves included, and a broken file keeps the last good flags', async () => {
  const dir = tmpDir();
  const flags = path.join(dir, 'flags.json');
  const write = (v: unknown) => fs.writeFileSync(flags, JSON.stringify({ flagValues: { 'sample-flag': v } }));
  const atomic = (v: unknown) => {
    fs.writeFileSync(flags + '.tmp', JSON.stringify({ flagValues: { 'sample-flag': v } }));
    fs.renameSync(flags + '.tmp', flags);
  };
  write('a');
  const port = await freePort();
  const cfg = writeConfig(dir, 'supervisor.config.mjs', `export default { app: ${JSON.stringify(APP)}, workers: 2, bind: '127.0.0.1:${port}', launchdarkly: { flagsFile: './flags.json' } };\n`);
  const l = start(['-c', cfg]);
  await l.ready();
  const pids = l.bootedWorkers();
  await allWorkers(port, pids, (r) => r.initialized && r.flag === 'a');
  write('b');
  await allWorkers(port, pids, (r) => r.flag === 'b');
  for (const v of ['c', 'd', 'e']) {
    atomic(v); // editors save this way; the SDK's own file watcher misses all but the first
    await allWorkers(port, pids, (r) => r.flag === v);
  }
  fs.writeFileSync(flags, '{ "flagValues": { "sample-flag": ');
  await l.waitFor(new RegExp(`${flags.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*(JSON|parse|Unexpected)`, 'i'));
  await allWorkers(port, pids, (r) => r.flag === 'e');
  write('f');
  await allWorkers(port, pids, (r) => r.flag === 'f');
});

test('HUP with another flags file in the config: a warning, and the new workers keep the source the master serves', async () => {
  const dir = tmpDir();
  for (const [name, v] of [['one.json', 'one'], ['two.json', 'two']]) fs.writeFileSync(path.join(dir, name!), JSON.stringify({ flagValues: { 'sample-flag': v } }));
  const port = await freePort();
  const text = (file: string) => `export default { app: ${JSON.stringify(APP)}, workers: 1, bind: '127.0.0.1:${port}', launchdarkly: { flagsFile: './${file}' } };\n`;
  const cfg = writeConfig(dir, 'supervisor.config.mjs', text('one.json'));
  const l = start(['-c', cfg]);
  await l.ready();
  const [old] = l.bootedWorkers();
  await allWorkers(port, [old!], (r) => r.initialized && r.flag === 'one');
  writeConfig(dir, 'supervisor.config.mjs', text('two.json'));
  l.signal('SIGHUP');
  await l.waitFor(/\[WARNING\] Reload: launchdarkly changed; HUP keeps the current settings/);
  const fresh = await waitForNewWorker(l, old!);
  await allWorkers(port, [fresh], (r) => r.initialized && r.flag === 'one');
  // The file the master watches is still the first one.
  fs.writeFileSync(path.join(dir, 'one.json'), JSON.stringify({ flagValues: { 'sample-flag': 'one-b' } }));
  await allWorkers(port, [fresh], (r) => r.flag === 'one-b');
});

async function waitForNewWorker(l: Ldsup, old: number): Promise<number> {
  let fresh = 0;
  await waitFor(() => (fresh = l.bootedWorkers().find((p) => p !== old) ?? 0) > 0, CI_TIMEOUT, 'a new worker');
  return fresh;
}

test("a worker's analytics events are flushed before it exits (TERM)", async () => {
  const f = await startFake();
  const port = await freePort();
  const l = start([APP, '-w', '1', '-b', `127.0.0.1:${port}`], { env: ldEnv(f) });
  await l.ready();
  for (let i = 0; i < 3; i++) expect((await get(port, '/')).json<Reply>().flag).toBe('v1');
  const before = JSON.stringify(f.events).match(/"summary"/g)?.length ?? 0;
  l.signal('SIGTERM');
  await l.waitExit();
  // The summary of the evaluations reached the events endpoint on the way out (flush, then close).
  const summaries = JSON.stringify(f.events).match(/"summary"/g)?.length ?? 0;
  expect(summaries).toBeGreaterThan(before);
  expect(JSON.stringify(f.events)).toContain('sample-flag');
  expectNoKey(l);
});
