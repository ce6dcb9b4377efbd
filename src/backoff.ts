/**
 * Crash-loop backoff: a worker that dies young (within MIN_UPTIME) counts as a crash; after two
 * in a row, respawns wait 0.5 s, 1 s, 2 s … up to 30 s. The row ends when a worker that lived
 * long dies, or when one started after the last crash has stayed up MIN_UPTIME (the loop is over:
 * the next crash, days later, is the first again, not the tenth with a 30 s wait).
 * gunicorn respawns at once forever; PM2's exp_backoff_restart_delay is the model here.
 */
import type { Logger } from './log.js';

const MIN_UPTIME_MS = 5000;
const BASE_MS = 500;
const MAX_MS = 30000;

export class Backoff {
  private crashes = 0;
  private notBefore = 0;
  private lastCrashAt = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** Record an unplanned worker exit after `uptimeMs`. */
  failure(uptimeMs: number, log: Logger): void {
    if (uptimeMs >= MIN_UPTIME_MS) {
      this.crashes = 0;
      this.notBefore = 0;
      return;
    }
    this.crashes++;
    this.lastCrashAt = this.now();
    if (this.crashes < 2) return;
    const delay = Math.min(MAX_MS, BASE_MS * 2 ** (this.crashes - 2));
    this.notBefore = this.now() + delay;
    log.warning(`Workers are crashing at start-up (${this.crashes} in a row); next start in ${(delay / 1000).toFixed(1)} s`);
  }

  /** A worker started at `startedAt` is serving: once it has stayed up MIN_UPTIME after the last crash, the row is over. */
  serving(startedAt: number): void {
    if (this.crashes > 0 && startedAt >= this.lastCrashAt && this.now() - startedAt >= MIN_UPTIME_MS) {
      this.crashes = 0;
      this.notBefore = 0;
    }
  }

  /** May a worker be spawned now? */
  ready(): boolean {
    return this.now() >= this.notBefore;
  }
}
