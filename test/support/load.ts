/**
 * A small, bounded load generator for the conformance tests: GETs at a steady rate over a
 * keep-alive agent (at most 16 sockets), counting every request sent and every answer, and
 * sorting failures by kind. It stops by itself at `durationMs` or `maxRequests`, whichever
 * comes first, or when `stop()` is called; `stop()` resolves once every request it sent has
 * settled (answered or failed), so `sent === answered + failed` always holds in the result.
 */
import http from 'node:http';

export type FailureKind = 'reset-reused' | 'reset-fresh' | 'refused' | 'timeout' | 'status' | 'other';

export interface Failure {
  kind: FailureKind;
  /** Milliseconds since the load started. */
  at: number;
  detail: string;
}

export interface LoadResult {
  sent: number;
  answered: number;
  /** Answers with status 200. */
  ok: number;
  failures: Failure[];
  byKind: Record<FailureKind, number>;
  /** Answers per worker pid (from the `{pid}` JSON body the fixture apps send). */
  byPid: Map<number, number>;
  /** Distinct bodies' `version` fields seen (apps that report one), in order of first sight. */
  versions: string[];
  /** Requests not sent because `maxInflight` were already pending (the client fell behind). */
  skipped: number;
}

export interface LoadOptions {
  port: number;
  host?: string;
  path?: string;
  /** Requests per second (steady: each tick sends what the schedule says is due). */
  rate: number;
  /** Upper bound on the run, in ms (it stops by itself). */
  durationMs: number;
  /** Upper bound on requests sent. */
  maxRequests?: number;
  /** Keep-alive sockets, at most 16. */
  sockets?: number;
  /** Per-request timeout (ms); an expired request counts as a `timeout` failure. */
  timeoutMs?: number;
  /** Never more than this many requests pending (queued in the agent or on the wire). */
  maxInflight?: number;
}

const active = new Set<Load>();

/** Stops every load still running (call in afterEach, so a failed test leaves no timer behind). */
export async function stopAllLoads(): Promise<void> {
  await Promise.all([...active].map((l) => l.stop()));
}

export class Load {
  private readonly agent: http.Agent;
  private readonly t0 = Date.now();
  private timer: NodeJS.Timeout | null = null;
  private inflight = 0;
  private stopped = false;
  private settled: (() => void) | null = null;
  private readonly r: LoadResult = {
    sent: 0,
    answered: 0,
    ok: 0,
    failures: [],
    byKind: { 'reset-reused': 0, 'reset-fresh': 0, refused: 0, timeout: 0, status: 0, other: 0 },
    byPid: new Map(),
    versions: [],
    skipped: 0,
  };
  /** Resolves when the run is over (by itself or by stop()) and every request has settled. */
  readonly done: Promise<LoadResult>;

  constructor(private readonly o: LoadOptions) {
    const sockets = Math.min(16, o.sockets ?? 16);
    // FIFO: the least recently used socket goes next, so every socket stays busy and none sits
    // idle long enough to meet the server's keep-alive timeout (a race that is not a reload's fault).
    this.agent = new http.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets, scheduling: 'fifo' });
    this.done = new Promise((resolve) => {
      this.settled = () => resolve(this.result());
    });
    active.add(this);
    const tickMs = 10;
    this.timer = setInterval(() => this.tick(), tickMs);
  }

  /** Answers so far (for "the load was running across this reload" checks). */
  get answered(): number {
    return this.r.answered;
  }

  get failed(): number {
    return this.r.failures.length;
  }

  private tick(): void {
    const elapsed = Date.now() - this.t0;
    const max = this.o.maxRequests ?? Infinity;
    if (elapsed >= this.o.durationMs || this.r.sent + this.r.skipped >= max) return this.finish();
    const due = Math.min(max, Math.floor((elapsed * this.o.rate) / 1000)) - (this.r.sent + this.r.skipped);
    for (let i = 0; i < due; i++) {
      if (this.inflight >= (this.o.maxInflight ?? 256)) this.r.skipped++;
      else this.one();
    }
  }

  private one(): void {
    this.r.sent++;
    this.inflight++;
    let finished = false;
    const end = (f?: { kind: FailureKind; detail: string }) => {
      if (finished) return;
      finished = true;
      this.inflight--;
      if (f) this.r.failures.push({ ...f, at: Date.now() - this.t0 }), this.r.byKind[f.kind]++;
      this.maybeSettled();
    };
    const req = http.get({ host: this.o.host ?? '127.0.0.1', port: this.o.port, path: this.o.path ?? '/', agent: this.agent, timeout: this.o.timeoutMs ?? 15_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        this.r.answered++;
        if (res.statusCode !== 200) return end({ kind: 'status', detail: `HTTP ${res.statusCode}: ${body.slice(0, 200)}` });
        this.r.ok++;
        try {
          const j = JSON.parse(body) as { pid?: number; version?: string };
          if (typeof j.pid === 'number') this.r.byPid.set(j.pid, (this.r.byPid.get(j.pid) ?? 0) + 1);
          if (typeof j.version === 'string' && !this.r.versions.includes(j.version)) this.r.versions.push(j.version);
        } catch {
          /* not JSON: counted as answered all the same */
        }
        end();
      });
      res.on('error', (err: NodeJS.ErrnoException) => end(this.classify(err, req.reusedSocket)));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT_LOAD' })));
    req.on('error', (err: NodeJS.ErrnoException) => end(this.classify(err, req.reusedSocket)));
  }

  private classify(err: NodeJS.ErrnoException, reused: boolean): { kind: FailureKind; detail: string } {
    const detail = `${err.code ?? ''} ${err.message}${reused ? ' (reused socket)' : ' (fresh socket)'}`;
    if (err.code === 'ETIMEDOUT_LOAD') return { kind: 'timeout', detail };
    if (err.code === 'ECONNREFUSED') return { kind: 'refused', detail };
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || /socket hang up/.test(err.message)) return { kind: reused ? 'reset-reused' : 'reset-fresh', detail };
    return { kind: 'other', detail };
  }

  private finish(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    active.delete(this);
    this.maybeSettled();
  }

  private maybeSettled(): void {
    if (!this.stopped || this.inflight > 0 || !this.settled) return;
    const s = this.settled;
    this.settled = null;
    this.agent.destroy();
    s();
  }

  /** Stops sending; resolves once every request sent has been answered or has failed. */
  stop(): Promise<LoadResult> {
    this.finish();
    return this.done;
  }

  result(): LoadResult {
    return { ...this.r, failures: [...this.r.failures], byPid: new Map(this.r.byPid), versions: [...this.r.versions] };
  }
}

/** Starts a load run (see `Load`). */
export function load(o: LoadOptions): Load {
  return new Load(o);
}

/** A one-line summary for assertion messages. */
export function describeLoad(r: LoadResult): string {
  const kinds = Object.entries(r.byKind)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k}=${n}`)
    .join(' ');
  return `sent ${r.sent}, answered ${r.answered}, ok ${r.ok}, skipped ${r.skipped}, failures ${r.failures.length}${kinds ? ` (${kinds})` : ''}${
    r.failures.length ? `; first: ${r.failures.slice(0, 5).map((f) => `[${f.at} ms ${f.kind}: ${f.detail}]`).join(' ')}` : ''
  }`;
}
