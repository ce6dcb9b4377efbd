/**
 * The master ("arbiter", as in gunicorn): owns all master state and runs one loop.
 *
 * Signal handlers, worker exits, worker messages and control requests only enqueue an event.
 * The loop wakes on an event (or a tick), dispatches each to a handler (handleTerm, handleHup,
 * …), then runs murderWorkers() (timeouts, memory) and manageWorkers() (reconcile the worker
 * table toward the desired state). Nothing else changes the worker table.
 */
import type { ChildProcess } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { Backoff } from './backoff.js';
import { Settling, SHED_COOLDOWN_MS, shedPlan } from './balance.js';
import { controlPath, type ControlReply, type ControlRequest } from './control.js';
import { EXIT, HaltError, oneLine } from './errors.js';
import { runHook } from './hooks.js';
import type { FlagRelay } from './launchdarkly/relay.js';
import type { Logger } from './log.js';
import { Pidfile } from './pidfile.js';
import type { FromWorker } from './protocol.js';
import { giveLogFiles, resolveIds } from './privileges.js';
import { spawnNewMaster } from './reexec.js';
import { closeListeners, createListeners, describeListeners, type Listener } from './sockets.js';
import { whereStuck } from './stuck.js';
import type { EndpointFd, Metrics } from './observability.js';
import type { Hooks, ResolvedSettings, ServerInfo } from './types.js';
import { childFds, spawnWorker, WorkerHandle } from './workers.js';

export type ArbiterEvent =
  | { kind: 'signal'; name: SignalName }
  | { kind: 'exit'; worker: WorkerHandle; code: number | null; signal: NodeJS.Signals | null }
  | { kind: 'message'; worker: WorkerHandle; msg: FromWorker }
  | { kind: 'control'; req: ControlRequest; reply: (r: ControlReply) => void }
  | { kind: 'reexec-exit'; pid: number; code: number | null };

export const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGTTIN', 'SIGTTOU', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'] as const;
export type SignalName = (typeof SIGNALS)[number];
/** The signals that stop the master. */
export const STOP_SIGNALS: readonly SignalName[] = ['SIGTERM', 'SIGINT', 'SIGQUIT'];

/**
 * Where signals and control requests wait until the loop takes them. The master creates it
 * before it does anything, so that what comes while it starts is queued for the loop instead of
 * getting the default action: HUP, USR2 and TERM kill a process, USR1 opens Node's debugger,
 * TTIN and TTOU stop it (or are dropped, in an orphaned process group). `ldsup stop` right after
 * the pidfile appears is then a graceful stop. Its handlers stay until the process exits.
 */
export class Inbox {
  private pending: ArbiterEvent[] = [];
  private sink: ((e: ArbiterEvent) => void) | null = null;
  private readonly caught = new Set<SignalName>();
  private readonly exiting = new Map<SignalName, () => void>();

  /**
   * Until catch() takes them, these signals end the process as their default action would. Only
   * needed as PID 1 (a container's init), whom the kernel gives no default action: there a
   * `docker stop` during a slow start (flag download, preload) went unheard until the SIGKILL.
   */
  exitOn(signals: readonly SignalName[]): void {
    for (const sig of signals) {
      if (this.caught.has(sig) || this.exiting.has(sig)) continue;
      const exit = () => process.exit(128 + osConstants.signals[sig]);
      this.exiting.set(sig, exit);
      process.on(sig, exit);
    }
  }

  /** Queues these signals from now on. */
  catch(signals: readonly SignalName[]): void {
    for (const sig of signals) {
      if (this.caught.has(sig)) continue;
      this.caught.add(sig);
      const exit = this.exiting.get(sig);
      if (exit) process.off(sig, exit);
      this.exiting.delete(sig);
      process.on(sig, () => this.push({ kind: 'signal', name: sig }));
    }
  }

  push(e: ArbiterEvent): void {
    if (this.sink) this.sink(e);
    else this.pending.push(e);
  }

  /** For the control socket: queue the request and resolve with the handler's reply. */
  request(req: ControlRequest): Promise<ControlReply> {
    return new Promise((reply) => this.push({ kind: 'control', req, reply }));
  }

  /** The loop takes over: returns what is queued so far; what comes later goes to `sink`. */
  attach(sink: (e: ArbiterEvent) => void): ArbiterEvent[] {
    this.sink = sink;
    return this.pending.splice(0);
  }
}

/** The retire reason of a worker killed for not booting within `timeout`: a boot failure. */
const BOOT_TIMEOUT = 'boot timeout';

/**
 * At first start (no worker ready yet), this many workers in a row that exit before they are
 * ready stop the master, whatever their exit: an app that calls `process.exit(1)` as it loads
 * (a missing setting, say) never throws, so it is no boot error (exit 3), and the backoff alone
 * would retry it for good, with `ldsup -D` and a CI job waiting on it (PM2 stops such an app after
 * its `max_restarts` of unstable restarts; gunicorn respawns it for ever).
 */
