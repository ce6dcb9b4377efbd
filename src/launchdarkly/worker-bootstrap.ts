/**
 * For apps that build their own SDK client inside an ldsup worker:
 *
 *   import { init } from '@launchdarkly/node-server-sdk';
 *   import { ldOptions, ldSdkKey } from 'ldsup';
 *   const client = init(ldSdkKey(), { ...ldOptions(), application: { id: 'shop' } });
 *
 * The core calls setWorkerBootstrap() once at worker start. The holder then keeps following the
 * master's events, so a client created minutes later starts from current data, not from the
 * fork-time snapshot (it would otherwise miss every change made in between).
 */
import type { LDOptions } from '@launchdarkly/node-server-sdk';
import type { Logger } from '../log.js';
import { FlagState } from './flag-state.js';
import { isLdEventMessage, parseFlagEvent, type FlagEvent, type ParsedEvent } from './protocol.js';
import type { FlagChannel } from './relay-source.js';
import { PLACEHOLDER_SDK_KEY, resolveLaunchDarklySettings, type LaunchDarklySettings } from './settings.js';
import { workerLdOptions } from './worker-client.js';

type Holder = { settings: LaunchDarklySettings; state: FlagState; channel: FlagChannel; log?: Logger; listener: (m: unknown) => void };

/**
 * The holder is kept on a global, not in a module variable: the worker runs this module from its
 * own bundle (dist/worker-body.cjs), while an app's `import { ldOptions } from 'ldsup'` loads the
 * public bundle (dist/index.js), which has a copy of this module of its own. With a module
 * variable the app's copy never saw the worker's holder, so an app-built client streamed from
 * LaunchDarkly itself (offline: defaults forever) instead of starting from the master's data.
 */
const HOLDER = Symbol.for('ldsup.workerBootstrap');
const shared = globalThis as typeof globalThis & { [HOLDER]?: Holder | null };

export type LdsupLdOptions = Pick<LDOptions, 'updateProcessor' | 'streamUri' | 'baseUri' | 'eventsUri' | 'sendEvents' | 'wrapperName' | 'wrapperVersion'>;

/**
 * Called by the worker bootstrap code (core) synchronously in the handler of the message that
 * carries the snapshot, before any await, so no forwarded event can slip past it. Calling
 * again replaces the holder.
 */
export function setWorkerBootstrap(
  ev: FlagEvent | null,
  settings: LaunchDarklySettings,
  opts: { channel?: FlagChannel; log?: Logger } = {},
): void {
  clearWorkerBootstrap();
  const state = new FlagState();
  const follow = (e: FlagEvent) => {
    let parsed: ParsedEvent | null = null;
    try {
      parsed = parseFlagEvent(e);
    } catch {
      return; // the data sources report malformed events; the mirror just skips them
    }
    if (parsed) state.apply(parsed);
  };
  if (ev) follow(ev);
  const channel = opts.channel ?? (process as unknown as FlagChannel);
  const listener = (m: unknown) => {
    if (isLdEventMessage(m)) follow({ event: m.event, data: m.data });
  };
  // Direct-mode workers stream on their own; the master need not forward, and the mirror then
  // holds the fork-time data, which the client's own stream put replaces within milliseconds.
  channel.on('message', listener);
  shared[HOLDER] = { settings, state, channel, log: opts.log, listener };
}

/** Stop following the master (worker shutdown, tests). */
export function clearWorkerBootstrap(): void {
  const holder = shared[HOLDER];
  holder?.channel.off('message', holder.listener);
  shared[HOLDER] = null;
}

/**
 * The current data as a put (the fork-time snapshot plus every event since), for
 * createWorkerClient. Events that reach the worker before its client's data source listens
 * (while the app is still loading) would otherwise be lost; the holder has been listening
 * since setWorkerBootstrap().
 */
export function workerSnapshot(): FlagEvent | null {
  return shared[HOLDER]?.state.snapshot() ?? null;
}

/** True inside a worker the core has set up. */
export function inLdsupWorker(): boolean {
  return shared[HOLDER] != null;
}

/** The key to pass to `init()`: the real key, or a placeholder in offline mode (`init('')` throws). */
export function ldSdkKey(): string {
  const settings = shared[HOLDER]?.settings ?? resolveLaunchDarklySettings(undefined);
  return settings.sdkKey ?? PLACEHOLDER_SDK_KEY;
}

/**
 * SDK options wiring a client to ldsup. Outside an ldsup worker (app started directly with
 * node) it returns only the URIs, so the SDK streams from LaunchDarkly on its own.
 */
export function ldOptions(channel?: FlagChannel): LdsupLdOptions {
  const holder = shared[HOLDER];
  if (!holder) {
    const s = resolveLaunchDarklySettings(undefined);
    return { streamUri: s.streamUri, baseUri: s.baseUri, eventsUri: s.eventsUri, sendEvents: s.sendEvents, wrapperName: 'ldsup' };
  }
  const opts = workerLdOptions(holder.settings, channel ?? holder.channel, holder.state.snapshot(), holder.log);
  return {
    updateProcessor: opts.updateProcessor,
    streamUri: opts.streamUri,
    baseUri: opts.baseUri,
    eventsUri: opts.eventsUri,
    sendEvents: opts.sendEvents,
    wrapperName: opts.wrapperName,
    wrapperVersion: opts.wrapperVersion,
  };
}
