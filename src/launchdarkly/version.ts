/**
 * The SDK version sent in request headers. It is pinned in package.json (revive.ts depends
 * on an SDK-internal function); a unit test checks this constant against the installed SDK.
 */
export const SDK_VERSION = '9.13.7';
export const SDK_USER_AGENT = `NodeJSClient/${SDK_VERSION}`;
