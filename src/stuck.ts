/** Says where a timed-out worker is stuck: its JavaScript stack if the watchdog got one, else its process state. */
import { procState } from './proc.js';
import { takeStack } from './watchdog.js';

/**
 * The watchdog starts its capture after half the timeout; on a busy host pausing the loop can
 * take longer than the half that is left. A running process gets up to `waitMs` more for its
 * stack to arrive (the master's loop waits that long, once per timed-out worker).
 */
export async function whereStuck(runDir: string, pid: number, waitMs = 2000): Promise<string> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const stack = takeStack(runDir, pid);
    if (stack) return `JavaScript stack of the blocked event loop:\n${stack}`;
    const st = procState(pid);
    if (st === 'T' || st === 't') return 'the process is stopped (SIGSTOP or a debugger); no stack';
    if (st === 'D') return 'the process is in uninterruptible I/O (state D); no stack';
    if (st === null || st === 'Z' || Date.now() >= deadline) return 'no JavaScript stack could be captured (blocked in native code?)';
    await new Promise((r) => setTimeout(r, 50));
  }
}
