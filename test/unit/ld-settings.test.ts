import { PLACEHOLDER_SDK_KEY, redactKey, resolveLaunchDarklySettings } from '../../src/launchdarkly/settings.js';
import { Backoff } from '../../src/launchdarkly/backoff.js';

describe('resolveLaunchDarklySettings', () => {
  it('fills LaunchDarkly defaults with no config and no env', () => {
    expect(resolveLaunchDarklySettings(undefined, {})).toEqual({
      sdkKey: undefined,
      mode: 'relay',
      redis: { url: 'redis://127.0.0.1:6379', prefix: 'launchdarkly', cacheTTL: 15 },
      flagsFile: undefined,
      startWait: 5,
      streamUri: 'https://stream.launchdarkly.com',
      baseUri: 'https://sdk.launchdarkly.com',
      eventsUri: 'https://events.launchdarkly.com',
      sendEvents: true,
      failOnAuthError: true,
    });
  });

  it('reads the key and URIs from the environment; explicit values win; trailing slashes go', () => {
    const env = { LAUNCHDARKLY_SDK_KEY: 'sdk-env', LAUNCHDARKLY_STREAM_URI: 'http://s/', LAUNCHDARKLY_BASE_URI: 'http://b', LAUNCHDARKLY_EVENTS_URI: 'http://e' };
    const s = resolveLaunchDarklySettings({ baseUri: 'http://explicit/' }, env);
    expect(s).toMatchObject({ sdkKey: 'sdk-env', streamUri: 'http://s', baseUri: 'http://explicit', eventsUri: 'http://e' });
    expect(resolveLaunchDarklySettings({ sdkKey: 'sdk-x' }, env).sdkKey).toBe('sdk-x');
    expect(resolveLaunchDarklySettings({ sdkKey: '  ' }, {}).sdkKey).toBeUndefined();
  });

  it('rejects a bad mode or startWait, naming the value and its type', () => {
    expect(() => resolveLaunchDarklySettings({ mode: 'proxy' as never }, {})).toThrow(/'relay', 'direct' or 'daemon', got "proxy" \(string\)/);
    expect(() => resolveLaunchDarklySettings({ startWait: -1 }, {})).toThrow(/startWait/);
  });
});

describe('redactKey', () => {
  it('replaces every occurrence and leaves text alone without a key', () => {
    expect(redactKey('a sdk-123 b sdk-123', 'sdk-123')).toBe('a sdk-*** b sdk-***');
    expect(redactKey('nothing', undefined)).toBe('nothing');
    expect(PLACEHOLDER_SDK_KEY).toBe('ldsup-offline');
  });
});

describe('Backoff', () => {
  it('doubles from the initial delay to 30 s, with at most 50% jitter', () => {
    const b = new Backoff({ random: () => 0 });
    expect([1, 2, 3, 4, 5, 6, 7].map(() => b.fail())).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    const j = new Backoff({ random: () => 0.999 });
    expect(j.fail()).toBe(501);
  });

  it('resets only after a connection stayed up for 60 s', () => {
    let now = 0;
    const b = new Backoff({ random: () => 0, now: () => now });
    b.fail();
    b.fail();
    b.success();
    now += 59_000;
    expect(b.fail()).toBe(4000); // flapping: keeps growing
    b.success();
    now += 60_000;
    expect(b.fail()).toBe(1000);
  });
});
