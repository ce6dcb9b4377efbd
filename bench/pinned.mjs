// CPU per request of ONE server process, pinned: the server (and its workers) on core 0, wrk on
// core 1, so that neither takes CPU from the other. Reports the CPU time the server's worker spent
// during the measured window (every thread's /proc/<pid>/task/<tid>/schedstat, in ns), divided by
// the requests served: a per-request cost that other tenants' load disturbs far less than req/s.
//
// Configurations, started afresh in every round (interleaved, order alternating):
//   plain   one `http.createServer` process (bench/apps/plain.mjs);
//   ldsup   ldsup -w 1 (the worker's CPU; the idle master is not counted);
//   inner   ldsup -w 1 whose app serves the same handler from its own plain `http.createServer`
//           on another port (bench/apps/inner-app.mjs): Node's request path inside an ldsup
//           worker process, to tell ldsup's request path from the worker's environment.
// A fresh process per round matters: the same server code read up to ±5 % apart from one process
// instance to the next (address-space layout), more than most differences worth measuring, so
// a figure needs many instances. The ratio to the first configuration is the median of per-round
// ratios, with a 95 % bootstrap interval.
//
// Usage: node bench/pinned.mjs [--app json|cpu|flag] [--close] [--rounds 20] [--seconds 2] [--configs plain,ldsup,inner]
// Every process is ended by pid. Not part of `npm run bench` (it needs `taskset`).
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startConfig, waitServing, freshPort, BENCH } from './lib/configs.mjs';
import { endStartedOnExit, tree, sleep } from './lib/proc.mjs';
import { fmt, median } from './lib/stats.mjs';

const argv = process.argv.slice(2);
const opt = (name, def) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : def);
const app = opt('app', 'json');
const close = argv.includes('--close');
const rounds = Number(opt('rounds', 20));
const seconds = Number(opt('seconds', 2));
const configs = opt('configs', 'plain,ldsup,inner').split(',');
endStartedOnExit();
if (app === 'cpu' && !process.env.BENCH_CPU_ITERS) {
  process.env.BENCH_CPU_ITERS = String(JSON.parse(execFileSync(process.execPath, [path.join(BENCH, 'apps', 'calibrate.mjs'), '50'], { encoding: 'utf8' })).iters);
}

const wrk = (port, secs) =>
  execFileSync('taskset', ['-c', '1', 'wrk', '-t1', '-c32', `-d${secs}s`, ...(close ? ['-H', 'Connection: close'] : []), `http://127.0.0.1:${port}/`], { encoding: 'utf8' });
/** CPU seconds of every thread of `pids` so far. */
const cpuSeconds = (pids) =>
  pids.reduce((sum, p) => {
    try {
      const tasks = fs.readdirSync(`/proc/${p}/task`);
      return sum + tasks.reduce((s, t) => s + Number(fs.readFileSync(`/proc/${p}/task/${t}/schedstat`, 'utf8').split(' ')[0]), 0) / 1e9;
    } catch {
      return sum; // gone
    }
  }, 0);

/** Starts `name` with one worker; resolves { stop, pids (to measure), port (to load) }. */
async function start(name, port) {
  const inner = name === 'inner';
  const load = inner ? port + 1000 : port;
  const h = inner
    ? await startConfig('ldsup', { app, port, workers: 1, env: { INNER_PORT: String(load) }, ldsupApp: 'inner-app.mjs' })
    : await startConfig(name, { app, port, workers: 1 });
  await waitServing(port, 1);
  if (inner) await waitServing(load, 1);
  const all = tree(h.child.pid);
  return { stop: () => h.stop(), all, pids: name === 'plain' ? all : all.slice(1), port: load };
}

const results = Object.fromEntries(configs.map((c) => [c, []]));
for (let r = 1; r <= rounds; r++) {
  for (const name of r % 2 ? configs : [...configs].reverse()) {
    const s = await start(name, freshPort());
    try {
      for (const p of s.all) execFileSync('taskset', ['-a', '-c', '-p', '0', String(p)], { stdio: 'ignore' });
      wrk(s.port, 1); // warm-up
      const c0 = cpuSeconds(s.pids);
      const out = wrk(s.port, seconds);
      const cpu = cpuSeconds(s.pids) - c0;
      const requests = Number(/(\d+) requests in/.exec(out)[1]);
      results[name].push({ us: (cpu * 1e6) / requests, rps: requests / seconds });
      console.error(`r${r} ${name}: ${fmt((cpu * 1e6) / requests, 2)} µs/req, ${fmt(requests / seconds)} req/s`);
    } finally {
      await s.stop();
      await sleep(100);
    }
  }
}

/** 95 % bootstrap interval of the median of `xs`. */
function bootstrap(xs, n = 2000) {
  const meds = [];
  for (let b = 0; b < n; b++) meds.push(median(xs.map(() => xs[Math.floor(Math.random() * xs.length)])));
  meds.sort((a, b) => a - b);
  return [meds[Math.floor(n * 0.025)], meds[Math.floor(n * 0.975)]];
}
const base = results[configs[0]];
console.log(`\n### CPU µs per request, one worker pinned (app ${app}, ${close ? 'new connection per request' : 'keep-alive'}, ${rounds} rounds × ${seconds} s, Node ${process.version})\n`);
console.log(`| server | median µs/req | × ${configs[0]} (median of per-round ratios) | 95 % interval | median req/s |\n|---|---:|---:|---|---:|`);
for (const [name, rs] of Object.entries(results)) {
  const ratios = rs.map((x, i) => x.us / base[i].us);
  const [lo, hi] = bootstrap(ratios);
  console.log(`| ${name} | ${fmt(median(rs.map((x) => x.us)), 2)} | ${fmt(median(ratios), 3)} | ${fmt(lo, 3)}–${fmt(hi, 3)} | ${fmt(median(rs.map((x) => x.rps)))} |`);
}
