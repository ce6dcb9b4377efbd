// The server configurations under test: how to start each, which pids play which role, how to end it.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { launch, endTree, endPids, tree, stat, sleep } from './proc.mjs';

export const BENCH = path.dirname(new URL('..', import.meta.url).pathname + 'x');
export const ROOT = path.dirname(BENCH);
const APPS = path.join(BENCH, 'apps');
const PM2 = path.join(BENCH, 'node_modules', 'pm2', 'bin', 'pm2');
export const hasPm2 = () => fs.existsSync(PM2);
/** `listen({ reusePort })` exists from Node 22.12 / 23.1; older Nodes ignore the option silently. */
export const hasReusePort = (() => {
  const [maj, min] = process.versions.node.split('.').map(Number);
  return maj > 23 || (maj === 23 && min >= 1) || (maj === 22 && min >= 12);
})();
/**
 * `name@N` runs config `name` again as a separate entry: an A/A control, whose ratio to `name`
 * in the same rounds shows how far two runs of the same thing read apart on this machine.
 */
export const baseConfig = (name) => name.split('@')[0];
/** Why this Node cannot run config `name`, or null. */
export const unsupported = (name) =>
  baseConfig(name) === 'reuseport' && !hasReusePort ? `config reuseport needs Node >= 22.12 (listen's reusePort option); this is ${process.version}, which would silently run round-robin` : null;

// Below the ephemeral range (32768+), where TIME_WAIT sockets of Connection: close runs would collide.
let nextPort = 12000 + (process.pid % 1000) * 20;
export const freshPort = () => nextPort++;

/** GET url on a new connection; resolves { status, body } or null on any error (bounded). */
export function probe(url, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

/**
 * Polls GET /pid every ~1 ms (new connection each time) from `t0` (hrtime ms) until `workers`
 * distinct pids have answered. Returns { firstMs, allMs, pids } (NaN if not reached in time).
 */
export async function waitServing(port, workers, { t0 = performance.now(), timeoutMs = 20000, path = '/pid' } = {}) {
  const seen = new Set();
  let firstMs = NaN;
  const url = `http://127.0.0.1:${port}${path}`;
  while (performance.now() - t0 < timeoutMs) {
    const r = await probe(url, 500);
    if (r && r.status === 200) {
      if (Number.isNaN(firstMs)) firstMs = performance.now() - t0;
      seen.add(path === '/pid' ? JSON.parse(r.body).pid : 0);
      if (seen.size >= workers) return { firstMs, allMs: performance.now() - t0, pids: [...seen] };
    } else await sleep(1);
  }
  return { firstMs, allMs: NaN, pids: [...seen] };
}

function pm2Env(home, extra) {
  return { PM2_HOME: home, PM2_DISABLE_VERSION_CHECK: 'true', PM2_SILENT: 'true', ...extra };
}
export function pm2Cli(home, args, env = {}, timeoutMs = 30000) {
  return new Promise((resolve) => {
    execFile(process.execPath, [PM2, ...args], { env: { ...process.env, ...pm2Env(home, env) }, timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) =>
      resolve({ ok: !err, out: `${stdout}${stderr}` }),
    );
  });
}
const readPid = (f) => { try { return +fs.readFileSync(f, 'utf8').trim(); } catch { return NaN; } };

/**
 * Starts one configuration. Returns a handle:
 *   roles(): { supervisor: pid|null, workers: pid[] }   (live, from /proc)
 *   stop(): ends every process by pid.
 */
// ldsupApp: the app file ldsup serves (bench/apps/), ldsup-app.mjs unless a tool needs another.
export async function startConfig(config, { app = 'json', port, workers = 2, env = {}, preload = false, logDir, shutdown = 'none', ldsupApp = 'ldsup-app.mjs' }) {
  const appEnv = { PORT: String(port), BENCH_APP: app, BENCH_SHUTDOWN: shutdown, ...env };
  const log = logDir ? path.join(logDir, `${config}-${app}-${port}.log`) : undefined;
  const name = baseConfig(config);
  if (name === 'plain') {
    const child = launch(process.execPath, [path.join(APPS, 'plain.mjs')], { env: appEnv, log });
    return { name, child, roles: () => ({ supervisor: null, workers: [child.pid] }), stop: () => endTree(child) };
  }
  if (unsupported(name)) throw new Error(unsupported(name));
  if (name === 'rr' || name === 'none' || name === 'reuseport') {
    const child = launch(process.execPath, [path.join(APPS, 'cluster.mjs')], { env: { ...appEnv, SCHED: name, WORKERS: String(workers) }, log });
    return { name, child, roles: () => ({ supervisor: child.pid, workers: tree(child.pid).slice(1) }), stop: () => endTree(child) };
  }
  if (name === 'ldsup' || name === 'ldsup-nobal') {
    const LD = process.env.BENCH_LDSUP_DIR || ROOT; // a frozen snapshot (run.mjs) or the work tree
    // The same handler code as the peers (handlers.mjs); LaunchDarkly configured only for the flag app.
    const config = path.join(APPS, app === 'flag' ? 'ldsup-flags.config.mjs' : 'ldsup.config.mjs');
    const bin = ['ldsup.cjs', 'ldsup.js'].map((f) => path.join(LD, 'bin', f)).find((f) => fs.existsSync(f)); // .js before 2026-11-24
    const args = [bin, '-c', config, path.join(APPS, ldsupApp), '-w', String(workers), '-b', `127.0.0.1:${port}`];
    if (preload) args.push('--preload');
    // ldsup's other balancing model: the shared socket alone, as the kernel hands out connections.
    if (name === 'ldsup-nobal') args.push('--keep-alive-balance', 'false');
    const child = launch(process.execPath, args, { env: appEnv, cwd: LD, log });
    return { name, child, roles: () => ({ supervisor: child.pid, workers: tree(child.pid).slice(1) }), stop: () => endTree(child, 5000) };
  }
  if (name === 'pm2') {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ldsup-bench-pm2-'));
    const env2 = { ...appEnv };
    const started = pm2Cli(home, ['start', path.join(APPS, 'pm2-app.cjs'), '-i', String(workers), '--name', 'bench'], env2);
    const daemon = () => readPid(path.join(home, 'pm2.pid'));
    const handle = {
      name, home, started,
      roles: () => { const d = daemon(); return { supervisor: d || null, workers: d ? tree(d).slice(1) : [] }; },
      reload: () => pm2Cli(home, ['reload', 'bench'], env2, 60000),
      stop: async () => {
        await started;
        const d = daemon();
        const pids = d ? tree(d) : [];
        await pm2Cli(home, ['kill'], {}, 10000);
        await endPids(pids.filter((p) => stat(p)));
        fs.rmSync(home, { recursive: true, force: true });
      },
    };
    return handle;
  }
  throw new Error(`unknown config ${name}`);
}
