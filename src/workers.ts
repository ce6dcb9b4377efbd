/**
 * The master's view of one worker process, and the one place that forks them.
 * Events from the process (its messages, its exit) are handed to the arbiter's queue; only the
 * arbiter changes the worker table.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';
import { isMsg, type FromWorker, type ToWorker } from './protocol.js';
import type { WorkerInfo, WorkerState } from './types.js';

/** dist/worker-process.cjs next to this file (src/…ts under jest, which never forks it). */
export const WORKER_SCRIPT = (() => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const js = path.join(here, 'worker-process.cjs');
  return fs.existsSync(js) ? js : path.join(here, 'worker-process.ts');
})();

export class WorkerHandle implements WorkerInfo {
  pid = 0;
  state: WorkerState = 'booting';
  readonly startedAt = Date.now();
  readyAt = 0;
  lastBeat = Date.now();
  requests = 0;
  rss = 0;
  inflight = 0;
  lagMs = 0;
  /** Keep-alive connections it holds (its last report), and when it was last asked to shed some. */
  kept = 0;
  shedAt = 0;
  /** Set by the worker itself (max-requests): replace me, then stop me. */
  wantsRetire = false;
  /** The reason it is being stopped (for logs and status). */
  retireReason: string | null = null;
  /** When the timeout abort was sent (then SIGKILL a tick later). */
  abortedAt = 0;
  /** When it was sent TERM to retire (killed if still there after gracefulTimeout). */
  termAt = 0;
  proc: ChildProcess | null = null;

  /** The worker's own message when it failed to boot. */
  bootError: string | null = null;

  constructor(
    readonly age: number,
    /** Config generation (incremented by every HUP): older generations are replaced. */
    public generation: number,
    readonly maxRequests: number,
    /** How many listen sockets it inherits (fds 4, 5, …). */
    readonly listenerCount: number,
  ) {}

  get info(): WorkerInfo {
    return { pid: this.pid, age: this.age, state: this.state, startedAt: this.startedAt, requests: this.requests };
  }

  send(m: ToWorker): void {
    if (this.proc?.connected) this.proc.send(m, (err) => void err /* the worker is gone: its exit event follows */);
  }

  /** Sends a signal; false if the process is already gone. */
  kill(signal: NodeJS.Signals): boolean {
    try {
      return this.proc?.kill(signal) ?? false;
    } catch {
      return false;
    }
  }
}

export interface SpawnOptions {
  listenFds: number[];
  env: NodeJS.ProcessEnv;
  onMessage(w: WorkerHandle, m: FromWorker): void;
  onExit(w: WorkerHandle, code: number | null, signal: NodeJS.Signals | null): void;
}

/**
 * Forks the worker script. The listen sockets are passed as inherited fds in stdio slots
 * 4, 5, … (slot 3 is the IPC channel), as gunicorn's workers inherit them through fork().
 */
export function spawnWorker(w: WorkerHandle, opts: SpawnOptions): void {
  const stdio: (number | 'ignore' | 'inherit' | 'ipc')[] = ['ignore', 'inherit', 'inherit', 'ipc', ...opts.listenFds];
  const proc = fork(WORKER_SCRIPT, [], { stdio, env: opts.env, serialization: 'json' });
  w.proc = proc;
  w.pid = proc.pid ?? 0;
  proc.on('message', (m: unknown) => {
    if (isMsg(m)) opts.onMessage(w, m as FromWorker);
  });
  proc.on('error', () => {
    // A send to a dead worker: its 'exit' follows. A failed spawn has no pid and no 'exit'.
    if (!proc.pid) opts.onExit(w, 1, null);
  });
  proc.once('exit', (code, signal) => opts.onExit(w, code, signal));
}

/** The fds the worker sees for our listeners: 4, 5, … */
export const childFds = (n: number): number[] => Array.from({ length: n }, (_, i) => 4 + i);
