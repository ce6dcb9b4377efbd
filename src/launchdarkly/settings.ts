/**
 * LaunchDarkly settings for ldsup: defaults, environment overrides, and key redaction.
 * The core merges config-file/CLI values into `partial`; this module fills in the rest.
 */

export interface LaunchDarklySettings {
  /** Server-side SDK key. Default: `LAUNCHDARKLY_SDK_KEY`. Absent means offline (file or defaults). */
  sdkKey?: string;
  /**
   * relay: one upstream stream in the master, fanned out over IPC. direct: each worker streams too.
   * daemon: no stream on this host; workers read the persistent store (Redis) a Relay Proxy fills.
   */
  mode: 'relay' | 'direct' | 'daemon';
  /** Daemon mode's store. */
  redis: { url: string; prefix: string; cacheTTL: number };
  /** Offline flag source (LaunchDarkly file format), used only when there is no SDK key. */
  flagsFile?: string;
  /** Seconds the master waits for the first full data set before forking anyway. */
  startWait: number;
  streamUri: string;
  baseUri: string;
  eventsUri: string;
  sendEvents: boolean;
  /** A 401/403 at start is fatal (the SDK never retries those, so continuing means defaults forever). */
  failOnAuthError: boolean;
}

export const DEFAULT_STREAM_URI = 'https://stream.launchdarkly.com';
export const DEFAULT_BASE_URI = 'https://sdk.launchdarkly.com';
export const DEFAULT_EVENTS_URI = 'https://events.launchdarkly.com';

/** Key used for `init()` when there is no SDK key: `init('')` throws and `offline: true` ignores our data source. */
export const PLACEHOLDER_SDK_KEY = 'ldsup-offline';

const nonEmpty = (v: string | undefined): string | undefined => (v && v.trim() ? v.trim() : undefined);

// "https://x/" + "/all" must not become "https://x//all".
const trimSlash = (u: string): string => u.replace(/\/+$/, '');

/** What a config gives: every field optional, `redis` too. */
export type LaunchDarklyInput = Partial<Omit<LaunchDarklySettings, 'redis'>> & { redis?: Partial<LaunchDarklySettings['redis']> };

export function resolveLaunchDarklySettings(
  partial: LaunchDarklyInput | undefined,
  env: NodeJS.ProcessEnv = process.env,
): LaunchDarklySettings {
  const p = partial ?? {};
  const sdkKey = nonEmpty(p.sdkKey) ?? nonEmpty(env.LAUNCHDARKLY_SDK_KEY);
  const mode = p.mode ?? 'relay';
  if (mode !== 'relay' && mode !== 'direct' && mode !== 'daemon') {
    throw new TypeError(`launchdarkly.mode must be 'relay', 'direct' or 'daemon', got ${JSON.stringify(mode)} (${typeof mode})`);
  }
  const redis = {
    url: nonEmpty(p.redis?.url) ?? nonEmpty(env.LAUNCHDARKLY_REDIS_URL) ?? 'redis://127.0.0.1:6379',
    prefix: nonEmpty(p.redis?.prefix) ?? 'launchdarkly',
    cacheTTL: p.redis?.cacheTTL ?? 15,
  };
  const startWait = p.startWait ?? 5;
  if (typeof startWait !== 'number' || !Number.isFinite(startWait) || startWait < 0) {
    throw new TypeError(`launchdarkly.startWait must be a number of seconds >= 0, got ${String(startWait)} (${typeof startWait})`);
  }
  return {
    sdkKey,
    mode,
    redis,
    flagsFile: nonEmpty(p.flagsFile),
    startWait,
    streamUri: trimSlash(nonEmpty(p.streamUri) ?? nonEmpty(env.LAUNCHDARKLY_STREAM_URI) ?? DEFAULT_STREAM_URI),
    baseUri: trimSlash(nonEmpty(p.baseUri) ?? nonEmpty(env.LAUNCHDARKLY_BASE_URI) ?? DEFAULT_BASE_URI),
    eventsUri: trimSlash(nonEmpty(p.eventsUri) ?? nonEmpty(env.LAUNCHDARKLY_EVENTS_URI) ?? DEFAULT_EVENTS_URI),
    sendEvents: p.sendEvents ?? true,
    failOnAuthError: p.failOnAuthError ?? true,
  };
}

/** Replace every occurrence of `key` in `text` with `sdk-***`, so a key never reaches a log line. */
export function redactKey(text: string, key?: string): string {
  if (!key) return text;
  return text.split(key).join('sdk-***');
}
