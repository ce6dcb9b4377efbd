/**
 * Daemon mode (-D): the command re-runs itself detached (its own session, stdio to /dev/null or
 * the log files) and waits on a pipe until the master says `ready` or why it failed, so
 * `ldsup -D … && npm run e2e` only proceeds once the server is really up.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { STARTUP } from './startup.js';

const STATUS_FD = 3;

/** In the detached master: report readiness or failure to the waiting parent (once). */
export class DaemonReporter {
  private open = process.env.LDSUP_DAEMONIZED === '1';
  constructor() {
    delete process.env.LDSUP_DAEMONIZED; // workers and USR2 children must not write to the pipe
  }
  get active(): boolean {
    return this.open;
  }
  private say(line: string): void {
    if (!this.open) return;
    this.open = false;
    try {
      fs.writeSync(STATUS_FD, line + '\n');
      fs.closeSync(STATUS_FD);
    } catch {
      /* the parent is gone: nobody to tell */
    }
  }
  ready(): void {
    this.say(`ready ${process.pid}`);
  }
  failed(message: string): void {
    this.say(`error ${message}`);
  }
}

/** In the foreground command: start the detached master and wait for its verdict. */
export function daemonize(): Promise<number> {
  const child = spawn(STARTUP.execPath, [...STARTUP.execArgv, ...STARTUP.argv], {
    // Where these arguments were given: a relative --chdir, -c or app means the same again.
    cwd: STARTUP.cwd,
    env: { ...process.env, LDSUP_DAEMONIZED: '1' },
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
  });
  const pipe = child.stdio[STATUS_FD] as NodeJS.ReadableStream;
  let text = '';
  pipe.setEncoding('utf8');
  pipe.on('data', (c: string) => (text += c));
  return new Promise((resolve) => {
    const finish = (code: number, line: string) => {
      child.removeAllListeners();
      pipe.removeAllListeners();
      child.unref();
      (pipe as unknown as { destroy(): void }).destroy();
      process.stderr.write(line + '\n');
      resolve(code);
    };
    pipe.on('end', () => {
      const m = /^ready (\d+)/.exec(text);
      if (m) return finish(0, `ldsup: started in the background, master pid ${m[1]}`);
      const err = /^error (.*)/.exec(text)?.[1];
      // No verdict: wait for the exit code.
      child.once('exit', (code, sig) => finish(code || 1, `ldsup: error: ${err ?? `the master exited (${sig ?? `code ${code}`}) before its workers were ready`}`));
      if (child.exitCode !== null || child.signalCode !== null) child.emit('exit', child.exitCode, child.signalCode);
    });
  });
}
