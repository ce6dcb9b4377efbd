/**
 * The worker: the program each worker process runs (forked by the master).
 *
 * Boot order (gunicorn's init_process, adapted): init from the master (sent as it forks us) → logger →
 * LaunchDarkly client from the master's flag data → postFork → import the app → postWorkerInit →
 * listen on the inherited sockets → ready. Any failure before ready exits with 3 (boot
 * error) or 4 (app has no handler), which the master reads.
 *
 * Stop: TERM = drain and exit 0; QUIT/INT = workerInt, drop connections, exit 0; master gone
 * (IPC disconnect) = drain for at most 1.5 s and exit, so no worker outlives its master.
 */
import { EventEmitter } from 'node:events';
import type { RequestListener } from 'node:http';
import type { LDClient } from '@launchdarkly/node-server-sdk';
import { CountingResponse, createAccessLog, type AccessLog } from './access-log.js';
import { SHED_COOLDOWN_MS } from './balance.js';
import { AppLoadError, EXIT, oneLine } from './errors.js';
import { runHook } from './hooks.js';
import { HttpServing } from './http-server.js';
import { closeClient } from './launchdarkly/close-client.js';
import { resolveLaunchDarklySettings, type LaunchDarklySettings } from './launchdarkly/settings.js';
import { setWorkerBootstrap } from './launchdarkly/worker-bootstrap.js';
import { createWorkerClient, createWorkerClientSync } from './launchdarkly/worker-client.js';
import { appExport, importApp, resolveHandler } from './loader.js';
import { createLogger, type Logger } from './log.js';
import { isMsg, type FromWorker, type InitMsg, type ToWorker } from './protocol.js';
import { startWatchdog } from './watchdog.js';
import { dropPrivileges, resolveIds } from './privileges.js';
import { WORKER_HOOKS, type Hooks, type WorkerContext } from './types.js';


let log: Logger = createLogger();
let hooks: Hooks = {};
let serving: HttpServing | null = null;
let ctx: WorkerContext | null = null;
let ld: LDClient | null = null;
let access: AccessLog | null = null;
/** How this worker is stopping, once told to: a quick stop may still overtake a graceful one. */
let stopping: 'graceful' | 'quick' | null = null;
let ready = false;
let requests = 0;
let retiring = false;

/**
 * Flag events reach the LaunchDarkly data source through this channel. Events that arrive after
 * `init` (whose snapshot they follow) but before the client has subscribed are held and
 * replayed, so a worker booting during a flag change cannot miss it.
 */
class FlagChannel extends EventEmitter {
  private held: unknown[] | null = [];
  constructor() {
    super();
    this.on('newListener', (ev: string) => {
      if (ev !== 'message' || !this.held) return;
      const held = this.held;
      this.held = null;
      queueMicrotask(() => held.forEach((m) => this.emit('message', m)));
    });
  }
  deliver(m: unknown): void {
    if (this.held) this.held.push(m);
    else this.emit('message', m);
  }
}
const flagChannel = new FlagChannel();

const send = (m: object) => {
  if (process.connected) process.send!(m);
};

function onMessage(m: unknown): void {
  if (!isMsg(m)) return;
  const msg = m as ToWorker;
  switch (msg.t) {
    case 'init':
      boot(msg).catch(bootFailed);
      break;
    case 'reopen':
      log.reopen();
      access?.reopen();
      break;
    case 'abort':
      void abort();
      break;
    case 'shed':
      serving?.shed(msg.n, msg.keep, SHED_COOLDOWN_MS);
      // Report again once they have gone, even if as many came back (then nothing else would).
      setTimeout(sendKept, SHED_COOLDOWN_MS).unref();
      break;
    case 'ld':
    case 'ld-fatal':
      flagChannel.deliver(msg);
      break;
  }
}

