/**
 * The few error classes ldsup uses, and the exit codes that carry meaning (gunicorn's).
 * Every user-facing error is one line: what is wrong and where.
 */

/** Exit statuses of the master, as gunicorn's. */
export const EXIT = {
  OK: 0,
  /** Config/CLI error, preload failure, pidfile held, bind failed. */
  ERROR: 1,
  /** Command-line usage error (commander). */
  USAGE: 2,
  /** A worker failed to boot (import error, throwing postFork, app factory rejected). */
  WORKER_BOOT_ERROR: 3,
  /** The app module was found but has no usable handler. */
  APP_LOAD_ERROR: 4,
  /** Unhandled exception in the master's loop. */
  CRASH: 255,
} as const;

/** Unwinds the arbiter's loop: stop everything, log the reason, exit with `status`. */
export class HaltError extends Error {
  override name = 'HaltError';
  constructor(
    readonly reason: string,
    readonly status: number,
  ) {
    super(reason);
  }
}

/** A bad setting: names the key, the file (or flag) it came from, what was expected and found. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The app module failed to import (boot error) or exports no handler (load error). */
export class AppLoadError extends Error {
  override name = 'AppLoadError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT.WORKER_BOOT_ERROR,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A short description of a value and its type, for error messages: `"abc" (string)`. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `${truncate(JSON.stringify(value))} (array)`;
  if (typeof value === 'function') return `a function`;
  if (typeof value === 'string') return `${truncate(JSON.stringify(value))} (string)`;
  if (typeof value === 'object') return `${truncate(safeJson(value))} (object)`;
  return `${String(value)} (${typeof value})`;
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

function truncate(s: string, n = 60): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

/** First line of an error's message, for one-line reports. */
export function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const first = msg.split('\n').find((l) => l.trim() !== '') ?? msg;
  return first.trim();
}
