// Processes: spawn in their own group, find descendants, read CPU/RSS from /proc, end by pid.
import { spawn } from 'node:child_process';
import fs from 'node:fs';

const TICK = 100; // USER_HZ on Linux
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Every pid we started, so the runner can end them all (by pid) whatever happens. */
const started = new Set();

/** Spawns a command in a new process group; stdout/stderr go to `log` (a path) if given. */
export function launch(cmd, args, { env = {}, cwd, log } = {}) {
  const out = log ? fs.openSync(log, 'a') : 'ignore';
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', out, out] });
  if (log) fs.closeSync(out);
  started.add(child.pid);
  child.exited = new Promise((r) => child.once('exit', (code, sig) => r({ code, sig })));
  child.on('error', () => {});
  return child;
}

/** /proc/<pid>/stat → { ppid, pgid, utime+stime ticks, starttime } (null if gone). */
export function stat(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { pid, state: f[0], ppid: +f[1], pgid: +f[2], cpuTicks: +f[11] + +f[12], childTicks: +f[13] + +f[14] };
  } catch {
    return null;
  }
}

export function rssMB(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? +m[1] / 1024 : null;
  } catch {
    return null;
  }
}

/** How many established TCP connections to local port `port` each pid holds (/proc/net/tcp, IPv4). */
export function connectionsOn(port, pids) {
  const inodes = new Set();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length > 9 && f[1].endsWith(`:${hexPort}`) && f[3] === '01') inodes.add(`socket:[${f[9]}]`);
  }
  return pids.map((pid) => {
    let n = 0;
    try {
      for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
        try {
          if (inodes.has(fs.readlinkSync(`/proc/${pid}/fd/${fd}`))) n++;
        } catch {
          /* closed meanwhile */
        }
      }
    } catch {
      return NaN;
    }
    return n;
  });
}

export function comm(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ').slice(0, 120);
  } catch {
    return '';
  }
}

function allStats() {
  const out = [];
  for (const d of fs.readdirSync('/proc')) if (/^\d+$/.test(d)) { const s = stat(+d); if (s) out.push(s); }
  return out;
}

/** pid and all its live descendants (by ppid), parents first. */
export function tree(pid) {
  const all = allStats();
  const res = [pid];
  for (let i = 0; i < res.length; i++) for (const s of all) if (s.ppid === res[i] && s.state !== 'Z') res.push(s.pid);
  return res.filter((p) => stat(p));
}

/** CPU seconds and RSS MB of each pid. */
export function sample(pids) {
  return Object.fromEntries(pids.map((p) => [p, { cpu: (stat(p)?.cpuTicks ?? NaN) / TICK, rss: rssMB(p) }]));
}

/** Machine-wide busy and total CPU seconds (/proc/stat) and the load average. */
export function machine() {
  const l = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = l[3] + l[4];
  const total = l.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: (total - idle) / TICK, total: total / TICK, loadavg: fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number) };
}

const alive = (pid) => { const s = stat(pid); return !!s && s.state !== 'Z'; };

/** Ends these pids: TERM, wait up to graceMs, then KILL whatever is left. Never by name. */
export async function endPids(pids, graceMs = 2000) {
  pids = pids.filter(alive);
  for (const p of pids) try { process.kill(p, 'SIGTERM'); } catch {}
  const t0 = Date.now();
  while (pids.some(alive) && Date.now() - t0 < graceMs) await sleep(20);
  for (const p of pids.filter(alive)) try { process.kill(p, 'SIGKILL'); } catch {}
  while (pids.some(alive) && Date.now() - t0 < graceMs + 2000) await sleep(20);
}

/** Ends a launched child, its process group and every descendant (found by pid before killing). */
export async function endTree(child, graceMs = 2000) {
  const pids = tree(child.pid);
  try { process.kill(-child.pid, 'SIGTERM'); } catch {}
  await endPids(pids, graceMs);
  try { process.kill(-child.pid, 'SIGKILL'); } catch {}
  started.delete(child.pid);
}

/** Last resort (exit, signal): KILL every group we started and their descendants. */
export function killAllStartedSync() {
  for (const pid of started) {
    for (const p of tree(pid)) try { process.kill(p, 'SIGKILL'); } catch {}
    try { process.kill(-pid, 'SIGKILL'); } catch {}
  }
  started.clear();
}

/**
 * For a bench script: every process it started ends with it, also when it is interrupted
 * (Ctrl-C, a timeout's SIGTERM, a closed terminal), where Node would otherwise exit without
 * running 'exit' handlers and leave its servers behind.
 */
export function endStartedOnExit(say = () => {}) {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => { say(`${sig}: ending every process started`); killAllStartedSync(); process.exit(130); });
  process.on('exit', killAllStartedSync);
}

/** Registers a pid started elsewhere (loadgen, wrk's shell) for the last-resort cleanup. */
export const track = (pid) => started.add(pid);
export const untrack = (pid) => started.delete(pid);
