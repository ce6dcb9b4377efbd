/** Says where a timed-out worker is stuck: its JavaScript stack if the watchdog got one, else its process state. */
import fs from 'node:fs';
import { takeStack } from './watchdog.js';

function procState(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] ?? null;
  } catch {
    return null;
  }
}

export function whereStuck(runDir: string, pid: number): string {
  const stack = takeStack(runDir, pid);
  if (stack) return `JavaScript stack of the blocked event loop:\n${stack}`;
  const st = procState(pid);
  if (st === 'T' || st === 't') return 'the process is stopped (SIGSTOP or a debugger); no stack';
  if (st === 'D') return 'the process is in uninterruptible I/O (state D); no stack';
  return 'no JavaScript stack could be captured (blocked in native code?)';
}
