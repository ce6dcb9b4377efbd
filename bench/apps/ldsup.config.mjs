// ldsup config for the bench: offline flags from examples/flags.json, no event sending.
export default {
  launchdarkly: {
    flagsFile: new URL('../../examples/flags.json', import.meta.url).pathname,
    sendEvents: false,
  },
};
