/**
 * Messages between the master and its workers over the child_process IPC channel (JSON).
 * Signals still carry the stop requests (TERM graceful, QUIT/INT quick), as in gunicorn;
 * everything else goes through here.
 */
import type { ResolvedSettings } from './types.js';

/** A LaunchDarkly stream event as raw JSON text (put/patch/delete); workers revive it. */
export interface FlagEventMsg {
  t: 'ld';
  event: 'put' | 'patch' | 'delete';
  data: string;
}

export interface InitMsg {
  t: 'init';
  age: number;
  settings: ResolvedSettings;
  /** Our listen sockets, inherited as these fds. */
  listenFds: number[];
  /** What the config's preload hook returned. */
  preload: unknown;
  /** The master's current flag data, as a 'put', or null if it has none yet. */
  flags: { event: 'put'; data: string } | null;
  /** This worker's max-requests (with its jitter already drawn), 0 = never. */
  maxRequests: number;
  /** Worker-side hooks the config defines (the worker loads the config file only if any). */
  hooks: string[];
  /** Milliseconds between heartbeats. */
  heartbeatMs: number;
  /** The master's private run directory (timeout stacks). */
  runDir: string;
  /** Report keep-alive connection counts, for the master's keep-alive balance. */
  balance: boolean;
}

export type ToWorker =
  | InitMsg
  | FlagEventMsg
  | { t: 'ld-fatal'; status: number; message: string }
  | { t: 'reopen' }
  /**
   * Keep-alive balance: ask `n` keep-alive connections to close after their next response, and
   * for a while also new ones that would take the worker over `keep`.
   */
  | { t: 'shed'; n: number; keep: number }
  | { t: 'abort' };

export type FromWorker =
  | { t: 'ready' }
  | { t: 'hb'; requests: number; rss: number; inflight: number; lagMs: number }
  /** How many keep-alive connections the worker holds (sent when it changes, throttled). */
  | { t: 'kept'; n: number }
  | { t: 'retire'; reason: 'max-requests' | 'memory' }
  | { t: 'boot-error'; message: string };

export const isMsg = (m: unknown): m is { t: string } =>
  typeof m === 'object' && m !== null && typeof (m as { t?: unknown }).t === 'string';
