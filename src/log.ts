/**
 * Logging for master and workers, gunicorn's line format:
 *   [2026-11-23 23:15:54 +0000] [PID] [LEVEL] message
 * Coloured (chalk) only when the stream is a TTY and NO_COLOR is unset; `json` format emits one
 * object per line for log shippers. USR1 reopens the file (logrotate).
 */
import fs from 'node:fs';
import type { ChalkInstance } from 'chalk';

export const LEVELS = ['debug', 'info', 'warning', 'error', 'critical'] as const;
export type Level = (typeof LEVELS)[number];
export type LogFormat = 'text' | 'json';

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warning(msg: string): void;
  error(msg: string): void;
  critical(msg: string): void;
  /** Reopen the log file (no-op for stderr/stdout). */
  reopen(): void;
}

export interface LogOptions {
  level?: Level;
  format?: LogFormat;
  /** '-' or undefined: stderr. Otherwise a file path, opened in append mode. */
  file?: string | null;
  /** Overrides TTY detection (tests). */
  color?: boolean;
  /** Workers: a file that cannot be opened is reported once and its lines dropped (see LogSink). */
  tolerant?: boolean;
}

const rank = (l: Level): number => LEVELS.indexOf(l);

/** `[2026-11-23 23:15:54 +0000]`, gunicorn's error-log timestamp. */
export function timestamp(d = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const a = Math.abs(off);
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${sign}${p(Math.floor(a / 60))}${p(a % 60)}`;
}

/**
 * A sink that writes whole lines synchronously, so lines from master and workers never interleave mid-line.
 * Disk trouble (a full disk, an unwritable file, a removed directory) must not take the server down
 * and must not be reported once per line: it goes to stderr once, until a write succeeds again.
 * A `tolerant` sink (workers) that cannot even open its file drops its lines until USR1 reopens it.
 */
export class LogSink {
  private fd: number;
  private failed = false;
  /** `file` '-' or empty means `stdFd` (2 for the error log, 1 for the access log). */
  constructor(
    private readonly file: string | null | undefined,
    private readonly stdFd = 2,
    private readonly tolerant = false,
  ) {
    this.fd = this.open();
  }
  private open(): number {
    if (!this.file || this.file === '-') return this.stdFd;
    try {
      return fs.openSync(this.file, 'a', 0o640);
    } catch (err) {
      if (!this.tolerant) throw err;
      this.report(`cannot open log file ${this.file}: ${(err as Error).message}; its lines are dropped until it can be reopened (USR1)`);
      return -1;
    }
  }
  /** Once per failure streak, on stderr (never into the failing file itself). */
  private report(msg: string): void {
    if (this.failed) return;
    this.failed = true;
    try {
      fs.writeSync(2, `ldsup: ${msg}\n`);
    } catch {
      /* stderr gone too: nothing left to tell */
    }
  }
  get isTTY(): boolean {
    return this.fd === 2 ? Boolean(process.stderr.isTTY) : this.fd === 1 ? Boolean(process.stdout.isTTY) : false;
  }
  write(line: string): void {
    if (this.fd < 0) return;
    try {
      fs.writeSync(this.fd, line + '\n');
      this.failed = false;
    } catch (err) {
      this.report(`cannot write log file ${this.file}: ${(err as Error).message}`);
    }
  }
  reopen(): void {
    if (this.fd === this.stdFd) return;
    try {
      const next = fs.openSync(this.file!, 'a', 0o640);
      const old = this.fd;
      this.fd = next;
      this.failed = false;
      if (old >= 0) fs.closeSync(old);
    } catch (err) {
      this.report(`cannot reopen log file ${this.file}: ${(err as Error).message}`);
    }
  }
}

/**
 * chalk for a coloured stream, null for a plain one. Loaded on first use (the bundle keeps this
 * require lazy): a worker whose log is a pipe or a file never evaluates chalk (~7 ms at boot).
 */
export function colorsFor(useColor: boolean): ChalkInstance | null {
  if (!useColor) return null;
  const { Chalk } = require('chalk') as typeof import('chalk');
  return new Chalk({ level: 1 });
}

/** The identity painter: text as it is. */
export const plain = (s: string) => s;

export function createLogger(opts: LogOptions = {}, sink = new LogSink(opts.file, 2, opts.tolerant)): Logger {
  const min = rank(opts.level ?? 'info');
  const format = opts.format ?? 'text';
  const c = colorsFor(opts.color ?? (sink.isTTY && !process.env.NO_COLOR));
  const paint: Record<Level, (s: string) => string> = {
    debug: c?.gray ?? plain,
    info: plain,
    warning: c?.yellow ?? plain,
    error: c?.red ?? plain,
    critical: c?.bold.red ?? plain,
  };
  const dim = c?.dim ?? plain;
  const emit = (level: Level, msg: string) => {
    if (rank(level) < min) return;
    if (format === 'json') {
      sink.write(JSON.stringify({ time: new Date().toISOString(), pid: process.pid, level, message: msg }));
      return;
    }
    const head = dim(`[${timestamp()}] [${process.pid}]`);
    sink.write(`${head} ${paint[level](`[${level.toUpperCase()}]`)} ${paint[level](msg)}`);
  };
  return {
    debug: (m) => emit('debug', m),
    info: (m) => emit('info', m),
    warning: (m) => emit('warning', m),
    error: (m) => emit('error', m),
    critical: (m) => emit('critical', m),
    reopen: () => sink.reopen(),
  };
}

/** A logger that drops everything (unit tests, `check`). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warning() {},
  error() {},
  critical() {},
  reopen() {},
};