const FIRST_START_ATTEMPTS = 5;

/** Thrown by TERM/INT/QUIT handlers to leave the loop (gunicorn's StopIteration). */
class StopLoop {
  constructor(readonly graceful: boolean) {}
}

export interface ArbiterDeps {
  settings: ResolvedSettings;
  hooks: Hooks;
  log: Logger;
  listeners: Listener[];
  relay: FlagRelay;
  preload: unknown;
  pidfile: Pidfile | null;
  /** The control socket, which lives beside the pidfile (`<pidfile>.sock`) and moves with it. */
  control?: { listen(path: string): Promise<void>; close(): Promise<void> };
  /** Private (0700) directory for this master's runtime files. */
  runDir: string;
  /** Signals and control requests, queued since the master started. */
  inbox: Inbox;
  /** Set when this master was started by an old one's USR2. */
  parentPid?: number;
  /** Re-reads the configuration (and re-runs preload) for HUP; throws a one-line error if invalid. */
  reload?(): Promise<{ settings: ResolvedSettings; hooks: Hooks; preload: unknown }>;
  /** Called once, when the first workers are all ready (daemon readiness, systemd). */
  onReady?(): void;
  /** Called as the master halts, with why (daemon mode reports a boot failure's reason). */
  onHalt?(reason: string | null, status: number): void;
  /** Reaps orphaned zombies when the master is PID 1 (no-op otherwise). */
  reapOrphans?(): void;
  /** Prometheus counters, when metrics are on. */
  metrics?: Metrics | null;
  /** systemd readiness notifications (no-op outside systemd). */
  systemd?: { notify(...assignments: string[]): Promise<void>; handOver?(pid: number): Promise<void> };
  /** The health and metrics endpoints, once served (a USR2 child inherits their sockets). */
  endpoints?(): { fds(): EndpointFd[]; close(unlink?: boolean): Promise<void> } | null;
}

export class Arbiter {
  settings: ResolvedSettings;
  hooks: Hooks;
  readonly log: Logger;
  readonly workers = new Map<number, WorkerHandle>();
  listeners: Listener[];
  preload: unknown;
  numWorkers = 0;
  generation = 0;
  readonly startedAt = Date.now();
  parentPid: number;
  reexecPid = 0;
  private workerAge = 0;
  private queue: ArbiterEvent[] = [];
  private wake: (() => void) | null = null;
  private everReady = false;
  /** Workers that exited before they were ready, while none has ever been (FIRST_START_ATTEMPTS). */
  private unbootedExits = 0;
  private announcedReady = false;
  /** Set once a stop has begun (readiness goes false, so load balancers drain us). */
  stopping = false;
  lastTick = Date.now();
  private reloading = false;
  private pendingReloads: { generation: number; reply: (r: ControlReply) => void }[] = [];
  private readonly backoff = new Backoff();
  /** Keep-alive balance: whether the total count has settled, and a wake-up for when it will have. */
  private readonly keptSettling = new Settling();
  /** Where the pidfile is now: it follows the `pidfile` setting (HUP) and loses its .2 (promotion). */
  private pidfile: Pidfile | null;
  private balanceTimer: NodeJS.Timeout | null = null;
  readonly server: ServerInfo;

  constructor(private readonly deps: ArbiterDeps) {
    this.settings = deps.settings;
    this.hooks = deps.hooks;
    this.log = deps.log;
    this.listeners = deps.listeners;
    this.preload = deps.preload;
    this.parentPid = deps.parentPid ?? 0;
    this.pidfile = deps.pidfile;
    const self = this;
    this.server = {
      pid: process.pid,
      get settings() {
        return self.settings;
      },
      log: this.log,
      workers: () => [...this.workers.values()].filter((w) => w.state !== 'exited').map((w) => w.info),
    };
    deps.relay.on('event', (e: { event: 'put' | 'patch' | 'delete'; data: string }) => {
      for (const w of this.workers.values()) w.send({ t: 'ld', event: e.event, data: e.data });
    });
    deps.relay.on('fatal', (f: { status: number; message: string }) => {
      for (const w of this.workers.values()) w.send({ t: 'ld-fatal', status: f.status, message: f.message });
    });
  }

  enqueue(e: ArbiterEvent): void {
    this.queue.push(e);
    this.wake?.();
  }

