/**
 * USR2: start a new master that inherits our listen sockets (no rebind, so no connection is
 * refused) and serves beside us. It is told by LDSUP_FDS which fds are its listeners and by
 * LDSUP_PARENT_PID who its old master is; it writes `<pidfile>.2` and, once the old master has
 * exited, promotes itself (renames the pidfile). gunicorn forks and execs; Node has no fork, so
 * the old master spawns the new one with the sockets in stdio slots 3, 4, …
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { EndpointFd } from './observability.js';
import type { Listener } from './sockets.js';
import { STARTUP } from './startup.js';

export function spawnNewMaster(listeners: Listener[], endpoints: EndpointFd[] = []): ChildProcess {
  const fds = listeners.map((l) => l.fd);
  const env: NodeJS.ProcessEnv = { ...STARTUP.env, LDSUP_FDS: fds.map((_, i) => 3 + i).join(','), LDSUP_PARENT_PID: String(process.pid) };
  // The health and metrics sockets too: this master still serves on them, so the new one could
  // not bind their addresses. It finds each by its address as configured.
  if (endpoints.length > 0) env.LDSUP_ENDPOINT_FDS = JSON.stringify(endpoints.map((e, i) => ({ spec: e.spec, fd: 3 + fds.length + i })));
  else delete env.LDSUP_ENDPOINT_FDS;
  delete env.LDSUP_DAEMONIZED; // it must not try to report readiness on a pipe that is gone
  return spawn(STARTUP.execPath, [...STARTUP.execArgv, ...STARTUP.argv], {
    cwd: STARTUP.cwd,
    env,
    stdio: ['inherit', 'inherit', 'inherit', ...fds, ...endpoints.map((e) => e.fd)],
  });
}

/** In a master started by USR2: the inherited listener and endpoint fds, and the old master's pid. */
export function inherited(env: NodeJS.ProcessEnv): { fds: number[]; endpoints: EndpointFd[]; parentPid: number } | null {
  const endpointsText = env.LDSUP_ENDPOINT_FDS;
  delete env.LDSUP_ENDPOINT_FDS;
  if (!env.LDSUP_FDS || !env.LDSUP_PARENT_PID) return null;
  const fds = env.LDSUP_FDS.split(',').map(Number);
  const parentPid = Number(env.LDSUP_PARENT_PID);
  delete env.LDSUP_FDS;
  delete env.LDSUP_PARENT_PID;
  if (fds.some((n) => !Number.isInteger(n) || n < 3) || !(parentPid > 0)) return null;
  let endpoints: EndpointFd[] = [];
  try {
    const parsed: unknown = endpointsText ? JSON.parse(endpointsText) : [];
    if (Array.isArray(parsed)) endpoints = parsed.filter((e): e is EndpointFd => typeof e?.spec === 'string' && Number.isInteger(e?.fd) && e.fd >= 3);
  } catch {
    /* not ours: nothing inherited */
  }
  return { fds, endpoints, parentPid };
}
