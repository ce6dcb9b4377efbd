// Zero-downtime: a steady open-loop load (loadgen.mjs) while the supervisor does rolling reloads
// one after another; every request without a 200 counts, attributed to the reload it fell in.
//   ldsup: kill -HUP master (app does nothing on shutdown: ldsup drains)
//   pm2:   `pm2 reload bench` (app "typical": server.close(() => exit) on SIGINT)
//   cluster: hand-rolled HUP reload in apps/cluster.mjs (app "typical" on SIGTERM)
import { spawn } from 'node:child_process';
import path from 'node:path';
import { startConfig, waitServing, freshPort, BENCH } from './lib/configs.mjs';
import { sleep, stat, track, untrack } from './lib/proc.mjs';
import { median } from './lib/stats.mjs';

export const RELOAD_CONFIGS = [
  { id: 'ldsup', name: 'ldsup', shutdown: 'none', label: 'ldsup HUP (app: nothing on shutdown)' },
  { id: 'pm2', name: 'pm2', shutdown: 'typical', label: 'pm2 reload (app: typical server.close)' },
  { id: 'cluster', name: 'rr', shutdown: 'typical', label: 'node:cluster hand-rolled HUP (app: typical server.close)' },
];

function startLoad(port, rate, maxS) {
  const p = spawn(process.execPath, [path.join(BENCH, 'loadgen.mjs'), `http://127.0.0.1:${port}/`, String(rate), String(maxS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  track(p.pid);
  p.on('exit', () => untrack(p.pid));
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  // 'close', not 'exit': stdout may still hold data when the process has exited.
  const result = new Promise((r) => p.on('close', () => { try { r(JSON.parse(out)); } catch { r(null); } }));
  return { pid: p.pid, result, stop: () => { try { p.kill('SIGINT'); } catch {} } };
}

async function waitReplaced(h, old, workers, timeoutMs) {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    const ws = h.roles().workers.filter((p) => stat(p)?.state !== 'Z');
    if (!old.some((p) => ws.includes(p)) && ws.length >= workers) return true;
    await sleep(10);
  }
  return false;
}

export async function reloadRun(cfg, { reloads, rate = 2000, gapMs = 1000, logDir }) {
  const port = freshPort();
  const h = await startConfig(cfg.name, { app: 'json', port, shutdown: cfg.shutdown, logDir });
  let load = null;
  try {
    const w = await waitServing(port, 2);
    if (!Number.isFinite(w.allMs)) throw new Error(`${cfg.id} did not serve`);
    load = startLoad(port, rate, 30 + reloads * 15);
    await sleep(2000);
    const marks = [];
    for (let i = 0; i < reloads; i++) {
      const old = h.roles().workers;
      const t = Date.now();
      if (cfg.name === 'pm2') await h.reload();
      else process.kill(h.child.pid, 'SIGHUP');
      const replaced = await waitReplaced(h, old, 2, 30000);
      marks.push({ t, tookMs: Date.now() - t, replaced });
      await sleep(gapMs);
    }
    load.stop();
    const r = await load.result;
    load = null;
    if (!r) throw new Error(`${cfg.id}: the load generator gave no result`);
    const per = marks.map((m, i) => r.failures.filter((f) => f.t >= m.t && (i + 1 >= marks.length || f.t < marks[i + 1].t)).length);
    const before = r.failures.filter((f) => f.t < marks[0].t).length;
    return {
      id: cfg.id, label: cfg.label, reloads, rate, sent: r.sent, ok: r.ok, failed: r.failed, unfinished: r.unfinished, kinds: r.kinds,
      perReload: per, medianPerReload: median(per), failedBeforeFirstReload: before, reloadMs: marks.map((m) => m.tookMs),
      medianReloadMs: median(marks.map((m) => m.tookMs)), allReplaced: marks.every((m) => m.replaced), p50: r.p50, p99: r.p99, max: r.max, loadgenCpuS: r.cpuS,
    };
  } finally {
    if (load) { load.stop(); await Promise.race([load.result, sleep(5000)]); try { process.kill(load.pid, 'SIGKILL'); } catch {} }
    await h.stop();
  }
}
