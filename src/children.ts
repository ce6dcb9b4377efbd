/**
 * Every child process this master spawns (workers, a USR2 master, systemd-notify), so that the
 * PID-1 reaper never waits for one of them: libuv must, or its 'exit' event would be lost.
 */
import type { ChildProcess } from 'node:child_process';

export const ownChildren = new Set<number>();

export function track<T extends ChildProcess>(proc: T): T {
  if (proc.pid) {
    const pid = proc.pid;
    ownChildren.add(pid);
    proc.once('exit', () => ownChildren.delete(pid));
  }
  return proc;
}
