/**
 * The master ("arbiter", as in gunicorn): owns all master state and runs one loop.
 *
 * Signal handlers, worker exits and worker messages only enqueue an event. The loop wakes on an
 * event (or a tick), dispatches each to a handler (handleTerm, handleHup, …), then runs
 * murderWorkers() (timeouts) and manageWorkers() (reconcile the worker table toward the desired
 * state). Nothing else changes the worker table.
 */
import { EXIT, HaltError, oneLine } from './errors.js';
import { runHook } from './hooks.js';
import type { FlagRelay } from './launchdarkly/index.js';
import type { Logger } from './log.js';
import type { Pidfile } from './pidfile.js';
import type { FromWorker } from './protocol.js';
import { closeListeners, type Listener } from './sockets.js';
import type { Hooks, ResolvedSettings, ServerInfo } from './types.js';
import { childFds, spawnWorker, WorkerHandle } from './workers.js';
import { Backoff } from './backoff.js';
import { whereStuck } from './stuck.js';

export type ArbiterEvent =
  | { kind: 'signal'; name: SignalName }
  | { kind: 'exit'; worker: WorkerHandle; code: number | null; signal: NodeJS.Signals | null }
  | { kind: 'message'; worker: WorkerHandle; msg: FromWorker };

export const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGTTIN', 'SIGTTOU', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'] as const;
export type SignalName = (typeof SIGNALS)[number];

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
  /** Private (0700) directory for this master's runtime files. */
  runDir: string;
  /** Re-reads the configuration for HUP; throws a one-line error if it is invalid. */
  reloadConfig?(): Promise<{ settings: ResolvedSettings; hooks: Hooks }>;
}

export class Arbiter {
  settings: ResolvedSettings;
  hooks: Hooks;
  readonly log: Logger;
  readonly workers = new Map<number, WorkerHandle>();
  private numWorkers = 0;
  private workerAge = 0;
  private generation = 0;
  private queue: ArbiterEvent[] = [];
  private wake: (() => void) | null = null;
  private everReady = false;
  private announcedReady = false;
  private readonly backoff = new Backoff();
  readonly server: ServerInfo;
  private readonly signalHandlers = new Map<string, () => void>();

