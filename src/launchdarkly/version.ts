/**
 * Versions sent in request headers. The SDK version is pinned in package.json (revive.ts depends
 * on an SDK-internal function); a unit test checks this constant against the installed SDK.
 */
import { VERSION } from '../version.js';

export const SDK_VERSION = '9.13.7';
export const SDK_USER_AGENT = `NodeJSClient/${SDK_VERSION}`;

/** ldsup's own version (the wrapper version in LaunchDarkly's headers). */
export const ldsupVersion = (): string => VERSION;
