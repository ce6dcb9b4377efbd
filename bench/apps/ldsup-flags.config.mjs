// ldsup config for the flag app: offline flags from examples/flags.json, no event sending
// (what the peers' workers build for themselves in handlers.mjs makeLdClient).
export default {
  launchdarkly: {
    flagsFile: new URL('../../examples/flags.json', import.meta.url).pathname,
    sendEvents: false,
  },
};