  /** Runs until stopped; resolves with the exit status. */
  async run(): Promise<number> {
    this.deps.inbox.catch(SIGNALS);
    this.queue.push(...this.deps.inbox.attach((e) => this.enqueue(e)));
    try {
      // The first nworkersChanged(n, null) already ran in master.ts, before onStarting (gunicorn's setup()).
      this.numWorkers = this.settings.workers;
      // What came while the master started goes first: a TERM stops it before it starts workers
      // it would only have to stop, a TTIN counts for the first workers.
      await this.dispatchAll(this.takeEvents());
      // Reconcile first (the first workers are spawned at once, not after a tick), then sleep
      // until an event or the next tick, then handle what came in.
      for (;;) {
        await this.maybePromote();
        await this.murderWorkers();
        await this.manageWorkers();
        await this.waitForEvents(this.tickMs());
        this.lastTick = Date.now();
        this.deps.reapOrphans?.();
        await this.dispatchAll(this.takeEvents());
        this.balanceKeepAlive();
      }
    } catch (err) {
      if (err instanceof StopLoop) return this.halt(null, EXIT.OK, err.graceful);
      if (err instanceof HaltError) return this.halt(err.reason, err.status, true);
      this.log.error(`Unhandled exception in main loop: ${oneLine(err)}`);
      if (err instanceof Error && err.stack) this.log.debug(err.stack);
      await this.stop(false);
      this.pidfile?.unlink();
      return EXIT.CRASH;
    }
  }

  tickMs(): number {
    const t = this.settings.timeout;
    return t > 0 ? Math.min(1000, Math.max(100, (t * 1000) / 4)) : 1000;
  }

