// LaunchDarkly figures (issue #4), through the real CLI against a local LaunchDarkly stream:
//  - flag change → new value served in ALL workers: p50/p99 over N changes, 2 and 8 workers;
//  - worker boot → ready with 1,000 and 10,000 flags;
//  - upstream stream connections per host (1, 2, 8 workers).
// Every process is ended by pid. Usage: node bench/flags.mjs [--changes 100] [--smoke]
import { spawn } from 'node:child_process';
import path from 'node:path';
import { startFakeLd } from './fake-ld.mjs';
import { endStartedOnExit, endTree, track } from './lib/proc.mjs';
import { fmt } from './lib/stats.mjs';

const ROOT = path.resolve(new URL('..', import.meta.url).pathname);
const APP = path.join(ROOT, 'bench/apps/flag-watch.mjs');
const KEY = 'sdk-bench-0000';
const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const changes = Number(args[args.indexOf('--changes') + 1]) || (smoke ? 10 : 100);
// Nearest-rank percentile: the p99 of 100 changes is the 99th smallest, not the largest (that is "max").
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)]; };
endStartedOnExit();

/** Starts ldsup on the fake; resolves when all workers are ready, with line arrival times. */
async function startLdsup(fake, workers, port) {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/ldsup.cjs'), APP, '-w', String(workers), '-b', `127.0.0.1:${port}`, '--log-level', 'debug'], {
    cwd: path.join(ROOT, 'test/fixtures/cwd'),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', LAUNCHDARKLY_SDK_KEY: KEY, LAUNCHDARKLY_STREAM_URI: fake.url, LAUNCHDARKLY_BASE_URI: fake.url, LAUNCHDARKLY_EVENTS_URI: fake.url },
  });
  track(child.pid);
  const seen = [];
  const booted = new Map();
  const readyMs = [];
  let buf = '';
  const onLine = (line) => {
    const now = performance.now();
    let m;
    if ((m = /BENCH_SEEN (\S+) (\d+) (\d+)/.exec(line))) seen.push({ value: Number(m[1]), pid: Number(m[2]), ns: BigInt(m[3]) });
    else if ((m = /Booting worker with pid: (\d+)/.exec(line))) booted.set(Number(m[1]), now);
    else if ((m = /Worker ready \(pid: (\d+)\)/.exec(line)) && booted.has(Number(m[1]))) readyMs.push(now - booted.get(Number(m[1])));
  };
  const onData = (b) => { buf += b; let i; while ((i = buf.indexOf('\n')) >= 0) { onLine(buf.slice(0, i)); buf = buf.slice(i + 1); } };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const t0 = Date.now();
  while (readyMs.length < workers) {
    if (Date.now() - t0 > 120_000 || child.exitCode !== null) throw new Error('ldsup did not get ready');
    await new Promise((r) => setTimeout(r, 20));
  }
  return { child, seen, readyMs, pids: [...booted.keys()] };
}

async function propagation(workers, port) {
  const fake = await startFakeLd(KEY);
  const l = await startLdsup(fake, workers, port);
  const all = [];
  let first = null;
  // Change 1 is the first a booted worker applies: its code paths (IPC, the SDK's upsert, the
  // update event) are not compiled yet. It is reported on its own; p50/p99 cover the next ones.
  for (let v = 1; v <= changes + 1; v++) {
    const sent = fake.patch(v);
    const t0 = Date.now();
    while (l.seen.filter((s) => s.value === v).length < workers && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 2));
    const mine = l.seen.filter((s) => s.value === v);
    if (mine.length < workers) throw new Error(`change ${v} reached ${mine.length}/${workers} workers`);
    const ms = Number(mine.reduce((m, s) => (s.ns > m ? s.ns : m), 0n) - sent) / 1e6;
    if (v === 1) first = ms;
    else all.push(ms);
    await new Promise((r) => setTimeout(r, 20)); // changes 20 ms apart, not a burst
  }
  const conns = fake.totalConnections;
  await endTree(l.child);
  await fake.stop();
  return { workers, changes, first, p50: pct(all, 50), p99: pct(all, 99), max: Math.max(...all), upstreamConnections: conns };
}

async function bootWithFlags(n, port) {
  const fake = await startFakeLd(KEY, { extraFlags: n });
  const l = await startLdsup(fake, 2, port);
  const conns = fake.totalConnections;
  await endTree(l.child);
  await fake.stop();
  return { flags: n + 1, workerBootToReadyMs: l.readyMs, upstreamConnections: conns };
}

let port = 19300;
const prop = [];
for (const w of smoke ? [2] : [2, 8]) prop.push(await propagation(w, port++));
const boots = [];
for (const n of smoke ? [1000] : [1000, 10000]) boots.push(await bootWithFlags(n, port++));
const conns = [];
for (const w of smoke ? [1] : [1, 2, 8]) {
  const fake = await startFakeLd(KEY);
  const l = await startLdsup(fake, w, port++);
  conns.push({ workers: w, upstreamConnections: fake.totalConnections });
  await endTree(l.child);
  await fake.stop();
}

console.log(`\n### LaunchDarkly: flag change → new value served by every worker (${changes} changes after a first one, 20 ms apart, relay mode, Node ${process.version})\n`);
console.log('| workers | first change after boot ms | p50 ms | p99 ms | max ms | upstream streams |\n|---:|---:|---:|---:|---:|---:|');
for (const r of prop) console.log(`| ${r.workers} | ${fmt(r.first, 2)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.max, 2)} | ${r.upstreamConnections} |`);
console.log('\n### Worker boot → ready (its client initialised from the master\'s data), 2 workers\n\n| flags | boot → ready ms (each worker) |\n|---:|---|');
for (const b of boots) console.log(`| ${fmt(b.flags)} | ${b.workerBootToReadyMs.map((x) => fmt(x)).join(', ')} |`);
console.log('\n### Upstream stream connections per host\n\n| workers | streams to LaunchDarkly |\n|---:|---:|');
for (const c of conns) console.log(`| ${c.workers} | ${c.upstreamConnections} |`);
