/**
 * Helpers for the issue-3 conformance tests: /proc inspection (children, CPU time, processes
 * carrying a tag in their environment), polling, the control socket, and output waits that
 * survive the exit of the process that started the output pipe (USR2: the new master keeps
 * writing to the old one's pipes).
 */
import { control as sendControl, controlPath, type ControlRequest } from '../../src/control.js';
import fs from 'node:fs';
import { CI_TIMEOUT, type Ldsup } from './ldsup.js';

/** Polls `fn` (every 50 ms) until it returns a truthy value; throws with `what` on timeout. */
export async function waitUntil<T>(what: string, fn: () => T | Promise<T>, timeoutMs = CI_TIMEOUT): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits for `re` in `l.output`, even after `l`'s own process has exited. */
export function waitOutput(l: Ldsup, re: RegExp, timeoutMs = CI_TIMEOUT): Promise<RegExpMatchArray> {
  return waitUntil(`${re} in the output:\n${l.output}`, () => l.output.match(re), timeoutMs);
}

/** Counts matches of a global regexp in `text`. */
export const count = (text: string, re: RegExp): number => (text.match(re) ?? []).length;

function stat(pid: number): string[] | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** The pid in a pidfile (a whole "N\n"), or null while it is missing or not fully written. */
export const readPid = (file: string): number | null => {
  try {
    const m = /^(\d+)\n$/.exec(fs.readFileSync(file, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
};

/** Live (non-zombie) child pids of `pid`, from /proc. */
export function childrenOf(pid: number): number[] {
  const kids: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const s = stat(Number(d));
    if (s && Number(s[1]) === pid && s[0] !== 'Z') kids.push(Number(d));
  }
  return kids.sort((a, b) => a - b);
}

/** The parent pid of `pid`, or null if it is gone. */
export function parentOf(pid: number): number | null {
  const s = stat(pid);
  return s ? Number(s[1]) : null;
}

/** utime + stime of a process, in clock ticks (USER_HZ, 100 on Linux). */
export function cpuTicks(pid: number): number {
  const s = stat(pid);
  if (!s) throw new Error(`pid ${pid} is gone`);
  // After ")": state(0) ppid(1) … utime is field 14 of /proc/pid/stat, i.e. index 11 here.
  return Number(s[11]) + Number(s[12]);
}

/** Live pids whose environment holds `KEY=value` (tags every process a test started). */
export function taggedProcesses(key: string, value: string): number[] {
  const needle = `${key}=${value}\0`;
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      const env = fs.readFileSync(`/proc/${d}/environ`, 'latin1');
      if (!env.includes(needle)) continue;
      const s = stat(Number(d));
      if (s && s[0] !== 'Z') out.push(Number(d));
    } catch {
      /* gone, or not ours */
    }
  }
  return out;
}

/**
 * Connections waiting in the accept queue of the listener on 127.0.0.1:`port` (the rx_queue of
 * its LISTEN socket in /proc/net/tcp); -1 when nothing listens there.
 */
export function acceptQueue(port: number): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local && f[3] === '0A') return parseInt(f[4]!.split(':')[1]!, 16);
  }
  return -1;
}

/** SIGKILLs each pid (ignoring the ones already gone). */
export function killAll(pids: Iterable<number>): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

export interface StatusWorker {
  pid: number;
  age: number;
  state: string;
  ageS: number;
  requests: number;
  rssBytes: number;
  generation: number;
}
export interface Status {
  ok: boolean;
  error?: string;
  master: { pid: number; uptimeS: number; workersWanted: number; generation: number; reexecPid: number | null; parentPid: number | null; rssBytes: number; listening: string[] };
  workers: StatusWorker[];
  launchdarkly: Record<string, unknown>;
}

/** One request on the master's control socket (`<pidfile>.sock`), through the client `ldsup status` uses. */
export async function control<T = Status>(pidfile: string, req: ControlRequest, timeoutMs = CI_TIMEOUT): Promise<T> {
  return (await sendControl(controlPath(pidfile), req, timeoutMs)) as unknown as T;
}

/**
 * Waits until the master reports exactly `n` workers, all `ready`, none of them in `notPids`
 * (the pids being replaced); returns their pids.
 */
export async function settled(pidfile: string, n: number, notPids: Iterable<number> = [], timeoutMs = CI_TIMEOUT): Promise<number[]> {
  const old = new Set(notPids);
  const s = await waitUntil(
    `${n} ready workers (none of ${[...old].join(',')})`,
    async () => {
      const st = await control(pidfile, { cmd: 'status' });
      const ok = st.workers.length === n && st.workers.every((w) => w.state === 'ready' && !old.has(w.pid));
      return ok ? st : null;
    },
    timeoutMs,
  );
  return s.workers.map((w) => w.pid);
}
