/**
 * Issue 3, HUP (spec §4): a rolling, ready-gated reload under a steady load loses no request,
 * replaces every worker, restores the config's worker count (TTIN undone, as gunicorn) and
 * loads the code on disk. A broken config, a deleted config or app code that throws at import
 * keeps the old workers serving and the master up (where gunicorn dies: oracle c3/c4).
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { CI_TIMEOUT, cleanup, freePort, get, isAlive, runCli, start, tmpDir, waitGone } from '../support/ldsup.js';
import { describeLoad, load, stopAllLoads } from '../support/load.js';
import { control, settled, waitOutput, waitUntil } from '../support/proc.js';

jest.setTimeout(150_000);
afterEach(stopAllLoads);
afterEach(cleanup);

const appText = (version: string) =>
  `export default function handler(req, res) {\n  res.writeHead(200, { 'content-type': 'application/json' });\n  res.end(JSON.stringify({ pid: process.pid, version: ${JSON.stringify(version)} }));\n}\n`;

interface Site {
  dir: string;
  port: number;
  pidfile: string;
  cfg: string;
  appFile: string;
  configText: string;
}

async function site(workers: number): Promise<Site> {
  const dir = tmpDir('ldsup-reload-');
  const port = await freePort();
  const pidfile = path.join(dir, 'ldsup.pid');
  const appFile = path.join(dir, 'app.mjs');
  fs.writeFileSync(appFile, appText('v1'));
  const cfg = path.join(dir, 'supervisor.config.mjs');
  const configText = `export default {\n  app: './app.mjs',\n  bind: '127.0.0.1:${port}',\n  workers: ${workers},\n  pidfile: ${JSON.stringify(pidfile)},\n};\n`;
  fs.writeFileSync(cfg, configText);
  return { dir, port, pidfile, cfg, appFile, configText };
}

const pidsOf = async (pidfile: string) => (await control(pidfile, { cmd: 'status' })).workers.map((w) => w.pid).sort();

test('HUP x4 under a steady load: zero failed requests, every worker replaced, count back to the config value, new code served', async () => {
  const s = await site(2);
  const l = start(['-c', s.cfg]);
  await l.ready();
  // TTIN before the first HUP: the reload must bring the count back to the config's 2.
  l.signal('SIGTTIN');
  const three = await settled(s.pidfile, 3);
  expect(three).toHaveLength(3);

  const run = load({ port: s.port, rate: 250, durationMs: 120_000, sockets: 16 });
  const everyPid = new Set<number>(three);
  for (let v = 2; v <= 5; v++) {
    const before = await pidsOf(s.pidfile);
    const answeredBefore = run.answered;
    fs.writeFileSync(s.appFile, appText(`v${v}`));
    l.signal('SIGHUP');
    const after = await settled(s.pidfile, 2, before);
    await Promise.all(before.map((pid) => waitGone(pid, CI_TIMEOUT)));
    for (const pid of after) {
      expect(everyPid.has(pid)).toBe(false); // a new process, never one seen before
      everyPid.add(pid);
    }
    // The new generation runs the code now on disk.
    expect((await get(s.port, '/')).json()).toMatchObject({ version: `v${v}` });
    // The load really ran across this reload.
    await waitOutput(l, /Handling signal: hup/);
    expect(run.answered).toBeGreaterThan(answeredBefore);
  }
  const r = await run.stop();
  expect({ failures: r.failures.length, summary: describeLoad(r) }).toEqual({ failures: 0, summary: expect.any(String) });
  expect(r.answered).toBe(r.sent);
  expect(r.versions).toEqual(expect.arrayContaining(['v1', 'v2', 'v3', 'v4', 'v5']));
  expect(l.output.match(/Hang up: Master/g)).toHaveLength(4);
  expect(isAlive(l.pid)).toBe(true);
  const st = await control(s.pidfile, { cmd: 'status' });
  expect(st.master.workersWanted).toBe(2);
});

test('HUP with a broken, an invalid or a deleted config file: old workers keep serving, the error names file and reason, the master stays up', async () => {
  const s = await site(2);
  const l = start(['-c', s.cfg]);
  await l.ready();
  const pids = await pidsOf(s.pidfile);

  const stillServing = async () => {
    for (let i = 0; i < 6; i++) {
      const r = await get(s.port, '/');
      expect(r.status).toBe(200);
      expect(pids).toContain(r.json<{ pid: number }>().pid);
    }
    expect(await pidsOf(s.pidfile)).toEqual(pids);
    expect(isAlive(l.pid)).toBe(true);
  };

  // 1. A syntax error.
  fs.writeFileSync(s.cfg, 'export default {\n  workers: 2,,\n');
  l.signal('SIGHUP');
  const m1 = await l.waitFor(/\[ERROR\] Reload failed, keeping the running workers: ([^\n]*)/);
  expect(m1[1]).toContain(s.cfg);
  await stillServing();

  // 2. A value of the wrong type, through `ldsup reload`: non-zero exit, the error on stderr.
  fs.writeFileSync(s.cfg, s.configText.replace('workers: 2', "workers: 'many'"));
  const r2 = await runCli(['reload', '-p', s.pidfile]);
  expect(r2.code).not.toBe(0);
  expect(r2.stderr).toMatch(/ldsup: error: .*workers/);
  expect(r2.stderr).toContain(s.cfg);
  await stillServing();

  // 3. The config file deleted.
  fs.rmSync(s.cfg);
  const before = (l.output.match(/Reload failed, keeping the running workers/g) ?? []).length;
  l.signal('SIGHUP');
  await l.waitFor(new RegExp(`(Reload failed, keeping the running workers[^\\n]*\\n[\\s\\S]*){${before + 1}}`));
  const last = [...l.output.matchAll(/Reload failed, keeping the running workers: ([^\n]*)/g)].pop()!;
  expect(last[1]).toContain(s.cfg);
  expect(last[1]).toMatch(/not exist|not found|ENOENT|no such file/i);
  await stillServing();

  // Fixed: a HUP works again, every worker new.
  fs.writeFileSync(s.cfg, s.configText);
  fs.writeFileSync(s.appFile, appText('v2'));
  const ok = await runCli(['reload', '-p', s.pidfile]);
  expect(ok.code).toBe(0);
  const fresh = await pidsOf(s.pidfile);
  expect(fresh).toHaveLength(2);
  for (const pid of fresh) expect(pids).not.toContain(pid);
  expect((await get(s.port, '/')).json()).toMatchObject({ version: 'v2' });
});

test('HUP with app code that throws at import: old workers keep serving, the boot error is logged, `ldsup reload` fails; fixed code reloads', async () => {
  const s = await site(2);
  const l = start(['-c', s.cfg]);
  await l.ready();
  const pids = await pidsOf(s.pidfile);

  fs.writeFileSync(s.appFile, "throw new Error('broken at import v2');\n");
  l.signal('SIGHUP');
  const m = await l.waitFor(/\[ERROR\] Reload failed: new workers cannot boot([^\n]*)/);
  expect(m[1]).toContain('broken at import v2');
  expect(l.output).toMatch(new RegExp(`Exception in worker process: [^\\n]*${s.appFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}[^\\n]*broken at import v2`));
  for (let i = 0; i < 6; i++) {
    const r = await get(s.port, '/');
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ version: 'v1' });
    expect(pids).toContain(r.json<{ pid: number }>().pid);
  }
  expect(await settled(s.pidfile, 2)).toEqual(pids);
  expect(isAlive(l.pid)).toBe(true);
  expect(l.output).not.toContain('Shutting down');

  // The same through `ldsup reload`: a non-zero exit with the reason.
  const r = await runCli(['reload', '-p', s.pidfile]);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(/ldsup: error: .*broken at import v2/);
  expect(await settled(s.pidfile, 2)).toEqual(pids);

  // Fixed: the next reload replaces every worker with the new code.
  fs.writeFileSync(s.appFile, appText('v3'));
  const ok = await runCli(['reload', '-p', s.pidfile]);
  expect(ok.code).toBe(0);
  const fresh = await pidsOf(s.pidfile);
  for (const pid of fresh) expect(pids).not.toContain(pid);
  expect((await get(s.port, '/')).json()).toMatchObject({ version: 'v3' });
});

test('HUP while a request never ends: the old worker is killed at graceful-timeout and `ldsup reload` completes', async () => {
  const s = await site(1);
  fs.writeFileSync(s.appFile, `export default function handler(req, res) {\n  res.writeHead(200, { 'content-type': 'text/plain' });\n  if (req.url === '/hang') return res.write('started\\n');\n  res.end(JSON.stringify({ pid: process.pid }));\n}\n`);
  fs.writeFileSync(s.cfg, s.configText.replace('workers: 1,', 'workers: 1,\n  gracefulTimeout: 2,'));
  const l = start(['-c', s.cfg]);
  await l.ready();
  const [old] = await pidsOf(s.pidfile);
  // A streaming response that never ends, under way in the old worker.
  const hung = await new Promise<http.IncomingMessage>((resolve, reject) => http.get({ port: s.port, host: '127.0.0.1', path: '/hang' }, resolve).on('error', reject));
  hung.on('error', () => {});
  hung.resume();
  const r = await runCli(['reload', '-p', s.pidfile, '--timeout', String(CI_TIMEOUT / 1000)]);
  expect(r.code).toBe(0);
  expect(l.output).toContain(`Worker (pid:${old}) still draining after graceful-timeout (2 s): killing it`);
  await waitGone(old!, CI_TIMEOUT);
  expect(await pidsOf(s.pidfile)).not.toContain(old);
  expect((await get(s.port, '/')).status).toBe(200);
});

test('HUP with app code that never finishes importing: the new worker times out, the reload is abandoned, the old one serves on', async () => {
  const s = await site(1);
  fs.writeFileSync(s.cfg, s.configText.replace('workers: 1,', 'workers: 1,\n  timeout: 2,'));
  const l = start(['-c', s.cfg]);
  await l.ready();
  const pids = await pidsOf(s.pidfile);
  fs.writeFileSync(s.appFile, `await new Promise((r) => setTimeout(r, 1e9));\n${appText('v2')}`);
  l.signal('SIGHUP');
  await l.waitFor(/\[ERROR\] Reload failed: new workers cannot boot \(Worker failed to boot\. it did not finish booting within timeout \(2 s\)\)/);
  expect(l.output).toMatch(/\[CRITICAL\] WORKER TIMEOUT \(pid:\d+\)/);
  expect((await get(s.port, '/')).json()).toMatchObject({ version: 'v1' });
  expect(await settled(s.pidfile, 1)).toEqual(pids);
  expect(isAlive(l.pid)).toBe(true);
});

test('TERM during a reload while a worker dies: the master reaps it, stops at once (not after graceful-timeout) and exits 0', async () => {
  const s = await site(2);
  // onReload holds the reload until the test says go, so the TERM and the worker's exit queue
  // up together behind it: one batch of events for the loop.
  const inReload = path.join(s.dir, 'in-reload');
  const go = path.join(s.dir, 'go');
  fs.writeFileSync(
    s.cfg,
    `import fs from 'node:fs';\n` +
      s.configText.replace(
        'workers: 2,',
        `workers: 2,\n  gracefulTimeout: 120,\n  async onReload() {\n    fs.writeFileSync(${JSON.stringify(inReload)}, '');\n    while (!fs.existsSync(${JSON.stringify(go)})) await new Promise((r) => setTimeout(r, 20));\n  },`,
      ),
  );
  const l = start(['-c', s.cfg]);
  await l.ready();
  const [victim, other] = await pidsOf(s.pidfile);
  l.signal('SIGHUP');
  await waitUntil('onReload to run', () => fs.existsSync(inReload));
  l.signal('SIGTERM');
  process.kill(victim!, 'SIGKILL');
  await waitGone(victim!, CI_TIMEOUT);
  fs.writeFileSync(go, '');
  // gracefulTimeout is 120 s: a master waiting for the dead worker would still be up.
  expect(await l.waitExit(CI_TIMEOUT)).toEqual({ code: 0, signal: null });
  expect(l.output).toContain(`Worker (pid:${victim}) was sent SIGKILL!`);
  await waitGone(other!, CI_TIMEOUT);
  expect(fs.existsSync(s.pidfile)).toBe(false);
});

test('HUP with chdir in the config and a relative --config: the config is found again', async () => {
  const s = await site(1);
  fs.mkdirSync(path.join(s.dir, 'elsewhere'));
  fs.writeFileSync(s.cfg, s.configText.replace('workers: 1,', "workers: 1,\n  chdir: './elsewhere',"));
  const l = start(['-c', path.basename(s.cfg)], { cwd: s.dir });
  await l.ready();
  fs.writeFileSync(s.cfg, s.configText.replace('workers: 1,', "workers: 2,\n  chdir: './elsewhere',"));
  l.signal('SIGHUP');
  expect(await settled(s.pidfile, 2)).toHaveLength(2);
  expect(l.output).not.toContain('Reload failed');
});

test('HUP after the pidfile directory was removed: the reload completes, the error is logged, the server serves on', async () => {
  const s = await site(1);
  const pidfile = path.join(s.dir, 'run', 'ldsup.pid');
  fs.mkdirSync(path.dirname(pidfile));
  fs.writeFileSync(s.cfg, s.configText.replace(JSON.stringify(s.pidfile), JSON.stringify(pidfile)));
  const l = start(['-c', s.cfg]);
  await l.ready();
  const [old] = l.bootedWorkers();
  fs.rmSync(path.dirname(pidfile), { recursive: true });
  l.signal('SIGHUP');
  await l.waitFor(/\[ERROR\] Cannot rewrite the pidfile after the reload: .*run doesn't exist/);
  await waitGone(old!, CI_TIMEOUT);
  expect((await get(s.port, '/')).status).toBe(200);
  expect(isAlive(l.pid)).toBe(true);
  expect(l.output).not.toContain('Unhandled exception');
});

test('HUP with another pidfile in the config: the master moves to it and its control socket with it (old ones removed), as gunicorn; ldsup status and stop -c find it', async () => {
  const s = await site(1);
  const moved = path.join(s.dir, 'run', 'ldsup.pid');
  fs.mkdirSync(path.dirname(moved));
  const l = start(['-c', s.cfg]);
  await l.ready();
  expect(fs.readFileSync(s.pidfile, 'utf8')).toBe(`${l.pid}\n`);
  fs.writeFileSync(s.cfg, s.configText.replace(JSON.stringify(s.pidfile), JSON.stringify(moved)));
  l.signal('SIGHUP');
  // The pidfile is handled before the new generation is started.
  await waitUntil(`a worker of the new generation; output:\n${l.output}`, () => l.bootedWorkers().length === 2);
  expect(fs.readFileSync(moved, 'utf8')).toBe(`${l.pid}\n`);
  expect(fs.existsSync(s.pidfile)).toBe(false);
  expect(fs.existsSync(`${s.pidfile}.sock`)).toBe(false);
  expect((await control(moved, { cmd: 'status' })).master.pid).toBe(l.pid);
  const status = await runCli(['status', '-c', s.cfg, '--json']);
  expect(status.code).toBe(0);
  expect(JSON.parse(status.stdout).master.pid).toBe(l.pid);
  const stop = await runCli(['stop', '-c', s.cfg]);
  expect(stop.code).toBe(0);
  expect(await l.waitExit()).toEqual({ code: 0, signal: null });
  expect(fs.existsSync(moved)).toBe(false);
  expect(fs.existsSync(`${moved}.sock`)).toBe(false);
});

test('HUP with a new pidfile that cannot be written (no such directory): logged, the master keeps its pidfile and control socket', async () => {
  const s = await site(1);
  const l = start(['-c', s.cfg]);
  await l.ready();
  const nowhere = path.join(s.dir, 'missing', 'ldsup.pid');
  fs.writeFileSync(s.cfg, s.configText.replace(JSON.stringify(s.pidfile), JSON.stringify(nowhere)));
  l.signal('SIGHUP');
  await l.waitFor(/\[ERROR\] Cannot move the pidfile to .*missing\/ldsup\.pid after the reload: .*doesn't exist.*; it stays at /);
  expect(fs.readFileSync(s.pidfile, 'utf8')).toBe(`${l.pid}\n`);
  expect((await control(s.pidfile, { cmd: 'status' })).master.pid).toBe(l.pid);
  expect(await settled(s.pidfile, 1, l.bootedWorkers().slice(0, 1))).toHaveLength(1);
  l.signal('SIGTERM');
  expect(await l.waitExit()).toEqual({ code: 0, signal: null });
  expect(fs.existsSync(s.pidfile)).toBe(false);
});

test('HUP with the pidfile taken out of the config: the pidfile and the control socket are removed, the server serves on', async () => {
  const s = await site(1);
  const l = start(['-c', s.cfg]);
  await l.ready();
  fs.writeFileSync(s.cfg, s.configText.replace(`  pidfile: ${JSON.stringify(s.pidfile)},\n`, ''));
  l.signal('SIGHUP');
  await waitUntil(`a worker of the new generation; output:\n${l.output}`, () => l.bootedWorkers().length === 2);
  expect(fs.existsSync(s.pidfile)).toBe(false);
  expect(fs.existsSync(`${s.pidfile}.sock`)).toBe(false);
  expect((await get(s.port, '/')).status).toBe(200);
  l.signal('SIGTERM');
  expect(await l.waitExit()).toEqual({ code: 0, signal: null });
});

// A TypeScript config is loaded by Node's own type stripping where Node has it (>= 22.18), else
// by jiti: either way the master and the workers (which run the config's hooks) see its edits.
test('HUP with an edited TypeScript config: the new values and the new hook apply', async () => {
  const s = await site(1);
  const cfg = path.join(s.dir, 'supervisor.config.ts');
  const tsConfig = (workers: number, tag: string) =>
    `type Ctx = { pid: number; log: { info(msg: string): void } };\n` +
    `const workers: number = ${workers};\n` +
    `export default {\n  app: './app.mjs',\n  bind: '127.0.0.1:${s.port}',\n  workers,\n  pidfile: ${JSON.stringify(s.pidfile)},\n` +
    `  postFork(ctx: Ctx): void {\n    ctx.log.info(\`postFork ${tag} \${ctx.pid}\`);\n  },\n};\n`;
  fs.writeFileSync(cfg, tsConfig(1, 'first'));
  const l = start(['-c', cfg]);
  await l.ready();
  const [first] = await pidsOf(s.pidfile);
  await l.waitFor(new RegExp(`postFork first ${first}`));

  fs.writeFileSync(cfg, tsConfig(2, 'second'));
  l.signal('SIGHUP');
  const fresh = await settled(s.pidfile, 2, [first!]);
  expect(fresh).toHaveLength(2);
  for (const pid of fresh) await l.waitFor(new RegExp(`postFork second ${pid}`));
  // The first config's hook ran once, in the first worker, and never again.
  expect(l.output.match(/postFork first/g)).toHaveLength(1);
});
