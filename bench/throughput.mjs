// Throughput runs: one config × app × mode under wrk, with CPU/RSS of every process and the
// machine's foreign CPU during the measured window.
import fs from 'node:fs';
import { baseConfig, startConfig, waitServing, freshPort } from './lib/configs.mjs';
import { connectionsOn, machine, sample, sleep } from './lib/proc.mjs';
import { runWrk } from './lib/wrk.mjs';

const PATHS = { json: '/', cpu: '/', flag: '/flag' };

/** Waits until the config serves with all its workers (example app: first 200 + ldsup's "Ready:"). */
export async function waitReady(h, { name, app, port, workers, log }) {
  name = baseConfig(name);
  if (name.startsWith('ldsup') && app === 'flag') {
    const first = await waitServing(port, 1, { path: '/' });
    const t0 = Date.now();
    while (Date.now() - t0 < 20000 && !(log && fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('Ready:'))) await sleep(20);
    return first;
  }
  return waitServing(port, name === 'plain' ? 1 : workers);
}

export async function throughputRun({ name, app, close, warm, seconds, workers = 2, logDir, env }) {
  const port = freshPort();
  const log = `${logDir}/${name}-${app}-${port}.log`;
  const h = await startConfig(name, { app, port, workers, env, logDir });
  try {
    const w = await waitReady(h, { name, app, port, workers, log });
    if (!Number.isFinite(w.firstMs)) throw new Error(`${name}/${app} did not serve (see ${log})`);
    const url = `http://127.0.0.1:${port}${PATHS[app]}`;
    if (warm > 0) await runWrk({ url, seconds: warm, close });
    const roles = h.roles();
    const pids = [roles.supervisor, ...roles.workers].filter(Boolean);
    const m0 = machine();
    const s0 = sample(pids);
    // With keep-alive, how wrk's connections are spread over the workers, half-way through.
    const running = runWrk({ url, seconds, close });
    let conns = null;
    if (!close && roles.workers.length > 1) {
      await sleep((seconds * 1000) / 2);
      conns = connectionsOn(port, roles.workers);
    }
    const r = await running;
    const s1 = sample(pids);
    const m1 = machine();
    const cpu = (p) => s1[p].cpu - s0[p].cpu;
    const supCpu = roles.supervisor ? cpu(roles.supervisor) : 0;
    const wCpu = roles.workers.map(cpu);
    const serverCpu = supCpu + wCpu.reduce((a, b) => a + b, 0);
    const wall = (m1.total - m0.total) / 2; // 2 vCPU: total jiffies / cores ≈ wall seconds
    const busy = m1.busy - m0.busy;
    const foreign = Math.max(0, busy - serverCpu - r.wrkCpu);
    return {
      name, app, mode: close ? 'close' : 'keepalive', port,
      rps: r.rps, requests: r.requests, p50: r.p50, p99: r.p99, errors: r.errors,
      supervisorCpuS: supCpu, workerCpuS: wCpu, workerConns: conns, serverCpuS: serverCpu, wrkCpuS: r.wrkCpu,
      serverUsPerReq: (serverCpu / r.requests) * 1e6, supervisorUsPerReq: (supCpu / r.requests) * 1e6, wrkUsPerReq: (r.wrkCpu / r.requests) * 1e6,
      supervisorRssMB: roles.supervisor ? s1[roles.supervisor].rss : null, workerRssMB: roles.workers.map((p) => s1[p].rss),
      oursPct: ((serverCpu + r.wrkCpu) / (2 * wall)) * 100, foreignPct: (foreign / (2 * wall)) * 100, foreignCpuS: foreign,
      loadavg: m1.loadavg,
    };
  } finally {
    await h.stop();
  }
}
