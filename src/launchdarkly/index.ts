/** LaunchDarkly subsystem: master-side relay, worker-side client and data source, helpers. */
export { resolveLaunchDarklySettings, redactKey, PLACEHOLDER_SDK_KEY, type LaunchDarklySettings } from './settings.js';
export type { FlagEvent, LdEventMessage, LdFatalMessage } from './protocol.js';
export { isLdEventMessage, isLdFatalMessage } from './protocol.js';
export { FlagRelay, type FlagStatus, type DataWait, type FlagRelayTuning } from './relay.js';
export { relayDataSource, type FlagChannel, type RelaySourceOptions, type DataSourceFactory } from './relay-source.js';
export { createWorkerClient, createWorkerClientSync, workerLdOptions, NO_BOOTSTRAP_WAIT_MS } from './worker-client.js';
export { setWorkerBootstrap, clearWorkerBootstrap, workerSnapshot, inLdsupWorker, ldOptions, ldSdkKey, type LdsupLdOptions } from './worker-bootstrap.js';
export { closeClient } from './close-client.js';
export { reviveAvailable } from './revive.js';
