/**
 * The LaunchDarkly SDK, loaded with require(). The SDK ships CommonJS; importing it from ESM
 * makes Node scan its source for export names first (cjs-module-lexer), ~30 ms of CPU in every
 * worker boot on these machines. Only types are imported the ESM way elsewhere.
 */
import { createRequire } from 'node:module';

export type Sdk = typeof import('@launchdarkly/node-server-sdk');

let loaded: Sdk | undefined;

/** The SDK, loaded on first use: a worker without LaunchDarkly configured never loads it. */
export function sdk(): Sdk {
  return (loaded ??= createRequire(import.meta.url)('@launchdarkly/node-server-sdk') as Sdk);
}