async function boot(init: InitMsg): Promise<void> {
  const s = init.settings;
  log = createLogger({ level: s.logLevel, format: s.logFormat, file: s.errorLog, tolerant: true });
  // The config file (cosmiconfig, maybe jiti) is loaded only when it has hooks that run here.
  if (init.hooks.some((h) => WORKER_HOOKS.includes(h as never)) && s.configFile) {
    const { loadConfigFile, splitFileConfig } = await import('./config.js');
    hooks = splitFileConfig(await loadConfigFile(s.configFile, process.cwd())).hooks;
  }
  const ldSettings = resolveLaunchDarklySettings(s.launchdarkly);
  // With LaunchDarkly configured (a key, a flags file, daemon mode) the client is made now, before
  // the app loads. Without, every flag is a default: the SDK (~60 ms of CPU and ~12 MB per worker) is
  // loaded only if the app asks for ctx.ld.
  if (ldSettings.sdkKey || ldSettings.flagsFile || ldSettings.mode === 'daemon') ld = await makeLdClient(ldSettings, init);
  const base = { pid: process.pid, age: init.age, log, preload: init.preload, settings: s };
  ctx = Object.defineProperty(base, 'ld', { enumerable: true, get: () => ld ?? makeLdClientSync(ldSettings, init) }) as WorkerContext;
  await runHook(hooks, 'postFork', log, { critical: true }, ctx);
  // Files are opened before privileges are dropped (as gunicorn's workers inherit them).
  if (s.accessLog) access = createAccessLog(s.accessLog, s.accessLogFormat);
  const ids = resolveIds(s.user, s.group);
  if (ids) dropPrivileges(ids);
  const file = s.app!;
  const handler = await resolveHandler(appExport(await importApp(file), file), ctx, file);
  serving = new HttpServing({
    fds: init.listenFds,
    backlog: s.backlog,
    keepAliveMs: s.keepAlive * 1000,
    handler: wrapHandler(handler, init.maxRequests),
    limits: { requestLine: s.limitRequestLine, fields: s.limitRequestFields, fieldSize: s.limitRequestFieldSize, headersTimeoutMs: s.headersTimeout * 1000 },
    ...(access ? { ServerResponse: CountingResponse } : {}),
    onDone:
      access || hooks.postRequest
        ? (req, res, t0) => {
            access?.log(req, res, t0);
            if (hooks.postRequest) runSync('postRequest', () => hooks.postRequest!(ctx!, req, res));
          }
        : undefined,
  });
  serving.onAppError = (err) => log.error(`Error handling request: ${oneLine(err)}`);
  if (init.balance) serving.onKeptChange = reportKept;
  // postWorkerInit first, as gunicorn's worker runs it before its accept loop: a worker that
  // accepted while the hook ran served requests before the app's own set-up was done, and a stop,
  // a newer reload, a boot timeout or a throwing hook then ended it with `process.exit` and reset
  // the connections it had taken (which would have waited in the backlog for a ready worker).
  await runHook(hooks, 'postWorkerInit', log, { critical: true }, ctx);
  // Listening on inherited fds takes no turn of the event loop (its callbacks come on nextTick), so
  // a TERM finds a worker that accepts nothing yet, or a ready one, which drains.
  await serving.listen();
  ready = true;
  send({ t: 'ready' });
  const lag = process.getBuiltinModule('node:perf_hooks').monitorEventLoopDelay({ resolution: 20 }); // after ready: off the boot path
  lag.enable();
  const beat = setInterval(() => {
    send(heartbeat(lag.max / 1e6));
    lag.reset();
  }, init.heartbeatMs);
  beat.unref();
  // Started now: the very first request may already block the loop (then no timer could start it).
  if (s.timeout > 0) log.debug(`Watchdog: ${startWatchdog(init.runDir, Math.max(200, (s.timeout * 1000) / 2))}`);
}

/**
 * Keep-alive balance: tells the master how many keep-alive connections this worker holds, at most
 * every KEPT_REPORT_MS and only when the number changed (so a burst of connections is one message,
 * and a new connection per request, which never counts, sends none).
 */
const KEPT_REPORT_MS = 20;
let keptTimer: NodeJS.Timeout | null = null;
let keptSent = 0;
function reportKept(): void {
  if (keptTimer) return;
  keptTimer = setTimeout(() => {
    keptTimer = null;
    if ((serving?.kept ?? 0) !== keptSent) sendKept();
  }, KEPT_REPORT_MS);
  keptTimer.unref();
}
function sendKept(): void {
  send({ t: 'kept', n: (keptSent = serving?.kept ?? 0) });
}

/** The worker's SDK client, fed by the master (the SDK itself is required on first use). */
function makeLdClient(settings: LaunchDarklySettings, init: InitMsg): Promise<LDClient> {
  // Also serves apps that build their own client with ldOptions() from 'ldsup'.
  setWorkerBootstrap(init.flags, settings, { channel: flagChannel, log });
  return createWorkerClient(settings, flagChannel, init.flags, log);
}

/** First use of ctx.ld without LaunchDarkly configured: made synchronously (a client from a bootstrap is ready at once). */
function makeLdClientSync(settings: LaunchDarklySettings, init: InitMsg): LDClient {
  setWorkerBootstrap(init.flags, settings, { channel: flagChannel, log });
  return (ld = createWorkerClientSync(settings, flagChannel, init.flags, log));
}

/** Counts requests, runs preRequest, and starts max-requests recycling at the limit. */
function wrapHandler(handler: RequestListener, maxRequests: number): RequestListener {
  if (maxRequests === 0 && !hooks.preRequest)
    return (req, res) => {
      requests++;
      return handler(req, res);
    };
  return (req, res) => {
    requests++;
    if (maxRequests > 0 && requests >= maxRequests && !retiring) {
      retiring = true;
      log.info('Autorestarting worker after current request.');
      serving!.closeAfterCurrent();
      // The master starts a replacement and sends TERM once it is ready.
      send({ t: 'retire', reason: 'max-requests' });
    }
    if (hooks.preRequest) runSync('preRequest', () => hooks.preRequest!(ctx!, req));
    return handler(req, res);
  };
}

