/**
 * USR2: start a new master that inherits our listen sockets (no rebind, so no connection is
 * refused) and serves beside us. It is told by LDSUP_FDS which fds are its listeners and by
 * LDSUP_PARENT_PID who its old master is; it writes `<pidfile>.2` and, once the old master has
 * exited, promotes itself (renames the pidfile). gunicorn forks and execs; Node has no fork, so
 * the old master spawns the new one with the sockets in stdio slots 3, 4, …
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Listener } from './sockets.js';
import { STARTUP } from './startup.js';
import { track } from './children.js';

export function spawnNewMaster(listeners: Listener[]): ChildProcess {
  const fds = listeners.map((l) => l.fd);
  const env: NodeJS.ProcessEnv = { ...STARTUP.env, LDSUP_FDS: fds.map((_, i) => 3 + i).join(','), LDSUP_PARENT_PID: String(process.pid) };
  delete env.LDSUP_DAEMONIZED; // it must not try to report readiness on a pipe that is gone
  return track(
    spawn(STARTUP.execPath, [...STARTUP.execArgv, ...STARTUP.argv], {
      cwd: STARTUP.cwd,
      env,
      stdio: ['inherit', 'inherit', 'inherit', ...fds],
    }),
  );
}

/** In a master started by USR2: the inherited listener fds and the old master's pid. */
export function inherited(env: NodeJS.ProcessEnv): { fds: number[]; parentPid: number } | null {
  if (!env.LDSUP_FDS || !env.LDSUP_PARENT_PID) return null;
  const fds = env.LDSUP_FDS.split(',').map(Number);
  const parentPid = Number(env.LDSUP_PARENT_PID);
  delete env.LDSUP_FDS;
  delete env.LDSUP_PARENT_PID;
  if (fds.some((n) => !Number.isInteger(n) || n < 3) || !(parentPid > 0)) return null;
  return { fds, parentPid };
}
