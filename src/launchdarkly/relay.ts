/**
 * FlagRelay: the master's single source of flag data. It holds the only upstream connection
 * (or the offline file), keeps the raw LaunchDarkly data, and emits every accepted change so the
 * core can forward it to workers over IPC (spec §9).
 *
 * Events: 'event' (FlagEvent) for each change to forward (a reconnect put is forwarded as a put);
 *         'fatal' ({status, message}) once, when LaunchDarkly rejects the key (401/403/404).
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../log.js';
import type { BackoffOptions } from './backoff.js';
import { FileSource } from './file-source.js';
import { FlagState } from './flag-state.js';
import { isFlagEventName, parseFlagEvent, putEvent, type FlagEvent, type RawData } from './protocol.js';
import { redactKey, type LaunchDarklySettings } from './settings.js';
import { SseClient, type SseDrop, type SseFatal } from './sse-client.js';
import type { SseEvent } from './sse-parser.js';

export interface FlagStatus {
  mode: 'relay' | 'direct' | 'daemon' | 'offline';
  source: 'stream' | 'file' | 'store' | 'none';
  initialized: boolean;
  connected: boolean;
  lastUpdateAgeMs: number | null;
  flagCount: number;
  lastError?: string;
}

export type DataWait = 'ready' | 'timeout' | 'failed';

/** Knobs for tests and benchmarks; production uses the SDK's defaults. */
export interface FlagRelayTuning {
  backoff?: BackoffOptions;
  readTimeoutMs?: number;
  fileDebounceMs?: number;
}

export class FlagRelay extends EventEmitter {
  private readonly state = new FlagState();
  private sse: SseClient | null = null;
  private file: FileSource | null = null;
  private connected = false;
  /** The upstream's rejection of the key, kept for the workers that start after it. */
  private rejection: { status: number; message: string } | null = null;
  private failuresInARow = 0;
  private lastUpdate: number | null = null;
  private lastError: string | undefined;
  private readonly waiters = new Set<(r: DataWait) => void>();

  constructor(
    private readonly settings: LaunchDarklySettings,
    private readonly log: Logger,
    private readonly tuning: FlagRelayTuning = {},
  ) {
    super();
  }

  private get source(): FlagStatus['source'] {
    if (this.settings.mode === 'daemon') return 'store';
    return this.settings.sdkKey ? 'stream' : this.settings.flagsFile ? 'file' : 'none';
  }

  start(): void {
    const { sdkKey, flagsFile, streamUri } = this.settings;
    if (this.settings.mode === 'daemon') {
      // Fleet mode: a Relay Proxy fills Redis and every worker reads it; this host opens no stream.
      this.log.info(`launchdarkly: daemon mode: workers read flags from Redis (prefix "${this.settings.redis.prefix}") filled by a Relay Proxy`);
      this.accept(putEvent({ flags: {}, segments: {} }));
    } else if (sdkKey) {
      this.sse = new SseClient({ url: `${streamUri}/all`, sdkKey, readTimeoutMs: this.tuning.readTimeoutMs, backoff: this.tuning.backoff });
      this.sse.on('open', () => this.onOpen());
      this.sse.on('message', (ev: SseEvent) => this.onMessage(ev));
      this.sse.on('drop', (d: SseDrop) => this.onDrop(d));
      this.sse.on('fatal', (f: SseFatal) => this.onFatal(f));
      this.sse.start();
    } else if (flagsFile) {
      this.file = new FileSource(flagsFile, this.log, { debounceMs: this.tuning.fileDebounceMs });
      this.file.on('data', (data: RawData) => this.accept(putEvent(data)));
      this.file.start();
    } else {
      this.log.info('launchdarkly: no SDK key and no flags file; every flag returns its default value');
      this.accept(putEvent({ flags: {}, segments: {} }));
    }
  }

  /** Resolves when the first full data set is in, LaunchDarkly rejected the key, or the time is up. */
  waitForData(timeoutMs: number): Promise<DataWait> {
    if (this.state.initialized) return Promise.resolve('ready');
    if (this.rejection) return Promise.resolve('failed');
    return new Promise((resolve) => {
      const done = (r: DataWait) => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve(r);
      };
      const timer = setTimeout(() => done('timeout'), timeoutMs);
      this.waiters.add(done);
    });
  }

  /** A put of the current full data (for a worker's bootstrap), or null before any data. */
  snapshot(): FlagEvent | null {
    return this.state.snapshot();
  }

  /** LaunchDarkly's rejection of the key (it is final), or null: a worker started later is told too. */
  fatal(): { status: number; message: string } | null {
    return this.rejection;
  }

  status(): FlagStatus {
    const s: FlagStatus = {
      mode: this.settings.sdkKey ? this.settings.mode : 'offline',
      source: this.source,
      initialized: this.state.initialized,
      connected: this.source === 'stream' ? this.connected : this.source === 'file' ? this.file !== null : false,
      lastUpdateAgeMs: this.lastUpdate === null ? null : Date.now() - this.lastUpdate,
      flagCount: this.state.flagCount,
    };
    if (this.lastError) s.lastError = this.lastError;
    return s;
  }

  async close(): Promise<void> {
    this.sse?.close();
    this.sse = null;
    this.file?.close();
    this.file = null;
    this.connected = false;
    for (const w of [...this.waiters]) w('timeout');
  }

  private onOpen(): void {
    this.connected = true;
    if (this.failuresInARow > 0) this.log.info('launchdarkly: stream reconnected');
    this.failuresInARow = 0;
  }

  private onMessage(ev: SseEvent): void {
    if (!isFlagEventName(ev.event)) return;
    this.accept({ event: ev.event, data: ev.data });
  }

  /** Apply one event to the state and, if the version rules accept it, forward its original text. */
  private accept(ev: FlagEvent): void {
    let parsed;
    try {
      parsed = parseFlagEvent(ev);
    } catch (err) {
      this.lastError = this.redact(`malformed ${ev.event} event ignored: ${(err as Error).message}`);
      this.log.warning(`launchdarkly: ${this.lastError}`);
      return;
    }
    if (!parsed) return;
    const wasInitialized = this.state.initialized;
    if (!this.state.apply(parsed)) return;
    this.lastUpdate = Date.now();
    if (!wasInitialized && parsed.event === 'put') {
      const segments = Object.keys(parsed.data.segments).length;
      this.log.info(`launchdarkly: flag data received from ${this.source} (${this.state.flagCount} flags, ${segments} segments)`);
      for (const w of [...this.waiters]) w('ready');
    }
    this.emit('event', ev);
  }

  private onDrop(d: SseDrop): void {
    const wasConnected = this.connected;
    this.connected = false;
    this.failuresInARow++;
    this.lastError = d.reason;
    const line = `launchdarkly: stream ${wasConnected ? 'dropped' : 'connection failed'} (${d.reason}); retrying in ${(d.retryInMs / 1000).toFixed(1)} s`;
    // One warning per outage; the retries of a long outage go to debug instead of flooding the log.
    if (this.failuresInARow === 1) this.log.warning(line);
    else this.log.debug(line);
  }

  private onFatal(f: SseFatal): void {
    this.connected = false;
    this.lastError = this.redact(f.message);
    this.log.error(`launchdarkly: ${this.lastError}`);
    this.rejection = { status: f.status, message: this.lastError };
    this.emit('fatal', this.rejection);
    for (const w of [...this.waiters]) w('failed');
  }

  private redact(s: string): string {
    return redactKey(s, this.settings.sdkKey);
  }
}
