// CPU per request of ONE server process, pinned: the server (and its workers) on core 0, wrk on
// core 1, so that neither takes CPU from the other. Reports the CPU time (utime + stime, from
// /proc) the server's process tree spent during the measured window, divided by the requests
// served: a per-request cost that other tenants' load disturbs far less than req/s does.
// Compares a plain `http.createServer` process with ldsup -w 1, interleaved rounds.
//
// Usage: node bench/pinned.mjs [--app json|cpu|flag] [--close] [--rounds 5] [--seconds 5]
// Every process is ended by pid. Not part of `npm run bench` (it needs `taskset`).
import { execFileSync } from 'node:child_process';
import { startConfig, waitServing, freshPort } from './lib/configs.mjs';
import { killAllStartedSync, stat, tree, sleep } from './lib/proc.mjs';
import { fmt, median } from './lib/stats.mjs';

const argv = process.argv.slice(2);
const opt = (name, def) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : def);
const app = opt('app', 'json');
const close = argv.includes('--close');
const rounds = Number(opt('rounds', 5));
const seconds = Number(opt('seconds', 5));
process.on('exit', killAllStartedSync);
if (app === 'cpu' && !process.env.BENCH_CPU_ITERS) {
  process.env.BENCH_CPU_ITERS = String(JSON.parse(execFileSync(process.execPath, [new URL('./apps/calibrate.mjs', import.meta.url).pathname, '50'], { encoding: 'utf8' })).iters);
}

const wrk = (port, secs) =>
  execFileSync('taskset', ['-c', '1', 'wrk', '-t1', '-c32', `-d${secs}s`, ...(close ? ['-H', 'Connection: close'] : []), `http://127.0.0.1:${port}/`], { encoding: 'utf8' });
const cpuSeconds = (pids) => pids.reduce((sum, p) => sum + (stat(p)?.cpuTicks ?? 0), 0) / 100;

const results = { plain: [], ldsup: [] };
for (let r = 1; r <= rounds; r++) {
  for (const name of r % 2 ? ['plain', 'ldsup'] : ['ldsup', 'plain']) {
    const port = freshPort();
    const h = await startConfig(name, { app, port, workers: 1 });
    try {
      await waitServing(port, 1);
      const pids = tree(h.child.pid);
      for (const p of pids) execFileSync('taskset', ['-a', '-c', '-p', '0', String(p)], { stdio: 'ignore' });
      wrk(port, 2); // warm-up
      const c0 = cpuSeconds(pids);
      const out = wrk(port, seconds);
      const cpu = cpuSeconds(pids) - c0;
      const requests = Number(/(\d+) requests in/.exec(out)[1]);
      results[name].push({ us: (cpu * 1e6) / requests, rps: requests / seconds });
      console.error(`r${r} ${name}: ${fmt((cpu * 1e6) / requests, 1)} µs/req, ${fmt(requests / seconds)} req/s`);
    } finally {
      await h.stop();
      await sleep(200);
    }
  }
}
console.log(`\n### CPU µs per request, one process pinned (app ${app}, ${close ? 'new connection per request' : 'keep-alive'}, ${rounds} rounds × ${seconds} s, Node ${process.version})\n`);
console.log('| server | median µs/req | per round | median req/s |\n|---|---:|---|---:|');
for (const [name, rs] of Object.entries(results))
  console.log(`| ${name} | ${fmt(median(rs.map((x) => x.us)), 1)} | ${rs.map((x) => fmt(x.us, 1)).join(', ')} | ${fmt(median(rs.map((x) => x.rps)))} |`);
