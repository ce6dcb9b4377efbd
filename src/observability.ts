/**
 * Health and metrics endpoints, served by the master on their own addresses (never on the app's
 * sockets, never through the app): `/healthz` (liveness: the master's loop is turning),
 * `/readyz` (readiness: every wanted worker ready, flags initialised unless not required, not
 * stopping) and `/metrics` (Prometheus text format, built with prom-client).
 */
import fs from 'node:fs';
import type http from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import { parseAddress } from './address.js';
import type { Logger } from './log.js';
import { listeningFd } from './runtime.js';
import { removeStaleUnixSocket, tempSocketPath } from './sockets.js';

/** What the endpoints read from the arbiter. */
export interface ObservedState {
  lastTick(): number;
  stopping(): boolean;
  wanted(): number;
  startedAt(): number;
  workers(): { pid: number; age: number; state: string; requests: number; rss: number; inflight: number; lagMs: number; kept: number }[];
  flags(): { connected: boolean; initialized: boolean; lastUpdateAgeMs: number | null; flagCount: number };
}

export type RestartReason = 'crash' | 'timeout' | 'max-requests' | 'memory' | 'reload' | 'scale down' | 'stop';

export class Metrics {
  readonly registry = new Registry();
  readonly restarts: Counter<'reason'>;
  readonly requests: Counter;

  constructor(state: ObservedState) {
    const r = this.registry;
    this.restarts = new Counter({ name: 'ldsup_worker_restarts_total', help: 'Workers replaced, by reason.', labelNames: ['reason'], registers: [r] });
    this.requests = new Counter({ name: 'ldsup_requests_total', help: 'Requests answered by all workers since the master started.', registers: [r] });
    const perWorker = (name: string, help: string, pick: (w: ReturnType<ObservedState['workers']>[number]) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['pid', 'age'],
        registers: [r],
        collect() {
          this.reset();
          for (const w of state.workers()) if (w.state !== 'exited') this.set({ pid: String(w.pid), age: String(w.age) }, pick(w));
        },
      });
    perWorker('ldsup_worker_requests', 'Requests answered by this worker so far.', (w) => w.requests);
    perWorker('ldsup_worker_inflight_requests', 'Requests in progress in this worker.', (w) => w.inflight);
    perWorker('ldsup_worker_keepalive_connections', 'Keep-alive connections this worker holds, counted from their second request (as reported for the keep-alive balance).', (w) => w.kept);
    perWorker('ldsup_worker_resident_memory_bytes', "Worker's resident set size.", (w) => w.rss);
    perWorker('ldsup_worker_event_loop_lag_seconds', "Worker's event-loop delay (max over the last heartbeat).", (w) => w.lagMs / 1000);
    const simple = (name: string, help: string, read: () => number) =>
      new Gauge({ name, help, registers: [r], collect() { this.set(read()); } });
    simple('ldsup_master_uptime_seconds', 'Seconds since the master started.', () => (Date.now() - state.startedAt()) / 1000);
    simple('ldsup_master_resident_memory_bytes', "The master's resident set size.", () => process.memoryUsage.rss());
    new Counter({
      name: 'ldsup_master_cpu_seconds_total',
      help: 'CPU time (user + system) used by the master.',
      registers: [r],
      collect() {
        const u = process.cpuUsage();
        this.reset();
        this.inc((u.user + u.system) / 1e6);
      },
    });
    simple('ldsup_workers', 'Worker processes alive.', () => state.workers().filter((w) => w.state !== 'exited').length);
    simple('ldsup_workers_ready', 'Workers ready and serving.', () => state.workers().filter((w) => w.state === 'ready').length);
    simple('ldsup_workers_wanted', 'Workers the master wants.', () => state.wanted());
    simple('ldsup_launchdarkly_connected', '1 when the flag source is connected.', () => Number(state.flags().connected));
    simple('ldsup_launchdarkly_initialized', '1 once flag data has arrived.', () => Number(state.flags().initialized));
    simple('ldsup_launchdarkly_flags', 'Flags in the current data.', () => state.flags().flagCount);
    simple('ldsup_launchdarkly_last_update_age_seconds', 'Seconds since the flag data last changed (-1: never).', () => {
      const a = state.flags().lastUpdateAgeMs;
      return a === null ? -1 : a / 1000;
    });
  }
}

export interface EndpointOptions {
  healthBind: string | null;
  metricsBind: string | null;
  readyRequiresFlags: boolean;
}

/** An endpoint socket as a USR2 child inherits it: its address as configured, and the fd. */
export interface EndpointFd {
  spec: string;
  fd: number;
}

export class Endpoints {
  private servers: { spec: string; server: http.Server; unixPath: string | null }[] = [];

