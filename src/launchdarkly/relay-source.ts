/**
 * The worker's SDK data source (`updateProcessor`). It initialises the client from the master's
 * snapshot inside `start()` (so `init()` returns an already-initialised client), then applies:
 *  - relay mode: every event the master forwards over IPC;
 *  - direct mode: the events of the worker's own LaunchDarkly stream (gunicorn + postfork parity).
 * Raw JSON is revived here, in the receiving process (spec §2.3).
 */
import type { LDClientContext, subsystem, subsystems } from '@launchdarkly/node-server-sdk';
import { silentLogger, type Logger } from '../log.js';
import { isLdEventMessage, isLdFatalMessage, parseFlagEvent, type FlagEvent } from './protocol.js';
import { reviveAll, reviveItem } from './revive.js';
import { redactKey } from './settings.js';
import { SseClient, type SseFatal } from './sse-client.js';
import type { SseEvent } from './sse-parser.js';
import type { BackoffOptions } from './backoff.js';

/** What a worker needs from its IPC endpoint (`process` in a forked worker, an EventEmitter in tests). */
export interface FlagChannel {
  on(ev: 'message', fn: (m: unknown) => void): unknown;
  off(ev: 'message', fn: (m: unknown) => void): unknown;
}

export interface RelaySourceOptions {
  /** Direct mode: the worker opens its own stream with this key. */
  direct?: { streamUri: string; sdkKey: string; backoff?: BackoffOptions };
  log?: Logger;
}

export type DataSourceFactory = (
  ctx: LDClientContext,
  updates: subsystems.LDDataSourceUpdates,
  initSuccess: () => void,
  errorHandler?: (e: Error) => void,
) => subsystem.LDStreamProcessor;

const FEATURES = { namespace: 'features' };
const SEGMENTS = { namespace: 'segments' };

export function relayDataSource(channel: FlagChannel, bootstrap: FlagEvent | null, opts: RelaySourceOptions = {}): DataSourceFactory {
  const log = opts.log ?? silentLogger;
  const key = opts.direct?.sdkKey;
  return (_ctx, updates, initSuccess, errorHandler) => {
    let stream: SseClient | null = null;
    let fatalSeen = false;

    const apply = (ev: FlagEvent, from: string) => {
      let parsed;
      try {
        parsed = parseFlagEvent(ev);
      } catch (err) {
        log.warning(`launchdarkly: malformed ${ev.event} event from ${from} ignored: ${redactKey((err as Error).message, key)}`);
        return;
      }
      if (!parsed) return;
      if (parsed.event === 'put') updates.init(reviveAll(parsed.data), initSuccess);
      else if (parsed.event === 'patch') updates.upsert(parsed.kind === 'flags' ? FEATURES : SEGMENTS, reviveItem(parsed.kind, parsed.item), () => {});
      else updates.upsert(parsed.kind === 'flags' ? FEATURES : SEGMENTS, { key: parsed.key, version: parsed.version, deleted: true }, () => {});
    };

    // Reported once: before initialisation the SDK makes the client Failed and
    // waitForInitialization rejects ("Authentication failed…" for 401), as with its own stream.
    const fatal = (f: SseFatal, from: string) => {
      if (fatalSeen) return;
      fatalSeen = true;
      const message = redactKey(f.message, key);
      log.error(`launchdarkly: ${from} reports the SDK key was rejected (HTTP ${f.status}): ${message}; flags keep their last values or defaults`);
      errorHandler?.(Object.assign(new Error(message), { code: f.status }));
    };

    const onMessage = (m: unknown) => {
      if (isLdFatalMessage(m)) fatal(m, 'the ldsup master');
      // In direct mode the worker's own stream is the source of truth; forwarded copies would
      // only race with it (an older put arriving after a newer patch).
      else if (isLdEventMessage(m) && !opts.direct) apply({ event: m.event, data: m.data }, 'the ldsup master');
    };

    const stop = () => {
      channel.off('message', onMessage);
      stream?.close();
      stream = null;
    };

    return {
      start() {
        if (bootstrap) apply(bootstrap, 'the bootstrap snapshot');
        channel.on('message', onMessage);
        if (opts.direct) {
          stream = new SseClient({ url: `${opts.direct.streamUri}/all`, sdkKey: opts.direct.sdkKey, backoff: opts.direct.backoff });
          stream.on('message', (ev: SseEvent) => {
            if (ev.event === 'put' || ev.event === 'patch' || ev.event === 'delete') apply({ event: ev.event, data: ev.data }, 'the stream');
          });
          stream.on('fatal', (f: SseFatal) => fatal(f, 'LaunchDarkly'));
          stream.on('drop', (d: { reason: string }) => log.debug(`launchdarkly: worker stream dropped (${d.reason})`));
          stream.start();
        }
      },
      stop,
      close: stop,
    };
  };
}
