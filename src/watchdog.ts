/**
 * Where is a blocked worker stuck? The worker's event loop stamps a clock; a watcher off the main
 * thread notices when the stamps stop and makes V8 interrupt the busy JavaScript to take its
 * stack, which is written to a file in the master's private run directory, where the master reads
 * it when it declares `WORKER TIMEOUT`.
 *
 * Two watchers, same result:
 * - native (native/watchdog.cc, built by `npm run build:native` for the Node that built it): a
 *   plain thread and V8's RequestInterrupt; costs nothing measurable at start-up;
 * - a worker thread that pauses the main thread through the inspector (whose interrupt also runs
 *   while JavaScript spins): needs no compiler, but costs each worker ~65 ms of CPU at boot and
 *   ~10 MB. Used when the native one is not built for this Node, or with LDSUP_WATCHDOG=thread.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const stackFile = (runDir: string, pid: number) => path.join(runDir, `stack-${pid}.txt`);

type NativeWatchdog = { start(file: string, stallMs: number, periodMs: number): boolean; stop(): void };

/** native/build/watchdog-<ABI>.node for this Node's ABI, if it was built. */
export function loadNativeWatchdog(): NativeWatchdog | null {
  if (process.env.LDSUP_WATCHDOG === 'thread') return null;
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'native', 'build', `watchdog-${process.versions.modules}.node`);
  try {
    return createRequire(import.meta.url)(file) as NativeWatchdog;
  } catch {
    return null;
  }
}

/** Starts watching the event loop; `stallMs` is how long a stall must last to capture. Returns the kind. */
export function startWatchdog(runDir: string, stallMs: number): 'native' | 'thread' {
  const periodMs = Math.min(250, Math.max(20, stallMs / 4));
  const file = stackFile(runDir, process.pid);
  const native = loadNativeWatchdog();
  if (native?.start(file, stallMs, periodMs)) {
    // process.exit() tears V8 down without Node's cleanup hooks: stop the watcher first.
    process.once('exit', () => native.stop());
    return 'native';
  }
  startThread(file, stallMs, periodMs);
  return 'thread';
}

function startThread(file: string, stallMs: number, periodMs: number): void {
  const clock = new BigInt64Array(new SharedArrayBuffer(8));
  const tick = () => Atomics.store(clock, 0, BigInt(Date.now()));
  tick();
  setInterval(tick, periodMs).unref();
  // Loaded here: a worker with the native watchdog never needs worker_threads.
  const { Worker } = process.getBuiltinModule('node:worker_threads') as typeof import('node:worker_threads');
  const thread = new Worker(new URL('./watchdog-thread.cjs', import.meta.url), {
    workerData: { clock: clock.buffer, stallMs, periodMs, file },
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
