/**
 * systemd integration: socket activation (LISTEN_FDS/LISTEN_PID: serve on sockets systemd
 * opened, as gunicorn does) and readiness notification (READY=1, RELOADING=1, STOPPING=1 for
 * `Type=notify`). Node cannot send unix datagrams, so notifications go through systemd's own
 * `systemd-notify` tool; the unit needs `NotifyAccess=all` (examples/deploy/ldsup.service).
 */
import { execFile } from 'node:child_process';
import type { Logger } from './log.js';

const SD_LISTEN_FDS_START = 3;

/** The sockets systemd passed us (fds 3…), if they are for this process; clears the variables so workers don't see them. */
export function listenFds(env: NodeJS.ProcessEnv = process.env): number[] {
  const pid = Number(env.LISTEN_PID);
  const n = Number(env.LISTEN_FDS);
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
  if (pid !== process.pid || !Number.isInteger(n) || n <= 0) return [];
  return Array.from({ length: n }, (_, i) => SD_LISTEN_FDS_START + i);
}

export class Notifier {
  private readonly socket: string | undefined;
  private warned = false;

  constructor(
    private readonly log: Logger,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.socket = env.NOTIFY_SOCKET;
    delete env.NOTIFY_SOCKET; // only the master talks to systemd
  }

  get enabled(): boolean {
    return Boolean(this.socket);
  }

  /** Sends `READY=1` / `RELOADING=1` / `STOPPING=1` (and a STATUS line) on behalf of the master. */
  notify(...assignments: string[]): Promise<void> {
    return this.send(process.pid, assignments);
  }

  /**
   * A master that stops while the other master of a USR2 (child or parent) serves on: the
   * service goes on, in that master. MAINPID goes to it, and no STOPPING=1: systemd would stop
   * the service, and once this master (its main pid) exits, kill the other with the cgroup.
   */
  handOver(pid: number): Promise<void> {
    return this.send(pid, [`STATUS=master ${process.pid} stopped; master ${pid} serves on`]);
  }

  private send(pid: number, assignments: string[]): Promise<void> {
    if (!this.socket) return Promise.resolve();
    return new Promise((resolve) => {
      execFile('systemd-notify', [`--pid=${pid}`, ...assignments], { env: { ...process.env, NOTIFY_SOCKET: this.socket } }, (err, _out, stderr) => {
        if (err && !this.warned) {
          this.warned = true;
          this.log.warning(`cannot notify systemd: ${(stderr || err.message).trim().split('\n')[0]}`);
        }
        resolve();
      });
    });
  }
}
