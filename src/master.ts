/**
 * Start-up of the master, in gunicorn's order, then the arbiter's loop:
 * env → nworkersChanged → flags (LaunchDarkly or the offline file) → preload (import the app,
 * run the preload hook) → pidfile check → onStarting → bind → pidfile → workers → whenReady.
 * Every failure before the first worker exists is one clear line and exit 1, with nothing left
 * behind (no socket, no pidfile, no worker).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Arbiter } from './arbiter.js';
import { EXIT, HaltError, oneLine } from './errors.js';
import { runHook } from './hooks.js';
import { FlagRelay, resolveLaunchDarklySettings } from './launchdarkly/index.js';
import { appExport, importApp } from './loader.js';
import type { Logger } from './log.js';
import { Pidfile } from './pidfile.js';
import { closeListeners, createListeners, describeListeners, type Listener } from './sockets.js';
import type { Hooks, ResolvedSettings } from './types.js';
import { VERSION } from './version.js';

export class StartError extends Error {}

export interface MasterOptions {
  settings: ResolvedSettings;
  hooks: Hooks;
  log: Logger;
  reloadConfig?: () => Promise<{ settings: ResolvedSettings; hooks: Hooks }>;
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
  log.info(`Starting ldsup ${VERSION}`);
  const relay = new FlagRelay(resolveLaunchDarklySettings(settings.launchdarkly), log);
  let listeners: Listener[] = [];
  // Private to this user (mkdtemp makes it 0700): timeout stacks, the control socket.
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldsup-'));
  let pidfile: Pidfile | null = null;
  try {
    relay.start();
    // Workers start with the flag data already there: wait for the first full set (offline: the
    // file, at once). LaunchDarkly unreachable is not fatal; a rejected key is, by default.
    const ld = resolveLaunchDarklySettings(settings.launchdarkly);
    const outcome = await relay.waitForData(ld.startWait * 1000);
    if (outcome === 'failed' && ld.failOnAuthError) throw new StartError(relay.status().lastError ?? 'LaunchDarkly rejected the SDK key');
    if (outcome === 'timeout') log.warning(`No flag data from LaunchDarkly after ${ld.startWait} s; workers start with flag defaults and get the data when it arrives`);
    const preload = settings.preload ? await preloadApp(settings, hooks, log) : undefined;
    if (settings.pidfile) {
      pidfile = new Pidfile(settings.pidfile);
      pidfile.check();
    }
    await runHook(hooks, 'onStarting', log, { critical: true }, { pid: process.pid, settings, log, workers: () => [] });
    listeners = await createListeners(settings.bind);
    log.info(`Listening at: ${describeListeners(listeners)} (${process.pid})`);
    pidfile?.write();
    const arbiter = new Arbiter({ settings, hooks, log, listeners, relay, preload, pidfile, runDir, reloadConfig: opts.reloadConfig });
    return await arbiter.run();
  } catch (err) {
    closeListeners(listeners, true);
    pidfile?.unlink();
    await relay.close();
    if (err instanceof HaltError) throw err;
    throw err instanceof StartError ? err : new StartError(oneLine(err), { cause: err });
  } finally {
    fs.rmSync(runDir, { recursive: true, force: true });
  }
}

export { EXIT };