  constructor(
    private readonly state: ObservedState,
    private readonly metrics: Metrics | null,
    private readonly opts: EndpointOptions,
    private readonly log: Logger,
  ) {}

  /** Why the master is not ready, or an empty list. */
  notReady(): string[] {
    const why: string[] = [];
    if (this.state.stopping()) why.push('stopping');
    const ready = this.state.workers().filter((w) => w.state === 'ready').length;
    if (ready < this.state.wanted() || this.state.wanted() === 0) why.push(`${ready} of ${this.state.wanted()} workers ready`);
    if (this.opts.readyRequiresFlags && !this.state.flags().initialized) why.push('flags not initialised');
    return why;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse, routes: Set<string>): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const send = (status: number, body: string, type = 'application/json') => {
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(body);
    };
    if (routes.has('health') && path === '/healthz') {
      const stale = Date.now() - this.state.lastTick() > 5000;
      return send(stale ? 503 : 200, JSON.stringify({ status: stale ? 'stuck' : 'ok' }));
    }
    if (routes.has('health') && path === '/readyz') {
      const why = this.notReady();
      return send(why.length ? 503 : 200, JSON.stringify(why.length ? { status: 'not ready', why } : { status: 'ready' }));
    }
    if (routes.has('metrics') && path === '/metrics' && this.metrics) {
      return send(200, await this.metrics.registry.metrics(), this.metrics.registry.contentType);
    }
    send(404, JSON.stringify({ error: 'not found' }));
  }

  /**
   * Binds each address, or serves on the socket an old master handed over (USR2: `inherited`,
   * by address as configured; the old master still serves on it, so it cannot be bound again).
   * Inherited sockets this master no longer wants are closed.
   */
  async start(inherited: EndpointFd[] = []): Promise<void> {
    const byAddress = new Map<string, Set<string>>();
    if (this.opts.healthBind) byAddress.set(this.opts.healthBind, new Set(['health']));
    if (this.opts.metricsBind) (byAddress.get(this.opts.metricsBind) ?? byAddress.set(this.opts.metricsBind, new Set()).get(this.opts.metricsBind)!).add('metrics');
    for (const e of inherited) if (!byAddress.has(e.spec)) fs.closeSync(e.fd);
    for (const [spec, routes] of byAddress) {
      const a = parseAddress(spec);
      const fd = inherited.find((e) => e.spec === spec)?.fd;
      // node:http is loaded only by a master that serves metrics or health (~5 ms before the first fork otherwise).
      const server = process.getBuiltinModule('node:http').createServer((req, res) => void this.handle(req, res, routes).catch(() => res.destroy()));
      const cannot = (err: NodeJS.ErrnoException) => new Error(`cannot bind ${spec} for ${[...routes].join(' and ')}: ${err.code ?? err.message}`);
      // As for the app's sockets (sockets.ts): a file left by a killed master is removed, and the
      // socket is bound at a temporary name and renamed into place, so that the path is ldsup's
      // to remove (close()), not libuv's, while the other master of a USR2 still serves there.
      const unixPath = a.kind === 'unix' ? a.path : null;
      let tmp: string | null = null;
      if (unixPath && fd === undefined) {
        await removeStaleUnixSocket(unixPath).catch((err) => Promise.reject(cannot(err)));
        tmp = tempSocketPath(unixPath);
      }
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) => reject(cannot(err)));
        if (fd !== undefined) server.listen({ fd }, () => resolve());
        else if (a.kind === 'tcp') server.listen(a.port, a.host, () => resolve());
        else if (a.kind === 'unix') server.listen(tmp ?? a.path, () => resolve());
        else server.listen({ fd: a.fd }, () => resolve());
      });
      if (tmp) fs.renameSync(tmp, unixPath!);
      server.unref();
      const addr = server.address();
      const shown = unixPath ? `unix:${unixPath}` : typeof addr === 'string' ? `unix:${addr}` : `http://${a.kind === 'tcp' ? a.host : ''}:${addr?.port}`;
      this.log.info(`Serving ${[...routes].map((r) => (r === 'health' ? '/healthz, /readyz' : '/metrics')).join(' and ')} at ${shown}`);
      this.servers.push({ spec, server, unixPath });
    }
  }

  /** The listening sockets, for a USR2 child to serve on. */
  fds(): EndpointFd[] {
    return this.servers.map(({ spec, server }) => ({ spec, fd: listeningFd(server) }));
  }

  /**
   * Stops serving. `unlink`: remove a unix socket's path (not while another master, USR2 parent
   * or child, serves on the same socket).
   */
  async close(unlink = true): Promise<void> {
    const servers = this.servers.splice(0);
    await Promise.all(servers.map(({ server }) => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r())))));
    if (unlink) for (const s of servers) if (s.unixPath) fs.rmSync(s.unixPath, { force: true });
  }
}
