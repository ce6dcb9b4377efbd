/**
 * The watchdog thread of a worker, when the native watchdog is not built (see watchdog.ts). Runs
 * off the main thread, so it keeps running while the main thread's event loop is blocked.
 */
import fs from 'node:fs';
import inspector from 'node:inspector';
import { workerData } from 'node:worker_threads';

const { clock, stallMs, periodMs, file } = workerData as { clock: SharedArrayBuffer; stallMs: number; periodMs: number; file: string };
const last = new BigInt64Array(clock);
let captured = false;

interface CallFrame {
  functionName: string;
  location: { scriptId: string; lineNumber: number; columnNumber: number };
  url: string;
}

function capture(): void {
  const session = new inspector.Session();
  session.connectToMainThread();
  const scripts = new Map<string, string>();
  session.on('Debugger.scriptParsed', (m: { params: { scriptId: string; url: string } }) => scripts.set(m.params.scriptId, m.params.url));
  session.on('Debugger.paused', (m: { params: { callFrames: CallFrame[] } }) => {
    const lines = m.params.callFrames.map((f) => {
      const url = f.url || scripts.get(f.location.scriptId) || '<unknown>';
      return `    at ${f.functionName || '<anonymous>'} (${url}:${f.location.lineNumber + 1}:${f.location.columnNumber + 1})`;
    });
    try {
      fs.writeFileSync(file, lines.join('\n') + '\n', { mode: 0o600 });
    } catch {
      /* run dir gone: the master is stopping */
    }
    session.post('Debugger.resume', () => session.disconnect());
  });
  session.post('Debugger.enable', () => session.post('Debugger.pause'));
}

setInterval(() => {
  const stalled = Date.now() - Number(Atomics.load(last, 0)) >= stallMs;
  if (!stalled) captured = false;
  else if (!captured) {
    captured = true;
    capture();
  }
}, periodMs);
