/**
 * Reconnect delays with the SDK's rules (spec §4): start at `initialMs`, double up to 30 s,
 * subtract up to 50 % jitter, and go back to the start only after a connection stayed healthy
 * for 60 s (so a flapping upstream is not hammered every second).
 */
export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  resetAfterMs?: number;
  random?: () => number;
  now?: () => number;
}

export class Backoff {
  private retries = 0;
  private activeSince: number | undefined;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly resetAfterMs: number;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = Math.max(1, opts.initialMs ?? 1000);
    this.maxMs = opts.maxMs ?? 30_000;
    this.resetAfterMs = opts.resetAfterMs ?? 60_000;
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? Date.now;
  }

  /** The connection is up (headers received). */
  success(): void {
    this.activeSince = this.now();
  }

  /** The connection failed or dropped: milliseconds to wait before the next attempt. */
  fail(): number {
    if (this.activeSince !== undefined && this.now() - this.activeSince >= this.resetAfterMs) this.retries = 0;
    this.activeSince = undefined;
    const delay = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.retries, 30));
    this.retries++;
    return delay - Math.trunc(this.random() * 0.5 * delay);
  }
}
