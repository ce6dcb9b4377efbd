/**
 * Start-up of the master, in gunicorn's order, then the arbiter's loop:
 * env → flags (LaunchDarkly or the offline file) → nworkersChanged → preload (import the app,
 * run the preload hook) → pidfile check → onStarting → bind (or inherit the sockets after USR2) → pidfile →
 * control socket → workers → whenReady.
 * Every failure before the first worker exists is one clear line and exit 1, with nothing left
 * behind (no socket, no pidfile, no worker).
 * Signals are queued from the start (the loop handles them once it runs); TERM, INT and QUIT only
 * once the master is about to bind: before, they end it at once, as nothing of it exists outside.
 */
import fs from 'node:fs';
import { Arbiter, Inbox, SIGNALS, STOP_SIGNALS } from './arbiter.js';
import { ControlServer, controlPath } from './control.js';
import { HaltError, oneLine } from './errors.js';
import { runHook } from './hooks.js';
import { FlagRelay } from './launchdarkly/relay.js';
import { resolveLaunchDarklySettings } from './launchdarkly/settings.js';
import { appExport, importApp } from './loader.js';
import type { Logger } from './log.js';
import { Pidfile } from './pidfile.js';
import { inherited } from './reexec.js';
import { giveLogFiles, resolveIds } from './privileges.js';
import { createRunDir, removeStaleRunDirs } from './run-dir.js';
import { Notifier, listenFds } from './systemd.js';
import { orphanReaper } from './pid1.js';
import type { Endpoints, Metrics, ObservedState } from './observability.js';
import { adopt, closeListeners, createListeners, describeListeners, type Listener } from './sockets.js';
import type { Hooks, ResolvedSettings } from './types.js';
import { VERSION } from './version.js';

export class StartError extends Error {}

export interface MasterOptions {
  settings: ResolvedSettings;
  hooks: Hooks;
  log: Logger;
  /** Re-reads the configuration for HUP. */
  reloadConfig?: () => Promise<{ settings: ResolvedSettings; hooks: Hooks }>;
  /** Called once all first workers are ready (daemon mode reports it to the waiting parent). */
  onReady?: () => void;
  /** Called as the master halts, with the reason (daemon mode passes it to the waiting command). */
  onHalt?: (reason: string | null, status: number) => void;
}

/** Puts the config's `env` into this process (workers inherit it). */
export function applyEnv(settings: ResolvedSettings): void {
  for (const [k, v] of Object.entries(settings.env)) process.env[k] = v;
}

/** Imports the app in the master and runs the preload hook; returns what it gave. */
export async function preloadApp(settings: ResolvedSettings, hooks: Hooks, log: Logger, fresh = false): Promise<unknown> {
  const file = settings.app!;
  const mod = await importApp(file, fresh);
  appExport(mod, file);
  const data = await runHook(hooks, 'preload', log, { critical: true }, { settings, log, app: mod });
  try {
    return data === undefined ? undefined : JSON.parse(JSON.stringify(data));
  } catch (err) {
    throw new StartError(`hook preload must return JSON-serialisable data: ${oneLine(err)}`);
  }
}

