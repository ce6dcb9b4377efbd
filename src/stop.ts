/**
 * `ldsup stop`: find the master through its pidfile, check it really is an ldsup master, send
 * TERM, and return only once the process has exited.
 */
import fs from 'node:fs';
import { isAlive, readPid } from './pidfile.js';
import { procState } from './proc.js';

export class StopError extends Error {}

/** True while the pid is a live process (a zombie counts as gone). */
export function isRunning(pid: number): boolean {
  // No /proc entry we can read (null) while kill(pid, 0) says alive: count it as running.
  return isAlive(pid) && procState(pid) !== 'Z';
}

/** Is this pid an ldsup master? (its command line or process title names ldsup) */
export function isLdsupMaster(pid: number): boolean {
  try {
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    return /ldsup/.test(cmd);
  } catch {
    return false; // no /proc entry we can read: refuse rather than signal a stranger
  }
}

/** Child pids of a process (its workers), from /proc. */
export function childrenOf(pid: number): number[] {
  const kids: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) kids.push(Number(d));
    } catch {
      /* gone meanwhile */
    }
  }
  return kids;
}

export async function stopMaster(pidfile: string, timeoutS: number, say: (m: string) => void): Promise<void> {
  if (!fs.existsSync(pidfile)) throw new StopError(`no pidfile at ${pidfile}: ldsup is not running (or was started without -p)`);
  const pid = readPid(pidfile);
  if (pid === null) throw new StopError(`pidfile ${pidfile} does not hold a pid`);
  if (!isRunning(pid)) throw new StopError(`ldsup is not running: pidfile ${pidfile} names pid ${pid}, which has exited (stale pidfile)`);
  if (!isLdsupMaster(pid)) throw new StopError(`pid ${pid} in ${pidfile} is not an ldsup master; not signalling it`);
  process.kill(pid, 'SIGTERM');
  say(`Sent TERM to ldsup master (pid ${pid}); waiting for it to exit…`);
  const deadline = Date.now() + timeoutS * 1000;
  while (isRunning(pid)) {
    if (Date.now() > deadline) {
      const kids = childrenOf(pid);
      throw new StopError(`master (pid ${pid}) still running after ${timeoutS} s${kids.length ? `, with workers ${kids.join(', ')}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  say(`ldsup master (pid ${pid}) has exited.`);
}
