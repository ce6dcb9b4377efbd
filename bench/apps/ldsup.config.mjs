// ldsup config for the apps that use no flags (json, cpu): LaunchDarkly not configured, as the
// peers run them, so no worker loads the SDK.
export default {};
