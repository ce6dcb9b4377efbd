/**
 * Keep-alive balance: how many keep-alive connections each worker should shed.
 *
 * Workers accept from one shared listen socket, so a burst of new connections goes to whichever
 * worker happens to be in accept() first, and keep-alive makes that split last. Measured here
 * with fresh `wrk -c64` runs on two workers (raw shared-handle cluster, and ldsup without this):
 * the emptier worker held a median of 19–21 of the 64 connections, and none at all in one run of
 * twenty (then throughput is that of one process). Round-robin by the master would even it out,
 * at the price of the master handling every connection. Instead, each worker reports the
 * keep-alive connections it holds, and one holding clearly more than its share closes the
 * excess after their next response (`Connection: close`); the clients reconnect, and the less
 * busy worker is the likelier one to accept.
 */

/**
 * After asking a worker to shed, leave it alone this long: its shed connections close on their
 * next response and their clients reconnect, and only then do the counts tell where they went.
 */
export const SHED_COOLDOWN_MS = 250;

/**
 * Make no plan until the total count has held this long. While a burst of connections comes in (a
 * load generator starting, clients coming back after a deploy) the counts are partial: a
 * connection counts from its second request, and workers report every 20 ms. A plan from partial
 * counts (seen: 0 and 13 of what became 64) sheds connections the final spread would have kept,
 * and limits the worker to a share of a fraction of the total, so it sheds its clients'
 * reconnections over and over: a 5 s `wrk -c64` run on two workers opened 228-569 connections,
 * nearly all in its first half second, against 65-95 when the plan waited (ten runs each).
 */
export const SETTLE_MS = 60;

/**
 * But plan at least this often while the count keeps moving: with real traffic, connections open
 * and close all the time, and the total may never hold for SETTLE_MS.
 */
export const SETTLE_MAX_MS = 500;

/** Whether the total count has settled: how long until it will have held for SETTLE_MS (or moved for SETTLE_MAX_MS). */
export class Settling {
  private total = 0;
  /** When `total` last changed, and when it started moving after the last plan. */
  private since = 0;
  private movingSince = 0;
  private planned = true;

  /** Milliseconds to wait before a plan, at `now` (0: plan now). */
  wait(total: number, now: number): number {
    if (total !== this.total) {
      if (this.planned) this.movingSince = now;
      this.planned = false;
      [this.total, this.since] = [total, now];
    }
    const left = Math.min(this.since + SETTLE_MS, this.movingSince + SETTLE_MAX_MS) - now;
    if (left > 0) return left;
    this.planned = true;
    return 0;
  }
}

/** A worker may exceed its even share by this many connections, or this fraction of it, before it sheds. */
const SLACK_CONNS = 2;
const SLACK_SHARE = 1 / 8;

export interface ShedPlan {
  /** An even share of the connections: what a worker asked to shed keeps. */
  share: number;
  /** For each worker, how many to shed (0 for most). */
  shed: number[];
}

/** For each worker's keep-alive count, how many connections it should shed. */
export function shedPlan(kept: readonly number[]): ShedPlan {
  const total = kept.reduce((a, b) => a + b, 0);
  const share = Math.ceil(total / Math.max(1, kept.length));
  if (kept.length < 2 || total === 0) return { share, shed: kept.map(() => 0) };
  const slack = Math.max(SLACK_CONNS, Math.ceil(share * SLACK_SHARE));
  return { share, shed: kept.map((n) => (n > share + slack ? n - share : 0)) };
}
