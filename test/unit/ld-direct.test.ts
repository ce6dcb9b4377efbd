import { EventEmitter } from 'node:events';
import type { LDClient } from '@launchdarkly/node-server-sdk';
import { closeClient } from '../../src/launchdarkly/close-client.js';
import { putEvent, type FlagEvent } from '../../src/launchdarkly/protocol.js';
import { FlagRelay } from '../../src/launchdarkly/relay.js';
import { resolveLaunchDarklySettings, type LaunchDarklySettings } from '../../src/launchdarkly/settings.js';
import { createWorkerClient } from '../../src/launchdarkly/worker-client.js';
import { captureLogger } from '../support/capture-log.js';
import { FakeLaunchDarkly } from '../support/fake-ld.js';
import { waitFor } from '../support/wait.js';

const user = { kind: 'user', key: 'u1' };
let fake: FakeLaunchDarkly;
let settings: LaunchDarklySettings;
let log: ReturnType<typeof captureLogger>;
let clients: LDClient[] = [];

beforeEach(async () => {
  fake = new FakeLaunchDarkly();
  const url = await fake.start();
  settings = resolveLaunchDarklySettings({ mode: 'direct', sdkKey: fake.sdkKey, streamUri: url, baseUri: url, eventsUri: url, sendEvents: false }, {});
  log = captureLogger();
});

afterEach(async () => {
  await Promise.all(clients.map((c) => closeClient(c, 500)));
  clients = [];
  await fake.stop();
  expect(log.text()).not.toContain(fake.sdkKey);
});

async function worker(ch: EventEmitter, boot: FlagEvent | null, s = settings): Promise<LDClient> {
  const c = await createWorkerClient(s, ch, boot, log);
  clients.push(c);
  return c;
}

describe('direct mode', () => {
  it('bootstraps from the snapshot, then opens its own stream and follows it', async () => {
    fake.setFlag('color', 'red');
    const relay = new FlagRelay(settings, log);
    relay.start();
    try {
      expect(await relay.waitForData(10_000)).toBe('ready');
      expect(relay.status().mode).toBe('direct');
      await waitFor(() => fake.streamConnections === 1);
      const ch = new EventEmitter();
      const client = await worker(ch, relay.snapshot());
      expect(client.initialized()).toBe(true); // before its own stream answered
      expect(await client.variation('color', user, 'none')).toBe('red');
      await waitFor(() => fake.streamConnections === 2, 10_000, 'worker opened its own stream');
      expect(fake.totalStreamConnections).toBe(2);
      fake.setFlag('color', 'green');
      await waitFor(async () => (await client.variation('color', user, 'none')) === 'green');
      // Forwarded copies are ignored: the worker's own stream is the source of truth.
      ch.emit('message', { t: 'ld', ...putEvent({ flags: {}, segments: {} }) });
      expect(await client.variation('color', user, 'none')).toBe('green');
      await closeClient(client, 500);
      clients = [];
      await waitFor(() => fake.streamConnections === 1, 10_000, 'worker stream closed');
    } finally {
      await relay.close();
    }
  });

  it('without a bootstrap, initialises from its own stream', async () => {
    fake.setFlag('color', 'blue');
    const client = await worker(new EventEmitter(), null);
    await waitFor(() => client.initialized());
    expect(await client.variation('color', user, 'none')).toBe('blue');
  });

  it('a rejected key on the worker stream logs one line without the key', async () => {
    const bad = resolveLaunchDarklySettings({ ...settings, sdkKey: 'sdk-bad-worker-key' }, {});
    const client = await worker(new EventEmitter(), null, bad);
    await waitFor(() => log.at('error').length === 1);
    expect(client.initialized()).toBe(false);
    expect(log.at('error')[0]).toMatch(/HTTP 401/);
    expect(log.text()).not.toContain('sdk-bad-worker-key');
  });
});