export async function runMaster(opts: MasterOptions): Promise<number> {
  const { settings, hooks, log } = opts;
  if (!settings.app) throw new StartError('No application module specified (give [app] or set "app" in the config).');
  // Signals are queued for the loop from here on (none gets its default action), but for TERM,
  // INT and QUIT: until the master binds, nothing of it exists outside the process, and they
  // end it at once (a slow flag download or preload is not waited for).
  const inbox = new Inbox();
  inbox.catch(SIGNALS.filter((s) => !STOP_SIGNALS.includes(s)));
  if (process.pid === 1) inbox.exitOn(STOP_SIGNALS);
  const fromUsr2 = inherited(process.env);
  const systemdFds = listenFds();
  const systemd = new Notifier(log);
  log.info(`Starting ldsup ${VERSION}`);
  const relay = new FlagRelay(resolveLaunchDarklySettings(settings.launchdarkly), log);
  let listeners: Listener[] = [];
  let pidfile: Pidfile | null = null;
  const control = new ControlServer((req) => inbox.request(req));
  let arbiter: Arbiter | null = null;
  let endpoints: Endpoints | null = null;
  // Metrics are created before the arbiter (it counts into them) and read its state lazily.
  const observed: ObservedState = {
    lastTick: () => arbiter!.lastTick,
    stopping: () => arbiter!.stopping,
    wanted: () => arbiter!.numWorkers,
    startedAt: () => arbiter!.startedAt,
    workers: () => [...arbiter!.workers.values()],
    flags: () => relay.status(),
  };
  let runDir: string | null = null;
  try {
    relay.start();
    // Workers start with the flag data already there: wait for the first full set (offline: the
    // file, at once). LaunchDarkly unreachable is not fatal; a rejected key is, by default.
    const ld = resolveLaunchDarklySettings(settings.launchdarkly);
    const outcome = await relay.waitForData(ld.startWait * 1000);
    if (outcome === 'failed' && ld.failOnAuthError) throw new StartError(relay.status().lastError ?? 'LaunchDarkly rejected the SDK key');
    if (outcome === 'timeout') log.warning(`No flag data from LaunchDarkly after ${ld.startWait} s; workers start with flag defaults and get the data when it arrives`);
    const ids = resolveIds(settings.user, settings.group);
    // gunicorn's setup(): the wanted count is set (hook with old = null) before preload and onStarting.
    const early = { pid: process.pid, settings, log, workers: () => [] };
    await runHook(hooks, 'nworkersChanged', log, {}, early, settings.workers, null);
    // Workers open the access log themselves and only report a failure (disk trouble later on
    // must not stop a new worker from serving); at start-up a bad path is an error, as in gunicorn.
    if (settings.accessLog && settings.accessLog !== '-') {
      try {
        fs.closeSync(fs.openSync(settings.accessLog, 'a', 0o640));
      } catch (err) {
        throw new StartError(`cannot open access log file ${settings.accessLog}: ${(err as Error).message}`);
      }
    }
    // Workers reopen the log files on USR1 after dropping privileges: give them the files now.
    if (ids) for (const p of giveLogFiles([settings.errorLog, settings.accessLog], ids)) log.warning(p);
    const preload = settings.preload ? await preloadApp(settings, hooks, log) : undefined;
    if (settings.pidfile) {
      // A USR2 child writes <pidfile>.2 until its old master has gone.
      pidfile = new Pidfile(fromUsr2 ? `${settings.pidfile}.2` : settings.pidfile);
      pidfile.check();
    }
    await runHook(hooks, 'onStarting', log, { critical: true }, early);
    // From here on the master leaves files behind (sockets, pidfile, run directory): a stop
    // waits for the loop, which removes them. `ldsup stop` once the pidfile is there is graceful.
    inbox.catch(STOP_SIGNALS);
    runDir = createRunDir(); // timeout stacks (run-dir.ts)
    if (ids) fs.chownSync(runDir, ids.uid, ids.gid); // workers write timeout stacks there
    if (fromUsr2) listeners = fromUsr2.fds.map((fd, i) => adopt(settings.bind[i] ?? `fd://${fd}`, fd));
    else if (systemdFds.length > 0) {
      log.info(`Using ${systemdFds.length} socket(s) from systemd (socket activation)`);
      listeners = systemdFds.map((fd) => adopt(`fd://${fd}`, fd));
    } else listeners = await createListeners(settings.bind);
    log.info(`Listening at: ${describeListeners(listeners)} (${process.pid})`);
    if (ids) for (const l of listeners) if (l.address.kind === 'unix') fs.chownSync(l.address.path, ids.uid, ids.gid);
    // Control socket before the pidfile, so the pidfile appearing means the master answers.
    if (pidfile) await control.listen(controlPath(pidfile.file));
    pidfile?.write();
    // prom-client is loaded only when health or metrics endpoints are asked for.
    const obs = settings.healthBind || settings.metricsBind ? await import('./observability.js') : null;
    const metrics = obs && settings.metricsBind ? new obs.Metrics(observed) : null;
    arbiter = new Arbiter({
      metrics,
      reapOrphans: orphanReaper(log),
      settings,
      hooks,
      log,
      listeners,
      relay,
      preload,
      pidfile,
      control,
      runDir,
      inbox,
      parentPid: fromUsr2?.parentPid,
      onHalt: opts.onHalt,
      onReady: () => {
        opts.onReady?.();
        void removeStaleRunDirs(ids?.uid).then((n) => n > 0 && log.debug(`Removed ${n} run director${n === 1 ? 'y' : 'ies'} of masters that are gone`));
        void systemd.notify('READY=1', `STATUS=${settings.workers} workers serving`);
      },
      systemd,
      endpoints: () => endpoints,
      reload: opts.reloadConfig && (() => reload(opts.reloadConfig!, settings, log)),
    });
    // A USR2 child whose config no longer serves them must not hold its old master's endpoint
    // sockets open (connections would wait there, unanswered, instead of being refused).
    if (!obs) for (const e of fromUsr2?.endpoints ?? []) fs.closeSync(e.fd);
    if (obs) {
      endpoints = new obs.Endpoints(observed, metrics, { healthBind: settings.healthBind, metricsBind: settings.metricsBind, readyRequiresFlags: settings.readyRequiresFlags }, log);
      await endpoints.start(fromUsr2?.endpoints);
    }
    return await arbiter.run();
  } catch (err) {
    closeListeners(listeners, !fromUsr2 && systemdFds.length === 0);
    pidfile?.unlink();
    await relay.close();
    if (err instanceof HaltError) throw err;
    throw err instanceof StartError ? err : new StartError(oneLine(err), { cause: err });
  } finally {
    await endpoints?.close();
    await control.close();
    if (runDir) fs.rmSync(runDir, { recursive: true, force: true });
  }
}

/**
 * What the master serves for its whole life, each with how it is compared: the flag source (one
 * upstream stream, or one watched file, that every worker follows) and the health and metrics
 * endpoints, bound at start. HUP keeps them (so new workers read the data the master serves);
 * USR2, a new master, applies a change.
 */
const FIXED_ON_HUP = ['launchdarkly', 'healthBind', 'metricsBind', 'readyRequiresFlags'] as const;
const fixedValue = (s: ResolvedSettings, key: (typeof FIXED_ON_HUP)[number]): unknown =>
  key === 'launchdarkly' ? JSON.stringify(resolveLaunchDarklySettings(s.launchdarkly)) : s[key];

/**
 * HUP: the new config, env applied, and (with preload) the app re-imported and preload re-run;
 * what FIXED_ON_HUP names is reported when it changed and kept as it was.
 */
async function reload(read: NonNullable<MasterOptions['reloadConfig']>, started: ResolvedSettings, log: Logger) {
  let next = await read();
  if (!next.settings.app) throw new Error('No application module specified');
  const changed = FIXED_ON_HUP.filter((k) => fixedValue(next.settings, k) !== fixedValue(started, k));
  if (changed.length > 0) {
    log.warning(`Reload: ${changed.join(', ')} changed; HUP keeps the current settings (USR2 starts a master with the new ones)`);
    next = { ...next, settings: { ...next.settings, ...Object.fromEntries(changed.map((k) => [k, started[k]])) } };
  }
  const preload = next.settings.preload ? await preloadApp(next.settings, next.hooks, log, true) : undefined;
  return { ...next, preload };
}
