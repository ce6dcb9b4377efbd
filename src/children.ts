/**
 * Every child process of the master, so that the PID-1 reaper never waits for one of them: libuv
 * must, or its 'exit' event (and an exec callback) would be lost. Not only ldsup's own (workers, a
 * USR2 master, systemd-notify) but whatever a hook or a preloaded app spawns in the master: Node
 * publishes each ChildProcess it creates on the `child_process` diagnostics channel (public since
 * Node 16.18), so they are all seen, from the moment this module is loaded.
 */
import type { ChildProcess } from 'node:child_process';
import diagnostics from 'node:diagnostics_channel';

export const ownChildren = new Set<number>();

function track(proc: ChildProcess): void {
  const pid = proc.pid;
  if (!pid) return; // the spawn failed: there is nothing to wait for
  ownChildren.add(pid);
  proc.once('exit', () => ownChildren.delete(pid));
}

// Published from the ChildProcess constructor, before the spawn gives it a pid; the spawn runs
// synchronously after it, so the pid is there once the current code has run, long before the
// reaper's next turn of the event loop.
diagnostics.subscribe('child_process', (message) => {
  const proc = (message as { process: ChildProcess }).process;
  queueMicrotask(() => track(proc));
});
