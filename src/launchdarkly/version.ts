/**
 * Versions sent in request headers. The SDK version is pinned in package.json (revive.ts depends
 * on an SDK-internal function); a unit test checks this constant against the installed SDK.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SDK_VERSION = '9.13.7';
export const SDK_USER_AGENT = `NodeJSClient/${SDK_VERSION}`;

let cached: string | undefined;

/** ldsup's own version, read from package.json two directories up (src/launchdarkly and dist/launchdarkly both). */
export function ldsupVersion(): string {
  if (cached) return cached;
  cached = '0.0.0';
  try {
    const file = path.resolve(__dirnameOf(), '..', '..', 'package.json');
    const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'ldsup' && pkg.version) cached = pkg.version;
  } catch {
    /* a version header is nice to have, not worth failing over */
  }
  return cached;
}

function __dirnameOf(): string {
  return path.dirname(fileURLToPath(import.meta.url));
}
