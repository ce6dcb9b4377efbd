/**
 * The LaunchDarkly SDK, loaded with require(). The SDK ships CommonJS; importing it from ESM
 * makes Node scan each of its files for export names (cjs-module-lexer) and wrap it as an ES
 * module: a worker's LaunchDarkly step took ~250 ms that way and ~60 ms with require() (traced on
 * these 2-core machines). Only types are imported the ESM way elsewhere.
 */
import { createRequire } from 'node:module';

export type Sdk = typeof import('@launchdarkly/node-server-sdk');

let loaded: Sdk | undefined;

/** The SDK, loaded on first use: a worker without LaunchDarkly configured never loads it. */
export function sdk(): Sdk {
  return (loaded ??= createRequire(import.meta.url)('@launchdarkly/node-server-sdk') as Sdk);
}