  private waitForEvents(ms: number): Promise<void> {
    if (this.queue.length > 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  /** Takes the queued events. A burst of HUPs is one reload: the config is read at handling time anyway. */
  private takeEvents(): ArbiterEvent[] {
    const events = this.queue;
    this.queue = [];
    const isHup = (e: ArbiterEvent) => e.kind === 'signal' && e.name === 'SIGHUP';
    return events.filter((e, i) => !(isHup(e) && events.slice(i + 1).some(isHup)));
  }

  /**
   * Handles a batch in order. When one of them ends the loop (TERM, INT, a boot failure's halt),
   * the events after it go back to the queue for stop(): a worker's exit among them must be
   * reaped (or the stop waits gracefulTimeout for a process that is gone), an INT must make the
   * stop quick, and a control request must be answered.
   */
  private async dispatchAll(events: ArbiterEvent[]): Promise<void> {
    try {
      while (events.length > 0) await this.dispatch(events.shift()!);
    } finally {
      this.queue.unshift(...events);
    }
  }

  private async dispatch(e: ArbiterEvent): Promise<void> {
    switch (e.kind) {
      case 'exit':
        return this.reapWorker(e.worker, e.code, e.signal);
      case 'message':
        return this.onWorkerMessage(e.worker, e.msg);
      case 'control':
        return this.onControl(e.req, e.reply);
      case 'reexec-exit':
        if (e.pid === this.reexecPid) this.reexecPid = 0;
        this.log.warning(`New master (pid ${e.pid}) exited with code ${e.code}; this master carries on and accepts a new USR2.`);
        return;
      case 'signal':
        break;
    }
    this.log.info(`Handling signal: ${e.name.slice(3).toLowerCase()}`);
    switch (e.name) {
      case 'SIGTERM':
        throw new StopLoop(true);
      case 'SIGINT':
      case 'SIGQUIT':
        throw new StopLoop(false);
      case 'SIGHUP':
        return void (await this.handleHup());
      case 'SIGTTIN':
        return this.handleTtin();
      case 'SIGTTOU':
        return this.handleTtou();
      case 'SIGUSR1':
        return this.handleUsr1();
      case 'SIGUSR2':
        return this.handleUsr2();
      case 'SIGWINCH':
        return this.handleWinch();
    }
  }

  // ---- signal handlers -------------------------------------------------------------------

  /**
   * HUP: re-read the config (file, LDSUP_CMD_ARGS, command line), rebind if `bind` changed,
   * re-run preload, run onReload, then replace every worker, rolling: a new worker must be
   * ready before an old one gets TERM. A bad config or failing preload keeps everything as is.
   * Returns the new generation, or an error message.
   */
  private async handleHup(): Promise<number | string> {
    this.log.info('Hang up: Master');
    if (!this.deps.reload) return 'reload is not available';
    await this.deps.systemd?.notify('RELOADING=1');
    this.reloading = true;
    let next;
    try {
      next = await this.deps.reload();
      if (next.settings.bind.join('\n') !== this.settings.bind.join('\n')) {
        const fresh = await createListeners(next.settings.bind, this.listeners);
        // As in halt(): a unix socket path stays while another master (USR2 parent or child) serves on it.
        closeListeners(this.listeners.filter((l) => !fresh.includes(l)), !this.reexecPid && !this.parentPid);
        this.listeners = fresh;
        this.log.info(`Listening at: ${describeListeners(fresh)} (${process.pid})`);
      }
    } catch (err) {
      const msg = `Reload failed, keeping the running workers: ${oneLine(err)}`;
      this.log.error(msg);
      await this.settled();
      return msg;
    }
    this.settings = next.settings;
    this.hooks = next.hooks;
    this.preload = next.preload;
    this.log.reopen();
    this.generation++;
    await this.setNumWorkers(this.settings.workers);
    await runHook(this.hooks, 'onReload', this.log, {}, this.server);
    // The reload itself is done; a pidfile that cannot be written must not stop the server.
    await this.placePidfile('the reload');
    return this.generation;
  }

  /** TTIN: one worker more. */
  private async handleTtin(): Promise<void> {
    await this.setNumWorkers(this.numWorkers + 1);
  }

  /** TTOU: one worker less (the oldest goes), never below one. */
  private async handleTtou(): Promise<void> {
    if (this.numWorkers <= 1) return;
    await this.setNumWorkers(this.numWorkers - 1);
  }

  /** USR1: reopen log files, here and in every worker (logrotate). */
  private handleUsr1(): void {
    this.log.reopen();
    // Workers that dropped privileges reopen as their user: after logrotate moved the files, the
    // master (root) creates them again for that user first.
    try {
      const ids = resolveIds(this.settings.user, this.settings.group);
      if (ids) for (const p of giveLogFiles([this.settings.errorLog, this.settings.accessLog], ids)) this.log.error(p);
    } catch (err) {
      this.log.error(`USR1: ${oneLine(err)}`);
    }
    for (const w of this.workers.values()) w.send({ t: 'reopen' });
  }

  /** USR2: start a new master on the same sockets; both serve until one of them is stopped. */
  private async handleUsr2(): Promise<void> {
    if (this.reexecPid) return this.log.warning('USR2 signal ignored. Child exists.');
    if (this.parentPid) return this.log.warning('USR2 signal ignored. Parent exists.');
    await runHook(this.hooks, 'preExec', this.log, {}, this.server);
    const child: ChildProcess = spawnNewMaster(this.listeners, this.deps.endpoints?.()?.fds());
    if (!child.pid) {
      // Node (or its path) is gone, e.g. replaced by an upgrade: 'error' comes instead of 'exit'.
      child.once('error', (err) => this.log.error(`USR2: could not start a new master: ${oneLine(err)}; this master carries on.`));
      return;
    }
    this.reexecPid = child.pid;
    child.once('exit', (code) => this.enqueue({ kind: 'reexec-exit', pid: child.pid ?? 0, code }));
    this.log.info(`Started new master (pid ${this.reexecPid}) on the same sockets`);
  }

  /**
   * WINCH: stop all workers gracefully, keep the master and its sockets (connections wait in
   * the backlog; HUP or TTIN brings workers back). Ignored while the master has a terminal,
   * where every window resize sends WINCH (gunicorn: only when daemonized).
   */
  private async handleWinch(): Promise<void> {
    if (process.stdout.isTTY || process.stderr.isTTY) return this.log.debug('SIGWINCH ignored. Attached to a terminal');
    this.log.info('graceful stop of workers');
    await this.setNumWorkers(0);
  }

  private async setNumWorkers(n: number): Promise<void> {
    const old = this.numWorkers;
    this.numWorkers = n;
    await runHook(this.hooks, 'nworkersChanged', this.log, {}, this.server, n, old);
  }

  /** A USR2 child whose old master has exited takes over the pidfile. */
  private async maybePromote(): Promise<void> {
    if (!this.parentPid || process.ppid === this.parentPid) return;
    this.parentPid = 0;
    this.log.info('Master has been promoted.');
    // This master is the only one left now: a pidfile problem must not take it down.
    await this.placePidfile('the promotion');
  }

  /**
   * Puts the pidfile where the settings say (`<pidfile>.2` while the old master of a USR2 is
   * there), after HUP and at a USR2 promotion. As gunicorn's reload: the file is written anew,
   * and if `pidfile` changed, the new file written and the old one removed (a `pidfile` taken out
   * of the config removes it). The control socket goes with it, and first: whoever sees the
   * pidfile can talk to the master at once. A file that cannot be written is logged, and the
   * master keeps the one it had.
   */
  private async placePidfile(after: string): Promise<void> {
    const want = this.settings.pidfile && (this.parentPid ? `${this.settings.pidfile}.2` : this.settings.pidfile);
    const current = this.pidfile;
    if (!want) {
      if (!current) return;
      await this.deps.control?.close();
      current.unlink();
      this.pidfile = null;
      return this.log.info(`Pidfile removed: ${current.file} (no pidfile in the settings now)`);
    }
    if (current?.file === want) {
      try {
        current.write();
      } catch (err) {
        this.log.error(`Cannot rewrite the pidfile after ${after}: ${oneLine(err)}`);
      }
      return;
    }
    const next = new Pidfile(want);
    let socketMoved = false;
    try {
      next.check(); // the directory exists, no other live master holds it
      socketMoved = true;
      await this.deps.control?.listen(controlPath(want));
      if (current) current.rename(want);
      else next.write();
    } catch (err) {
      this.log.error(`Cannot move the pidfile to ${want} after ${after}: ${oneLine(err)}${current ? `; it stays at ${current.file}` : ''}`);
      if (socketMoved) await (current ? this.deps.control?.listen(controlPath(current.file)) : this.deps.control?.close())?.catch((e) => this.log.error(`control socket: ${oneLine(e)}`));
      return;
    }
    this.log.info(current ? `Pidfile moved to ${want}` : `Pidfile written: ${want}`);
    this.pidfile = current ?? next;
  }

  // ---- control requests ------------------------------------------------------------------

  private async onControl(req: ControlRequest, reply: (r: ControlReply) => void): Promise<void> {
    switch (req.cmd) {
      case 'status':
        return reply({ ok: true, ...this.status() });
      case 'reload': {
        const r = await this.handleHup();
        if (typeof r === 'string') return reply({ ok: false, error: r });
        this.pendingReloads.push({ generation: r, reply });
        return;
      }
      case 'scale': {
        const m = /^([+-]?)(\d+)$/.exec(req.value.trim());
        if (!m) return reply({ ok: false, error: `expected N, +N or -N, found "${req.value}"` });
        const n = m[1] === '+' ? this.numWorkers + Number(m[2]) : m[1] === '-' ? this.numWorkers - Number(m[2]) : Number(m[2]);
        if (n < 1 || n > 512) return reply({ ok: false, error: `the worker count must stay between 1 and 512 (would be ${n})` });
        await this.setNumWorkers(n);
        return reply({ ok: true, workers: n });
      }
    }
  }

  status(): Record<string, unknown> {
    const now = Date.now();
    return {
      master: {
        pid: process.pid,
        name: this.settings.name,
        uptimeS: Math.round((now - this.startedAt) / 1000),
        rssBytes: process.memoryUsage.rss(),
        workersWanted: this.numWorkers,
        generation: this.generation,
        listening: this.listeners.map((l) => describeListeners([l])),
        reexecPid: this.reexecPid || null,
        parentPid: this.parentPid || null,
      },
      workers: [...this.workers.values()]
        .filter((w) => w.state !== 'exited')
        .sort((a, b) => a.age - b.age)
        .map((w) => ({ pid: w.pid, age: w.age, state: w.state, ageS: Math.round((now - w.startedAt) / 1000), requests: w.requests, rssBytes: w.rss, generation: w.generation })),
      launchdarkly: this.deps.relay.status(),
    };
  }

  // ---- worker events ---------------------------------------------------------------------

  private onWorkerMessage(w: WorkerHandle, m: FromWorker): void {
    switch (m.t) {
      case 'ready':
        if (w.state !== 'booting') return;
        w.state = 'ready';
        w.readyAt = w.lastBeat = Date.now();
        this.everReady = true;
        return this.log.debug(`Worker ready (pid: ${w.pid})`);
      case 'hb':
        w.lastBeat = Date.now();
        if (m.requests > w.requests) this.deps.metrics?.requests.inc(m.requests - w.requests);
        w.requests = m.requests;
        w.rss = m.rss;
        w.inflight = m.inflight;
        w.lagMs = m.lagMs;
        return;
      case 'kept':
        w.kept = m.n; // the loop balances after handling its events
        return;
      case 'retire':
        w.wantsRetire = true;
        w.retireReason = m.reason;
        return;
      case 'boot-error':
        w.bootError = m.message;
        return;
    }
  }

  /**
   * Asks workers holding clearly more than their share of keep-alive connections to shed some
   * (balance.ts). Run after every batch of events and every tick: a shed connection can come back to the
   * same worker, and then no count changes. Only once the total count has settled (SETTLE_MS), and
   * a worker asked once is left alone for SHED_COOLDOWN_MS, while its shed connections close and
   * their clients reconnect.
   */
  private balanceKeepAlive(): void {
    if (!this.settings.keepAliveBalance) return;
    const serving = [...this.workers.values()].filter((w) => w.state === 'ready' && !w.wantsRetire);
    const kept = serving.map((w) => w.kept);
    const now = Date.now();
    const settling = this.keptSettling.wait(kept.reduce((a, b) => a + b, 0), now);
    if (settling > 0) {
      // Come back when it has settled, even if no event comes (the tick may be a second away).
      this.balanceTimer ??= setTimeout(() => {
        this.balanceTimer = null;
        this.wake?.();
      }, settling).unref();
      return;
    }
    const { shed, share } = shedPlan(kept);
    shed.forEach((n, i) => {
      const w = serving[i]!;
      if (n === 0 || now - w.shedAt < SHED_COOLDOWN_MS) return;
      w.shedAt = now;
      w.send({ t: 'shed', n, keep: share });
    });
  }

  private async reapWorker(w: WorkerHandle, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    const wasRetiring = w.state === 'retiring';
    this.deps.metrics?.restarts.inc({ reason: this.stopping ? 'stop' : wasRetiring ? (w.retireReason ?? 'retire') : 'crash' });
    w.state = 'exited';
    this.workers.delete(w.pid);
    if (signal === 'SIGKILL') this.log.error(`Worker (pid:${w.pid}) was sent SIGKILL! Perhaps out of memory?`);
    else if (signal === 'SIGTERM' || signal === 'SIGQUIT') this.log.info(`Worker (pid:${w.pid}) was sent ${signal}!`);
    else if (signal) this.log.warning(`Worker (pid:${w.pid}) was sent ${signal}!`);
    else if (code !== 0) this.log.error(`Worker (pid:${w.pid}) exited with code ${code}`);
    await runHook(this.hooks, 'childExit', this.log, {}, this.server, w.info);
    if (!w.readyAt && (code === EXIT.WORKER_BOOT_ERROR || code === EXIT.APP_LOAD_ERROR || w.retireReason === BOOT_TIMEOUT)) {
      const reason = code === EXIT.APP_LOAD_ERROR ? 'App failed to load.' : 'Worker failed to boot.';
      // At first start there is nothing to keep serving: stop, as gunicorn does. After a healthy
      // start (a crash respawn, a reload with broken code) keep what serves and back off.
      if (!this.everReady) throw new HaltError(w.bootError ? `${reason} ${w.bootError}` : reason, w.retireReason === BOOT_TIMEOUT || code === null ? EXIT.WORKER_BOOT_ERROR : code);
      if (w.generation === this.generation && this.hasOlderGeneration()) this.abandonReload(`${reason} ${w.bootError ?? ''}`.trim());
    }
    if (!w.readyAt && !wasRetiring && !this.everReady && ++this.unbootedExits >= FIRST_START_ATTEMPTS) {
      const last = signal ? `was sent ${signal}` : `exited with code ${code}`;
      throw new HaltError(`Worker failed to boot. ${FIRST_START_ATTEMPTS} workers in a row ended before they were ready (the last ${last}) and none has served yet.`, EXIT.WORKER_BOOT_ERROR);
    }
    // SIGKILL comes from outside (an operator, the OOM killer, a chaos test), not from a crashing
    // app: counting it would make a kill storm look like a crash loop and leave no worker for 30 s.
    if (!wasRetiring && signal !== 'SIGKILL') this.backoff.failure(Date.now() - w.startedAt, this.log);
  }

  private hasOlderGeneration(): boolean {
    return [...this.workers.values()].some((x) => x.generation < this.generation && x.state !== 'exited');
  }

  /** A reload whose new workers cannot boot is abandoned: the old workers become current again. */
  private abandonReload(reason: string): void {
    this.log.error(`Reload failed: new workers cannot boot (${reason}); keeping the running workers.`);
    this.reloading = false;
    void this.deps.systemd?.notify('READY=1');
    for (const p of this.pendingReloads.splice(0)) p.reply({ ok: false, error: `new workers cannot boot: ${reason}` });
    this.generation++;
    for (const x of this.workers.values()) {
      if (x.state === 'booting') this.retire(x, 'reload abandoned');
      x.generation = this.generation;
    }
  }

  // ---- reconciliation --------------------------------------------------------------------

  /**
   * Timeouts: a worker silent for `timeout` is aborted (it runs workerAbort if its loop still
   * can) and killed a tick later, with where it was stuck in the log. Memory: a worker over
   * `maxMemory` is recycled gracefully (replacement first).
   */
  private async murderWorkers(): Promise<void> {
    const t = this.settings.timeout;
    const now = Date.now();
    for (const w of this.workers.values()) {
      if (w.state === 'exited') continue;
      if (w.abortedAt) {
        if (now - w.abortedAt >= 1000) w.kill('SIGKILL');
        continue;
      }
      if (w.state === 'booting') {
        // gunicorn counts a booting worker's silence too: an app that never finishes importing
        // would otherwise hold a start (or a reload's one-at-a-time boot) forever.
        if (t > 0 && now - w.startedAt > t * 1000) {
          this.log.critical(`WORKER TIMEOUT (pid:${w.pid})`);
          w.bootError = `it did not finish booting within timeout (${t} s)`;
          this.log.error(`Worker ${w.pid}: ${w.bootError}`);
          this.abortWorker(w, now, BOOT_TIMEOUT);
        }
        continue;
      }
      // A retiring worker drains for at most gracefulTimeout, as in a stop (a request that never
      // ends must not keep a reload, or a scale-down, from completing).
      if (w.state === 'retiring' && w.termAt && now - w.termAt > this.settings.gracefulTimeout * 1000) {
        this.log.warning(`Worker (pid:${w.pid}) still draining after graceful-timeout (${this.settings.gracefulTimeout} s): killing it`);
        w.kill('SIGKILL');
        w.abortedAt = now; // and again on a later tick, should it still be there
        continue;
      }
      if (t > 0 && now - w.lastBeat > t * 1000) {
        this.log.critical(`WORKER TIMEOUT (pid:${w.pid})`);
        this.log.error(`Worker ${w.pid} was stuck (no heartbeat for ${((now - w.lastBeat) / 1000).toFixed(1)} s): ${await whereStuck(this.deps.runDir, w.pid)}`);
        this.abortWorker(w, now, 'timeout');
        continue;
      }
      const limit = this.settings.maxMemory * 1024 * 1024;
      if (limit > 0 && w.rss > limit && !w.wantsRetire && w.state === 'ready') {
        this.log.warning(`Worker (pid:${w.pid}) uses ${(w.rss / 1048576).toFixed(0)} MB, over max-memory ${this.settings.maxMemory} MB: replacing it`);
        w.wantsRetire = true;
        w.retireReason = 'memory';
      }
    }
  }

  /**
   * Reconcile toward `numWorkers` current-generation workers:
   * 1. stop booting workers of an older generation (a newer reload superseded them);
   * 2. stop the oldest surplus (TTOU, scale, WINCH);
   * 3. replace outdated workers (HUP) and those that asked to go (max-requests, memory) only
   *    while more workers are serving than needed, so a replacement is ready before its
   *    predecessor stops serving;
   * 4. spawn the missing ones (unless a crash loop is backing off); one at a time while
   *    replacing serving workers.
   */
  private async manageWorkers(): Promise<void> {
    const all = [...this.workers.values()].filter((w) => w.state !== 'exited').sort((a, b) => a.age - b.age);
    const counted = all.filter((w) => w.state !== 'retiring' && w.generation === this.generation && !w.wantsRetire);
    for (const w of all) if (w.state === 'booting' && w.generation < this.generation) this.retire(w, 'reload');
    if (counted.length > this.numWorkers) for (const w of counted.slice(0, counted.length - this.numWorkers)) this.retire(w, 'scale down');
    let serving = all.filter((w) => w.state === 'ready').length;
    for (const w of all) {
      if (w.state !== 'ready' || !(w.generation < this.generation || w.wantsRetire)) continue;
      if (serving - 1 < this.numWorkers && this.numWorkers > 0) break;
      this.retire(w, w.wantsRetire ? (w.retireReason ?? 'retire') : 'reload');
      serving--;
    }
    const missing = this.numWorkers - Math.min(counted.length, this.numWorkers);
    // While replacing serving workers (HUP, recycling) boot one at a time: a booting Node process
    // burns a core for a while, and on a busy host the old workers need that CPU to keep serving.
    const replacing = all.some((w) => w.state === 'ready' && (w.generation < this.generation || w.wantsRetire));
    const booting = all.filter((w) => w.state === 'booting').length;
    const budget = replacing ? Math.max(0, 1 - booting) : missing;
    for (const w of all) if (w.state === 'ready') this.backoff.serving(w.startedAt);
    if (missing > 0 && this.backoff.ready()) for (let i = 0; i < Math.min(missing, budget); i++) await this.spawn();
    await this.checkReady();
  }

  /** Announce readiness once; answer `ldsup reload` once its generation is fully up. */
  private async checkReady(): Promise<void> {
    const live = [...this.workers.values()].filter((w) => w.state !== 'exited');
    const current = live.filter((w) => w.state === 'ready' && w.generation === this.generation).length;
    const settled = current >= this.numWorkers && !live.some((w) => w.generation < this.generation);
    if (settled && this.pendingReloads.length > 0) {
      for (const p of this.pendingReloads.splice(0)) p.reply({ ok: true, generation: p.generation, workers: current });
    }
    if (settled && this.reloading) await this.settled();
    if (!this.announcedReady && this.numWorkers > 0 && current >= this.numWorkers) {
      this.announcedReady = true;
      this.log.info(`Ready: ${this.numWorkers} worker${this.numWorkers === 1 ? '' : 's'} serving (master ${process.pid})`);
      await runHook(this.hooks, 'whenReady', this.log, {}, this.server);
      this.deps.onReady?.();
    }
  }

  /** A reload is over (done, failed or abandoned): tell systemd we are ready again. */
  private async settled(): Promise<void> {
    this.reloading = false;
    await this.deps.systemd?.notify('READY=1');
  }

  /** Timeout: workerAbort in the worker if its loop still runs, SIGKILL a tick later. */
  private abortWorker(w: WorkerHandle, now: number, reason: string): void {
    w.abortedAt = now;
    w.state = 'retiring';
    w.retireReason = reason;
    w.send({ t: 'abort' });
  }

  private retire(w: WorkerHandle, reason: string): void {
    w.state = 'retiring';
    w.retireReason = reason;
    w.termAt = Date.now();
    this.log.debug(`Stopping worker (pid: ${w.pid}): ${reason}`);
    w.kill('SIGTERM');
  }

  private async spawn(): Promise<void> {
    const s = this.settings;
    const max = s.maxRequests > 0 ? s.maxRequests + Math.floor(Math.random() * (s.maxRequestsJitter + 1)) : 0;
    const w = new WorkerHandle(++this.workerAge, this.generation, max, this.listeners.length);
    await runHook(this.hooks, 'preFork', this.log, {}, this.server, w.info);
    spawnWorker(w, {
      listenFds: this.listeners.map((l) => l.fd),
      env: process.env,
      onMessage: (worker, msg) => this.enqueue({ kind: 'message', worker, msg }),
      onExit: (worker, code, signal) => this.enqueue({ kind: 'exit', worker, code, signal }),
    });
    if (!w.pid) return;
    this.workers.set(w.pid, w);
    // Sent at once, not in answer to a hello: the worker reads it as soon as its event loop
    // starts (its 'message' listener is set while its code loads), a round trip sooner.
    w.send({
      t: 'init',
      age: w.age,
      settings: s,
      listenFds: childFds(w.listenerCount),
      preload: this.preload,
      flags: this.deps.relay.snapshot() as { event: 'put'; data: string } | null,
      maxRequests: w.maxRequests,
      hooks: Object.keys(this.hooks),
      heartbeatMs: this.tickMs(),
      runDir: this.deps.runDir,
      balance: s.keepAliveBalance,
    });
    // A key LaunchDarkly rejected stays rejected: a worker started after that is told as the
    // others were, so its client fails at once instead of waiting for data that will not come.
    const rejected = this.deps.relay.fatal();
    if (rejected) w.send({ t: 'ld-fatal', ...rejected });
    this.log.info(`Booting worker with pid: ${w.pid}`);
  }

  // ---- stopping --------------------------------------------------------------------------

  /**
   * Closes the master's sockets, then stops every worker: TERM (graceful) or QUIT (quick), reap
   * until `gracefulTimeout`, SIGKILL the rest, reap again. An INT/QUIT during a graceful stop turns
   * it into a quick one.
   */
  async stop(graceful: boolean): Promise<void> {
    this.stopping = true;
    // The master's copies of the sockets go first, as in gunicorn's stop(); the workers close
    // theirs as they start to drain, and then the port is closed: a new connection is refused at
    // once, which a client or proxy retries elsewhere. Kept open, it was accepted into a backlog
    // that no process would take it from, its request sent, and reset when the master exited, up
    // to gracefulTimeout later (too late to retry, and never for a POST). Another master (USR2)
    // or systemd holding the socket keeps it open, and its workers take those connections.
    // A unix socket path stays while another master (USR2 parent or child) serves on it.
    closeListeners(this.listeners, !this.reexecPid && !this.parentPid);
    for (const w of this.workers.values()) {
      w.state = 'retiring';
      w.kill(graceful ? 'SIGTERM' : 'SIGQUIT');
    }
    let deadline = Date.now() + this.settings.gracefulTimeout * 1000;
    let quick = !graceful;
    while (this.workers.size > 0 && Date.now() < deadline) {
      await this.waitForEvents(Math.min(100, Math.max(1, deadline - Date.now())));
      this.lastTick = Date.now();
      this.deps.reapOrphans?.();
      for (const e of this.takeEvents()) {
        if (e.kind === 'exit') await this.reapWorker(e.worker, e.code, e.signal).catch(() => {});
        else if (e.kind === 'control') e.reply({ ok: false, error: 'the master is shutting down' });
        else if (e.kind === 'signal' && (e.name === 'SIGINT' || e.name === 'SIGQUIT') && !quick) {
          quick = true;
          this.log.info('Quick shutdown requested');
          for (const w of this.workers.values()) w.kill('SIGQUIT');
          deadline = Math.min(deadline, Date.now() + 2000);
        }
      }
    }
    for (const w of this.workers.values()) w.kill('SIGKILL');
    const killDeadline = Date.now() + 2000;
    while (this.workers.size > 0 && Date.now() < killDeadline) {
      await this.waitForEvents(50);
      for (const e of this.takeEvents()) if (e.kind === 'exit') await this.reapWorker(e.worker, e.code, e.signal).catch(() => {});
    }
  }

  /** Stop workers, close sockets, say why, remove the pidfile, run onExit; returns the exit status. */
  private async halt(reason: string | null, status: number, graceful: boolean): Promise<number> {
    // The other master of a USR2 (parent or child) stays, and with it the service: systemd is
    // told to follow it, not that the service stops. It serves on the same health and metrics
    // sockets too: leave the probes to it now, rather than answer half of them 'stopping' while
    // this one drains (a load balancer would take the host out). Its socket paths stay.
    const other = this.reexecPid || this.parentPid;
    if (other && this.deps.systemd?.handOver) await this.deps.systemd.handOver(other);
    else await this.deps.systemd?.notify('STOPPING=1');
    if (other) await this.deps.endpoints?.()?.close(false);
    await this.stop(graceful);
    for (const p of this.pendingReloads.splice(0)) p.reply({ ok: false, error: 'the master stopped' });
    await this.deps.relay.close();
    const say = status === 0 ? this.log.info : this.log.error;
    say('Shutting down: Master');
    if (reason) say(`Reason: ${reason}`);
    this.deps.onHalt?.(reason, status);
    this.pidfile?.unlink();
    await runHook(this.hooks, 'onExit', this.log, {}, this.server);
    // The signals stay caught (queued, never handled) until the process exits: the master still
    // closes its endpoints and control socket and removes its run directory, and a second TERM
    // then must not turn a clean exit 0 into a death by signal with those files left behind.
    return status;
  }
}