function runSync(name: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    log.error(`hook ${name} failed: ${oneLine(err)}`);
  }
}

function bootFailed(err: unknown): void {
  const code = err instanceof AppLoadError ? err.exitCode : EXIT.WORKER_BOOT_ERROR;
  log.error(`Exception in worker process: ${oneLine(err)}`);
  if (err instanceof Error && err.stack) log.debug(err.stack);
  // Tell the master why before leaving (the message must be flushed before exit).
  if (!process.connected) process.exit(code);
  setTimeout(() => process.exit(code), 1000).unref();
  process.send!({ t: 'boot-error', message: oneLine(err) }, () => process.exit(code));
}

/**
 * TERM: finish in-flight work and leave. QUIT/INT: leave now, also while a graceful drain is under
 * way (the master's INT/QUIT during a graceful stop; gunicorn's workers honour it too): ignored, it
 * left the worker draining until the master's SIGKILL, without workerInt, workerExit or the flush.
 */
async function shutdown(kind: 'graceful' | 'quick', deadlineMs?: number): Promise<void> {
  // The master gone: leave by the deadline also when a drain is already under way (no master is
  // left to kill us at gracefulTimeout; a long request or stream would keep us for good).
  if (deadlineMs) setTimeout(() => process.exit(0), deadlineMs).unref();
  if (stopping === 'quick' || (stopping === 'graceful' && kind === 'graceful')) return;
  stopping = kind;
  if (!ready) process.exit(0); // nothing served yet: nothing to drain
  if (kind === 'quick') {
    await runHook(hooks, 'workerInt', log, {}, ctx!);
    serving?.abort();
  } else {
    await serving?.drain(1000);
    if (stopping !== 'graceful') return; // a quick stop took over, and exits
  }
  await exitWorker(0);
}

/** Flush, log, workerExit, exit: once, whichever stop gets here first. */
let exiting: Promise<never> | null = null;
function exitWorker(code: number): Promise<never> {
  return (exiting ??= (async () => {
    if (ld) await closeClient(ld);
    log.info(`Worker exiting (pid: ${process.pid})`);
    if (ctx) await runHook(hooks, 'workerExit', log, {}, ctx);
    await lastBeat();
    process.exit(code);
  })());
}

/**
 * A last heartbeat as the worker exits: the master counts requests from heartbeats, and those
 * served since the last one (up to a second's worth) were lost at every reload, recycling or
 * scale-down. Sent with a callback, so it is out before the process ends.
 */
function lastBeat(): Promise<void> {
  return new Promise((resolve) => {
    if (!ready || !process.connected) return resolve();
    process.send!(heartbeat(0), () => resolve());
  });
}

/** What the master reads from a worker: requests served so far, memory, requests in progress, event-loop lag. */
function heartbeat(lagMs: number): FromWorker {
  return { t: 'hb', requests, rss: process.memoryUsage.rss(), inflight: serving?.inflight ?? 0, lagMs };
}

/** Timeout: the master says our loop was stuck; run workerAbort if we still can, then exit 1. */
async function abort(): Promise<void> {
  stopping = 'quick';
  if (ctx) await runHook(hooks, 'workerAbort', log, {}, ctx);
  serving?.abort();
  await exitWorker(1);
}

process.on('message', onMessage);
process.on('SIGTERM', () => void shutdown('graceful'));
process.on('SIGQUIT', () => void shutdown('quick'));
process.on('SIGINT', () => void shutdown('quick'));
// Signals meant for the master (a terminal hangup or resize reaches the whole process group).
for (const sig of ['SIGHUP', 'SIGWINCH', 'SIGUSR2', 'SIGTTIN', 'SIGTTOU'] as const) process.on(sig, () => {});
process.on('disconnect', () => {
  log.info(`Parent changed, shutting down: <Worker ${process.pid}>`);
  void shutdown('graceful', 1500);
});
process.on('uncaughtException', (err) => {
  if (!ready) return bootFailed(err);
  // The app wrote to a response (or another stream) it had ended: Node refused the write and
  // emitted this on a stream nobody listens to. Nothing is left half-done, so it costs a log
  // line, as a throw in a handler does, not the other requests in flight on this worker.
  if ((err as NodeJS.ErrnoException).code === 'ERR_STREAM_WRITE_AFTER_END') return serving?.onAppError(err);
  log.error(`Unhandled exception in worker: ${oneLine(err)}`);
  if (err.stack) log.debug(err.stack);
  process.exit(1);
});
