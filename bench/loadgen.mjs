#!/usr/bin/env node
// Open-loop HTTP load generator for the reload test (a separate process, so its CPU is its own).
//   node loadgen.mjs URL RATE MAX_SECONDS [SOCKETS=64] [TIMEOUT_MS=3000]
// Sends RATE req/s on schedule (not waiting for answers) over ≤ SOCKETS keep-alive sockets, until
// SIGINT/SIGTERM or MAX_SECONDS; then waits for in-flight requests (≤ TIMEOUT_MS) and prints one
// JSON line: counts, every failure with its time (epoch ms) and kind, latency percentiles.
// Kinds: ECONNRESET:reused / ECONNRESET:fresh (was the keep-alive socket reused?), REFUSED,
// TIMEOUT:reused|fresh, HTTP_<status>, other error codes as <code>:reused|fresh.
import http from 'node:http';

const [url, rateArg, maxArg, socketsArg, timeoutArg] = process.argv.slice(2);
const rate = Number(rateArg || 2000);
const maxMs = Number(maxArg || 60) * 1000;
const timeoutMs = Number(timeoutArg || 3000);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(socketsArg || 64), maxFreeSockets: 64, scheduling: 'fifo' });
const target = new URL(url);

let sent = 0, ok = 0, inflight = 0, stopping = false;
const failures = [];
const kinds = {};
const lat = [];
const t0 = Date.now();

function fail(kind, t) {
  kinds[kind] = (kinds[kind] || 0) + 1;
  failures.push({ t, kind });
}

function one() {
  const t = Date.now();
  sent++;
  inflight++;
  let done = false;
  const finish = (kind) => {
    if (done) return;
    done = true;
    inflight--;
    if (kind) fail(kind, t);
    else { ok++; lat.push(Date.now() - t); }
  };
  const req = http.request({ agent, host: target.hostname, port: target.port, path: target.pathname, method: 'GET' }, (res) => {
    res.on('data', () => {});
    res.on('end', () => finish(res.statusCode === 200 ? null : `HTTP_${res.statusCode}`));
    res.on('error', (e) => finish(`${e.code || 'ERR'}:${req.reusedSocket ? 'reused' : 'fresh'}`));
  });
  const timer = setTimeout(() => { finish(`TIMEOUT:${req.reusedSocket ? 'reused' : 'fresh'}`); req.destroy(); }, timeoutMs);
  req.on('close', () => clearTimeout(timer));
  req.on('error', (e) => {
    const code = e.code === 'ECONNREFUSED' ? 'REFUSED' : `${e.code || 'ERR'}:${req.reusedSocket ? 'reused' : 'fresh'}`;
    finish(code);
  });
  req.end();
}

const tick = setInterval(() => {
  if (stopping) return;
  const elapsed = Date.now() - t0;
  if (elapsed >= maxMs) return stop();
  const due = Math.floor((elapsed * rate) / 1000) - sent;
  for (let i = 0; i < due; i++) one();
}, 2);

function pct(p) {
  if (!lat.length) return null;
  const v = lat.slice().sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.floor((p / 100) * v.length))];
}

async function stop() {
  if (stopping) return;
  stopping = true;
  clearInterval(tick);
  const until = Date.now() + timeoutMs + 500;
  while (inflight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  const cpu = process.cpuUsage();
  process.stdout.write(JSON.stringify({ t0, t1: Date.now(), sent, ok, failed: failures.length, unfinished: inflight, kinds, failures, p50: pct(50), p99: pct(99), max: pct(100), cpuS: (cpu.user + cpu.system) / 1e6 }) + '\n', () => process.exit(0));
  agent.destroy(); // stdout to a pipe is asynchronous: exit only once the line is written
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
