import { Invalid, SETTINGS, SETTING_KEYS, closest, optionName, parseLaunchDarkly, type SettingDef } from '../../src/settings.js';
import type { Settings } from '../../src/types.js';

const def = (key: string): SettingDef => SETTINGS.find((s) => s.key === key)!;

/** Throws unless `fn` throws an Invalid; returns it. */
function invalid(fn: () => unknown): Invalid {
  try {
    fn();
  } catch (err) {
    if (err instanceof Invalid) return err;
    throw err;
  }
  throw new Error('expected an Invalid to be thrown');
}

describe('the settings table', () => {
  it('declares exactly the settings of the public Settings type (types.ts)', () => {
    // tsc rejects this object if a key of Settings is missing or an unknown one is added.
    const all: Record<keyof Settings, true> = {
      app: true, bind: true, workers: true, timeout: true, gracefulTimeout: true, preload: true, pidfile: true,
      logLevel: true, logFormat: true, errorLog: true, accessLog: true, accessLogFormat: true, env: true, chdir: true,
      name: true, maxRequests: true, maxRequestsJitter: true, backlog: true, keepAlive: true, keepAliveBalance: true, launchdarkly: true,
      maxMemory: true, daemon: true, user: true, group: true, healthBind: true, metricsBind: true, readyRequiresFlags: true, limitRequestLine: true, limitRequestFields: true, limitRequestFieldSize: true, headersTimeout: true,
    };
    expect([...SETTING_KEYS].sort()).toEqual(Object.keys(all).sort());
    expect(SETTING_KEYS.size).toBe(SETTINGS.length); // no key declared twice
  });

  it('every default passes its own validator unchanged (gunicorn test_config.py)', () => {
    for (const s of SETTINGS) {
      const d = s.default({});
      expect([s.key, s.parse(d, false)]).toEqual([s.key, d]);
    }
  });

  test.each<[string, NodeJS.ProcessEnv, unknown]>([
    ['workers', {}, 1],
    ['workers', { WEB_CONCURRENCY: '4' }, 4],
    ['workers', { WEB_CONCURRENCY: ' 3 ' }, 3],
    ['workers', { WEB_CONCURRENCY: '' }, 1],
    ['bind', {}, ['127.0.0.1:8000']],
    ['bind', { PORT: '5000' }, ['0.0.0.0:5000']],
    ['bind', { PORT: '' }, ['127.0.0.1:8000']],
    ['timeout', {}, 30],
    ['gracefulTimeout', {}, 30],
    ['keepAlive', {}, 5],
    ['backlog', {}, 2048],
    ['logLevel', {}, 'info'],
    ['name', {}, 'ldsup'],
    ['accessLog', {}, null],
    ['errorLog', {}, '-'],
    ['preload', {}, false],
    ['pidfile', {}, null],
    ['maxRequests', {}, 0],
    ['launchdarkly', {}, {}],
  ])('default %s with env %j is %j', (key, env, expected) => {
    expect(def(key).default(env)).toEqual(expected);
  });

  test.each<[string, NodeJS.ProcessEnv, string, string]>([
    ['workers', { WEB_CONCURRENCY: 'lots' }, 'WEB_CONCURRENCY', 'an integer from 1 to 512'],
    ['workers', { WEB_CONCURRENCY: '0' }, 'WEB_CONCURRENCY', 'an integer from 1 to 512'],
    ['workers', { WEB_CONCURRENCY: '1000' }, 'WEB_CONCURRENCY', 'an integer from 1 to 512'],
    ['bind', { PORT: 'http' }, 'PORT', 'a port number from 0 to 65535'],
    ['bind', { PORT: '70000' }, 'PORT', 'a port number from 0 to 65535'],
  ])('default %s with a bad %j throws, naming the variable', (key, env, name, expected) => {
    const err = invalid(() => def(key).default(env));
    expect(err.at.key).toBe(name);
    expect(err.expected).toBe(expected);
    expect(err.at.found).toBe(env[name]);
  });

  it('maps flags to commander option names', () => {
    expect(optionName(def('gracefulTimeout'))).toBe('gracefulTimeout');
    expect(optionName(def('workers'))).toBe('workers');
    expect(optionName(def('pidfile'))).toBe('pid');
    expect(optionName(def('launchdarkly'))).toBeUndefined();
    expect(SETTINGS.filter((s) => s.repeatable).map((s) => s.key)).toEqual(['bind', 'env']);
  });
});

