/**
 * Routes the SDK's log output into ldsup's Logger. Only warn and error get through: the SDK's
 * info lines ("Opened LaunchDarkly stream connection"…) are noise once per worker. Any SDK key
 * in a message is redacted.
 */
import { format } from 'node:util';
import type { LDLogger } from '@launchdarkly/node-server-sdk';
import type { Logger } from '../log.js';
import { redactKey } from './settings.js';

export function sdkLogger(log: Logger, sdkKey?: string): LDLogger {
  const line = (args: unknown[]) => `launchdarkly sdk: ${redactKey(format(...args), sdkKey)}`;
  return {
    error: (...args: unknown[]) => log.error(line(args)),
    warn: (...args: unknown[]) => log.warning(line(args)),
    info: () => {},
    debug: () => {},
  };
}