  constructor(private readonly deps: ArbiterDeps) {
    this.settings = deps.settings;
    this.hooks = deps.hooks;
    this.log = deps.log;
    this.server = {
      pid: process.pid,
      settings: this.settings,
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
    for (const sig of SIGNALS) {
      const h = () => this.enqueue({ kind: 'signal', name: sig });
      this.signalHandlers.set(sig, h);
      process.on(sig, h);
    }
    try {
      await this.setNumWorkers(this.settings.workers);
      for (;;) {
        await this.waitForEvents(this.tickMs());
        for (const e of this.takeEvents()) await this.dispatch(e);
        this.murderWorkers();
        await this.manageWorkers();
      }
    } catch (err) {
      if (err instanceof StopLoop) return this.halt(null, EXIT.OK, err.graceful);
      if (err instanceof HaltError) return this.halt(err.reason, err.status, true);
      this.log.error(`Unhandled exception in main loop: ${oneLine(err)}`);
      if (err instanceof Error && err.stack) this.log.debug(err.stack);
      await this.stop(false);
      this.deps.pidfile?.unlink();
      return EXIT.CRASH;
    }
  }

  private tickMs(): number {
    const t = this.settings.timeout;
    return t > 0 ? Math.min(1000, Math.max(100, (t * 1000) / 4)) : 1000;
  }

  private waitForEvents(ms: number): Promise<void> {
    if (this.queue.length > 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }

  /** Takes the queued events. A burst of HUPs is one reload: the config is read at handling time anyway. */
  private takeEvents(): ArbiterEvent[] {
    const events = this.queue;
    this.queue = [];
    return events.filter((e, i) => !(e.kind === 'signal' && e.name === 'SIGHUP' && events.slice(i + 1).some((n) => n.kind === 'signal' && n.name === 'SIGHUP')));
  }

  private async dispatch(e: ArbiterEvent): Promise<void> {
    if (e.kind === 'exit') return this.reapWorker(e.worker, e.code, e.signal);
    if (e.kind === 'message') return this.onWorkerMessage(e.worker, e.msg);
    this.log.info(`Handling signal: ${e.name.slice(3).toLowerCase()}`);
    switch (e.name) {
      case 'SIGTERM':
        throw new StopLoop(true);
      case 'SIGINT':
      case 'SIGQUIT':
        throw new StopLoop(false);
      case 'SIGHUP':
        return this.handleHup();
      case 'SIGTTIN':
        return this.handleTtin();
      case 'SIGTTOU':
        return this.handleTtou();
      case 'SIGUSR1':
        return this.handleUsr1();
      case 'SIGWINCH':
        return this.handleWinch();
      case 'SIGUSR2':
        this.log.warning('USR2 (re-exec) is not supported yet; ignored.');
        return;
    }
  }

  // ---- signal handlers -------------------------------------------------------------------

  /** HUP: re-read the config and replace every worker, rolling: a new one must be ready before an old one stops. */
  private async handleHup(): Promise<void> {
    this.log.info('Hang up: Master');
    if (!this.deps.reloadConfig) return;
    let next;
    try {
      next = await this.deps.reloadConfig();
    } catch (err) {
      this.log.error(`Reload failed, keeping the running workers: ${oneLine(err)}`);
      return;
    }
    this.settings = next.settings;
    this.hooks = next.hooks;
    (this.server as { settings: ResolvedSettings }).settings = next.settings;
    this.generation++;
    await this.setNumWorkers(this.settings.workers);
    await runHook(this.hooks, 'onReload', this.log, {}, this.server);
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
    for (const w of this.workers.values()) w.send({ t: 'reopen' });
  }

  /** WINCH: gracefully stop all workers, keep the master and its sockets (connections wait in the backlog). */
  private async handleWinch(): Promise<void> {
    this.log.info('graceful stop of workers');
    await this.setNumWorkers(0);
  }

  private async setNumWorkers(n: number): Promise<void> {
    const old = this.workerAge === 0 && this.numWorkers === 0 ? null : this.numWorkers;
    this.numWorkers = n;
    await runHook(this.hooks, 'nworkersChanged', this.log, {}, this.server, n, old);
  }

  // ---- worker events ---------------------------------------------------------------------

  private async onWorkerMessage(w: WorkerHandle, m: FromWorker): Promise<void> {
    switch (m.t) {
      case 'hello':
        w.send({
          t: 'init',
          age: w.age,
          settings: this.settings,
          listenFds: childFds(this.deps.listeners.length),
          preload: this.deps.preload,
          flags: this.deps.relay.snapshot() as { event: 'put'; data: string } | null,
          maxRequests: w.maxRequests,
          hooks: Object.keys(this.hooks),
          heartbeatMs: this.tickMs(),
          runDir: this.deps.runDir,
        });
        return;
      case 'ready':
        if (w.state !== 'booting') return;
        w.state = 'ready';
        w.readyAt = Date.now();
        w.lastBeat = Date.now();
        this.everReady = true;
        this.log.debug(`Worker ready (pid: ${w.pid})`);
        return;
      case 'hb':
        w.lastBeat = Date.now();
        w.requests = m.requests;
        w.rss = m.rss;
        return;
      case 'retire':
        w.wantsRetire = true;
        w.retireReason = m.reason;
        return;
    }
  }

  private async reapWorker(w: WorkerHandle, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    const wasRetiring = w.state === 'retiring';
    const wasReady = w.readyAt > 0;
    w.state = 'exited';
    this.workers.delete(w.pid);
    if (signal === 'SIGKILL') this.log.error(`Worker (pid:${w.pid}) was sent SIGKILL! Perhaps out of memory?`);
    else if (signal === 'SIGTERM' || signal === 'SIGQUIT') this.log.info(`Worker (pid:${w.pid}) was sent ${signal}!`);
    else if (signal) this.log.warning(`Worker (pid:${w.pid}) was sent ${signal}!`);
    else if (code !== 0) this.log.error(`Worker (pid:${w.pid}) exited with code ${code}`);
    await runHook(this.hooks, 'childExit', this.log, {}, this.server, w.info);
    if (!wasReady && (code === EXIT.WORKER_BOOT_ERROR || code === EXIT.APP_LOAD_ERROR)) {
      const reason = code === EXIT.APP_LOAD_ERROR ? 'App failed to load.' : 'Worker failed to boot.';
      // At first start there is nothing to keep serving: stop, as gunicorn does. After a healthy
      // start (a crash respawn, a reload with broken code), keep what serves and back off.
      if (!this.everReady) throw new HaltError(reason, code);
      if (w.generation === this.generation && this.hasOlderGeneration()) {
        this.log.error(`Reload failed: new workers cannot boot (${reason}); keeping the running workers.`);
        this.adoptOlderWorkers();
      }
    }
    if (!wasRetiring) this.backoff.failure(Date.now() - w.startedAt, this.log);
  }

  private hasOlderGeneration(): boolean {
    return [...this.workers.values()].some((x) => x.generation < this.generation && x.state !== 'exited');
  }

  /** A reload whose workers cannot boot is abandoned: the old workers become current again. */
  private adoptOlderWorkers(): void {
    this.generation++;
    for (const x of this.workers.values()) if (x.state === 'booting') this.retire(x, 'reload abandoned');
    for (const x of this.workers.values()) (x as { generation: number }).generation = this.generation;
  }

  // ---- reconciliation --------------------------------------------------------------------

  /** Timeouts: a worker silent for `timeout` is aborted; if still there a tick later, killed. */
  private murderWorkers(): void {
    const t = this.settings.timeout;
    if (t <= 0) return;
    const now = Date.now();
    for (const w of this.workers.values()) {
      if (w.state === 'exited' || w.state === 'booting') continue;
      if (w.abortedAt) {
        if (now - w.abortedAt >= 1000) w.kill('SIGKILL');
        continue;
      }
      if (now - w.lastBeat <= t * 1000) continue;
      this.log.critical(`WORKER TIMEOUT (pid:${w.pid})`);
      this.log.error(`Worker ${w.pid} was stuck (no heartbeat for ${((now - w.lastBeat) / 1000).toFixed(1)} s): ${whereStuck(this.deps.runDir, w.pid)}`);
      w.abortedAt = now;
      w.state = 'retiring';
      w.retireReason = 'timeout';
      w.send({ t: 'abort' });
    }
  }

  /**
   * Reconcile toward `numWorkers` current-generation workers:
   * 1. spawn the missing ones (unless a crash loop is backing off);
   * 2. stop the oldest surplus (TTOU, WINCH);
   * 3. replace outdated workers (HUP) and those that asked to go (max-requests) only while more
   *    workers are serving than needed, so a replacement is ready before its predecessor stops.
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
    const missing = this.numWorkers - counted.length;
    if (missing > 0 && this.backoff.ready()) {
      for (let i = 0; i < missing; i++) await this.spawn();
    }
    if (!this.announcedReady && this.numWorkers > 0 && all.filter((w) => w.state === 'ready').length >= this.numWorkers) {
      this.announcedReady = true;
      this.log.info(`Ready: ${this.numWorkers} worker${this.numWorkers === 1 ? '' : 's'} serving (master ${process.pid})`);
      await runHook(this.hooks, 'whenReady', this.log, {}, this.server);
    }
  }

  private retire(w: WorkerHandle, reason: string): void {
    w.state = 'retiring';
    w.retireReason = reason;
    this.log.debug(`Stopping worker (pid: ${w.pid}): ${reason}`);
    w.kill('SIGTERM');
  }

  private async spawn(): Promise<void> {
    const s = this.settings;
    const max = s.maxRequests > 0 ? s.maxRequests + Math.floor(Math.random() * (s.maxRequestsJitter + 1)) : 0;
    const w = new WorkerHandle(++this.workerAge, this.generation, max);
    await runHook(this.hooks, 'preFork', this.log, {}, this.server, w.info);
    spawnWorker(w, {
      listenFds: this.deps.listeners.map((l) => l.fd),
      env: process.env,
      onMessage: (worker, msg) => this.enqueue({ kind: 'message', worker, msg }),
      onExit: (worker, code, signal) => this.enqueue({ kind: 'exit', worker, code, signal }),
    });
    if (w.pid) {
      this.workers.set(w.pid, w);
      this.log.info(`Booting worker with pid: ${w.pid}`);
    }
  }

  // ---- stopping --------------------------------------------------------------------------

  /**
   * Stops every worker: TERM (graceful) or QUIT (quick), reap until `gracefulTimeout`, SIGKILL
   * the rest, reap again. An INT/QUIT during a graceful stop turns it into a quick one.
   */
  async stop(graceful: boolean): Promise<void> {
    const sig: NodeJS.Signals = graceful ? 'SIGTERM' : 'SIGQUIT';
    for (const w of this.workers.values()) {
      w.state = 'retiring';
      w.kill(sig);
    }
    let deadline = Date.now() + this.settings.gracefulTimeout * 1000;
    let quick = !graceful;
    while (this.workers.size > 0 && Date.now() < deadline) {
      await this.waitForEvents(Math.min(100, Math.max(1, deadline - Date.now())));
      for (const e of this.takeEvents()) {
        if (e.kind === 'exit') await this.reapWorker(e.worker, e.code, e.signal).catch(() => {});
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
    await this.stop(graceful);
    closeListeners(this.deps.listeners, true);
    await this.deps.relay.close();
    const say = status === 0 ? this.log.info : this.log.error;
    say('Shutting down: Master');
    if (reason) say(`Reason: ${reason}`);
    this.deps.pidfile?.unlink();
    await runHook(this.hooks, 'onExit', this.log, {}, this.server);
    for (const [sig, h] of this.signalHandlers) process.off(sig, h);
    return status;
  }
}
