/**
 * The SDK client a worker uses: a real `LDClient` from `init()`, fed by relayDataSource, so apps
 * keep the SDK's API (variation, allFlagsState, track, hooks…).
 */
import type { LDClient, LDOptions } from '@launchdarkly/node-server-sdk';
import { sdk } from './sdk.js';
import type { Logger } from '../log.js';
import type { FlagEvent } from './protocol.js';
import { relayDataSource, type FlagChannel } from './relay-source.js';
import { sdkLogger } from './sdk-logger.js';
import { PLACEHOLDER_SDK_KEY, redactKey, type LaunchDarklySettings } from './settings.js';
import { VERSION } from '../version.js';
import { daemonLdOptions } from './daemon-store.js';

/**
 * How long a worker without a bootstrap (LaunchDarkly was unreachable when the master started)
 * waits before serving defaults. The master already waited `startWait`; workers must not add
 * another wait to every boot and restart. The first put over IPC initialises the client later.
 */
export const NO_BOOTSTRAP_WAIT_MS = 200;

/** The SDK options that make a client use ldsup's data: all three URIs set (pitfall 12), events off without a key. */
export function workerLdOptions(settings: LaunchDarklySettings, channel: FlagChannel, bootstrap: FlagEvent | null, log?: Logger): LDOptions {
  const direct = settings.mode === 'direct' && settings.sdkKey ? { streamUri: settings.streamUri, sdkKey: settings.sdkKey } : undefined;
  return {
    updateProcessor: relayDataSource(channel, bootstrap, { direct, log }),
    streamUri: settings.streamUri,
    baseUri: settings.baseUri,
    eventsUri: settings.eventsUri,
    // With the placeholder key there is nobody to send events to.
    sendEvents: settings.sdkKey ? settings.sendEvents : false,
    wrapperName: 'ldsup',
    wrapperVersion: VERSION,
  };
}

export async function createWorkerClient(
  settings: LaunchDarklySettings,
  channel: FlagChannel,
  bootstrap: FlagEvent | null,
  log: Logger,
): Promise<LDClient> {
  const client = createWorkerClientSync(settings, channel, bootstrap, log);
  await settle(client, NO_BOOTSTRAP_WAIT_MS);
  return client;
}

/** The same client without waiting: initialised at once when there is a bootstrap. */
export function createWorkerClientSync(settings: LaunchDarklySettings, channel: FlagChannel, bootstrap: FlagEvent | null, log: Logger): LDClient {
  // Never `offline: true`: it ignores updateProcessor and every flag returns its default (pitfall 2).
  const client = sdk().init(settings.sdkKey ?? PLACEHOLDER_SDK_KEY, {
    ...(settings.mode === 'daemon' ? daemonLdOptions(settings) : workerLdOptions(settings, channel, bootstrap, log)),
    logger: sdkLogger(log, settings.sdkKey),
  });
  // Without a listener the SDK logs every unknown-flag evaluation at error level (pitfall 11).
  client.on('error', (err: unknown) => log.debug(`launchdarkly sdk error: ${redactKey(String((err as Error)?.message ?? err), settings.sdkKey)}`));
  return client;
}

/**
 * With a bootstrap, the data source initialised the client synchronously inside `init()`.
 * Otherwise wait briefly for 'ready' or 'failed' and then return the client regardless: it
 * answers with defaults (CLIENT_NOT_READY) until data arrives, like the SDK while LD is down.
 * Listening to events rather than waitForInitialization({timeout}) avoids the SDK logging a
 * timeout error on every worker boot.
 */
function settle(client: LDClient, waitMs: number): Promise<void> {
  if (client.initialized()) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      client.off('ready', done);
      client.off('failed', done);
      resolve();
    };
    const timer = setTimeout(done, waitMs);
    client.once('ready', done);
    client.once('failed', done);
  });
}
