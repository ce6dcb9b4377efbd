/**
 * Where is a blocked worker stuck? A worker's main thread ticks a shared clock; a small
 * watchdog thread notices when it stops ticking and asks V8, through the inspector connected
 * to the main thread, to pause it: the inspector's interrupt runs even while JavaScript spins,
 * so the paused call frames are the JavaScript stack of the busy loop. The stack is written to
 * a file in the master's private run directory, where the master reads it when it declares
 * `WORKER TIMEOUT`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

export const stackFile = (runDir: string, pid: number) => path.join(runDir, `stack-${pid}.txt`);

/** Starts the tick and the watchdog thread; `stallMs` is how long a stall must last to capture. */
export function startWatchdog(runDir: string, stallMs: number): void {
  const clock = new BigInt64Array(new SharedArrayBuffer(8));
  const tick = () => Atomics.store(clock, 0, BigInt(Date.now()));
  tick();
  setInterval(tick, Math.min(250, Math.max(20, stallMs / 4))).unref();
  const thread = new Worker(new URL('./watchdog-thread.cjs', import.meta.url), {
    workerData: { clock: clock.buffer, stallMs, file: stackFile(runDir, process.pid) },
    stdout: false,
    stderr: false,
  });
  thread.unref();
  thread.on('error', () => {
    /* diagnostics only: a failing watchdog must not take the worker down */
  });
}

/** Reads (and removes) a worker's captured stack, if any. */
export function takeStack(runDir: string, pid: number): string | null {
  const f = stackFile(runDir, pid);
  try {
    const text = fs.readFileSync(f, 'utf8');
    fs.rmSync(f, { force: true });
    return text.trimEnd() || null;
  } catch {
    return null;
  }
}