describe('validators', () => {
  // [setting, value, fromText, parsed]
  test.each<[string, unknown, boolean, unknown]>([
    ['workers', 4, false, 4],
    ['workers', '4', true, 4],
    ['workers', ' 4 ', true, 4],
    ['workers', 512, false, 512],
    ['timeout', 0, false, 0],
    ['timeout', 2.5, false, 2.5],
    ['timeout', '7', true, 7],
    ['timeout', '0.5', true, 0.5],
    ['maxRequests', 0, false, 0],
    ['backlog', 65535, false, 65535],
    ['preload', true, false, true],
    ['preload', 'TRUE', true, true],
    ['preload', 'false', true, false],
    ['name', '  web  ', false, 'web'], // strings are stripped (gunicorn)
    ['logLevel', 'DEBUG', false, 'debug'],
    ['logLevel', 'warning', true, 'warning'],
    ['logFormat', 'json', false, 'json'],
    ['bind', '127.0.0.1:1', false, ['127.0.0.1:1']],
    ['bind', [' 127.0.0.1:1 ', '[::1]:2'], false, ['127.0.0.1:1', '[::1]:2']],
    ['bind', ['fd://3'], true, ['fd://3']],
    ['env', { A: '1', B_2: '' }, false, { A: '1', B_2: '' }],
    ['env', ['A=1', 'B=x=y'], true, { A: '1', B: 'x=y' }],
    ['env', 'A=multi\nline', false, { A: 'multi\nline' }],
    ['pidfile', null, false, null],
    ['accessLog', '-', false, '-'],
  ])('%s accepts %j (fromText %s) as %j', (key, value, fromText, parsed) => {
    expect(def(key).parse(value, fromText)).toEqual(parsed);
  });

  // [setting, value, fromText, expected] — one row per kind of wrong type or range
  test.each<[string, unknown, boolean, string]>([
    ['workers', '4', false, 'an integer from 1 to 512'], // a config file must give a number
    ['workers', 0, false, 'an integer from 1 to 512'],
    ['workers', -1, false, 'an integer from 1 to 512'],
    ['workers', 100000, false, 'an integer from 1 to 512'],
    ['workers', 2.5, false, 'an integer from 1 to 512'],
    ['workers', 'abc', true, 'an integer from 1 to 512'],
    ['workers', '2.5', true, 'an integer from 1 to 512'],
    ['workers', true, false, 'an integer from 1 to 512'],
    ['workers', null, false, 'an integer from 1 to 512'],
    ['maxRequests', -1, false, 'an integer >= 0'],
    ['backlog', 0, false, 'an integer from 1 to 65535'],
    ['timeout', 'soon', false, 'a number of seconds >= 0'],
    ['timeout', '7', false, 'a number of seconds >= 0'],
    ['timeout', -1, false, 'a number of seconds >= 0'],
    ['timeout', '-1', true, 'a number of seconds >= 0'],
    ['timeout', Infinity, false, 'a number of seconds >= 0'],
    ['timeout', NaN, false, 'a number of seconds >= 0'],
    ['preload', 'yes', true, 'true or false'],
    ['preload', 'true', false, 'true or false'],
    ['preload', 1, false, 'true or false'],
    ['name', 42, false, 'a non-empty string'],
    ['name', '   ', false, 'a non-empty string'],
    ['pidfile', 5, false, 'a non-empty string'],
    ['logLevel', 'verbose', false, 'one of debug, info, warning, error, critical'],
    ['logLevel', 3, false, 'one of debug, info, warning, error, critical'],
    ['logFormat', 'xml', false, 'one of text, json'],
    ['bind', 8000, false, 'an address (HOST:PORT, [v6]:PORT, unix:PATH or fd://N) or a non-empty array of them'],
    ['bind', [], false, 'an address (HOST:PORT, [v6]:PORT, unix:PATH or fd://N) or a non-empty array of them'],
    ['bind', ['127.0.0.1:1', 8000], false, 'an address (HOST:PORT, [v6]:PORT, unix:PATH or fd://N)'],
    ['bind', 'a:1:2', false, 'an address (HOST:PORT, [v6]:PORT, unix:PATH or fd://N)'],
    ['env', 5, false, 'an object of string values (or KEY=VALUE strings)'],
    ['env', ['A'], true, 'KEY=VALUE strings'],
    ['env', ['1A=x'], true, 'KEY=VALUE strings'],
    ['env', { A: 1 }, false, 'a string'],
    ['env', { 'A-B': 'x' }, false, 'variable names like MY_VAR'],
    ['launchdarkly', 'sdk-123', false, 'an object with the keys sdkKey, mode, redis, flagsFile, startWait, streamUri, baseUri, eventsUri, sendEvents, failOnAuthError'],
  ])('%s rejects %j (fromText %s): expected %s', (key, value, fromText, expected) => {
    expect(invalid(() => def(key).parse(value, fromText)).expected).toBe(expected);
  });

  test.each<[unknown, unknown, string]>([
    [['127.0.0.1:1', 8000], 8000, ''],
    ['a:1:2', 'a:1:2', "too many ':'"],
    ['127.0.0.1:70000', '127.0.0.1:70000', 'port 70000 is out of range (0-65535)'],
  ])('bind %j: points at the bad address %j and says why', (value, found, detail) => {
    const err = invalid(() => def('bind').parse(value, false));
    expect(err.at.found).toEqual(found);
    expect(err.at.detail ?? '').toContain(detail);
  });

  it('bind, once merged: a unix socket in a directory missing under chdir points at that address', () => {
    const settings = { chdir: '/' } as Parameters<NonNullable<SettingDef['resolve']>>[1];
    expect(def('bind').resolve!(['127.0.0.1:1', 'unix:tmp/s.sock'], settings)).toEqual(['127.0.0.1:1', 'unix:/tmp/s.sock']);
    const err = invalid(() => def('bind').resolve!(['127.0.0.1:1', 'unix:no/such/dir/s.sock'], settings));
    expect([err.at.found, err.at.detail]).toEqual(['unix:no/such/dir/s.sock', 'directory /no/such/dir does not exist']);
  });
});

