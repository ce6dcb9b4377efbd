/**
 * Daemon mode (LaunchDarkly's "daemon mode" for fleets): no stream on this host; the SDK reads
 * flags from the persistent store that a Relay Proxy keeps filled, through LaunchDarkly's own
 * Redis store package, with `useLdd` (the client counts as initialised at once).
 */
import { createRequire } from 'node:module';
import type { LDOptions } from '@launchdarkly/node-server-sdk';
import type * as RedisStore from '@launchdarkly/node-server-sdk-redis';
import type { LaunchDarklySettings } from './settings.js';

/** `redis://[:password@]host[:port][/db]` → ioredis options. */
export function redisOptions(url: string): { host: string; port: number; db?: number; password?: string; username?: string } {
  const u = new URL(url);
  if (u.protocol !== 'redis:') throw new Error(`launchdarkly.redis.url must be redis://HOST:PORT, found "${u.protocol}//…"`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined;
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(db !== undefined && Number.isInteger(db) ? { db } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
  };
}

export function daemonLdOptions(settings: LaunchDarklySettings): LDOptions {
  const { url, prefix, cacheTTL } = settings.redis;
  // Loaded only in daemon mode: the store and ioredis cost ~150 ms of start-up in every worker.
  const { RedisFeatureStore } = createRequire(import.meta.url)('@launchdarkly/node-server-sdk-redis') as typeof RedisStore;
  return {
    useLdd: true,
    featureStore: RedisFeatureStore({ redisOpts: redisOptions(url), prefix, cacheTTL }),
    eventsUri: settings.eventsUri,
    streamUri: settings.streamUri,
    baseUri: settings.baseUri,
    sendEvents: settings.sdkKey ? settings.sendEvents : false,
  };
}