describe('parseLaunchDarkly', () => {
  it('accepts every sub-key', () => {
    const all = {
      sdkKey: ' sdk-1 ', mode: 'DIRECT', flagsFile: 'f.json', startWait: 0, streamUri: 's', baseUri: 'b', eventsUri: 'e', sendEvents: false, failOnAuthError: true,
    };
    expect(parseLaunchDarkly(all)).toEqual({ ...all, sdkKey: 'sdk-1', mode: 'direct' });
    expect(parseLaunchDarkly({ sdkKey: undefined })).toEqual({});
  });

  test.each<[Record<string, unknown>, string, string, unknown]>([
    [{ mode: 'proxy' }, 'launchdarkly.mode', 'one of relay, direct, daemon', 'proxy'],
    [{ startWait: 'long' }, 'launchdarkly.startWait', 'a number of seconds >= 0', 'long'],
    [{ startWait: -1 }, 'launchdarkly.startWait', 'a number of seconds >= 0', -1],
    [{ sendEvents: 'no' }, 'launchdarkly.sendEvents', 'true or false', 'no'],
    [{ failOnAuthError: 0 }, 'launchdarkly.failOnAuthError', 'true or false', 0],
    [{ sdkKey: 123 }, 'launchdarkly.sdkKey', 'a non-empty string', 123],
    [{ flagsFile: '' }, 'launchdarkly.flagsFile', 'a non-empty string', ''],
  ])('%j → %s: expected %s', (value, key, expected, found) => {
    const err = invalid(() => parseLaunchDarkly(value));
    expect([err.at.key, err.expected, err.at.found]).toEqual([key, expected, found]);
  });

  it('names an unknown sub-key and suggests the right one', () => {
    const err = invalid(() => parseLaunchDarkly({ streamURI: 'x' }));
    expect(err.at.foundText).toBe('unknown key "streamURI" (did you mean "streamUri"?)');
    expect(invalid(() => parseLaunchDarkly({ zzz: 1 })).at.foundText).toBe('unknown key "zzz"');
  });
});

describe('closest ("did you mean")', () => {
  test.each<[string, string | undefined]>([
    ['workerz', 'workers'],
    ['Workers', 'workers'],
    ['max_requests', 'maxRequests'],
    ['graceful-timeout', 'gracefulTimeout'],
    ['loglevel', 'logLevel'],
    ['timeot', 'timeout'],
    ['bin', 'bind'],
    ['xyz', undefined],
    ['port', undefined], // not a setting: bind is
  ])('%s → %s', (name, hit) => {
    expect(closest(name, SETTING_KEYS)).toBe(hit);
  });
});
