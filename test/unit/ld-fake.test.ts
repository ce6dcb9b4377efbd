/** The test service itself: the stock SDK must accept it, so integration tests can trust it. */
import { init, type LDClient } from '@launchdarkly/node-server-sdk';
import { FakeLaunchDarkly } from '../support/fake-ld.js';
import { waitFor } from '../support/wait.js';

let fake: FakeLaunchDarkly;
let url: string;
let client: LDClient | null = null;
const quiet = { error() {}, warn() {}, info() {}, debug() {} };

beforeEach(async () => {
  fake = new FakeLaunchDarkly({ heartbeatMs: 50 });
  url = await fake.start();
});

afterEach(async () => {
  client?.close();
  client = null;
  await fake.stop();
});

it('serves the stock SDK over its own stream, with patches, and collects events', async () => {
  fake.setFlag('f', 'v1');
  client = init(fake.sdkKey, { streamUri: url, baseUri: url, eventsUri: url, logger: quiet, diagnosticOptOut: true });
  await client.waitForInitialization({ timeout: 10 });
  expect(await client.variation('f', { key: 'u' }, 'none')).toBe('v1');
  fake.setFlag('f', 'v2');
  await waitFor(async () => (await client!.variation('f', { key: 'u' }, 'none')) === 'v2');
  await client.flush();
  expect(fake.events.length).toBeGreaterThan(0);
  expect(fake.streamConnections).toBe(1);
});

it('answers the poll endpoint with an ETag and 304, and 401 for a wrong key', async () => {
  fake.setFlag('f', true);
  const first = await fetch(`${url}/sdk/latest-all`, { headers: { Authorization: fake.sdkKey } });
  expect(first.status).toBe(200);
  expect(((await first.json()) as { flags: Record<string, { variations: unknown[] }> }).flags.f.variations).toEqual([true]);
  const etag = first.headers.get('etag')!;
  const again = await fetch(`${url}/sdk/latest-all`, { headers: { Authorization: fake.sdkKey, 'If-None-Match': etag } });
  expect(again.status).toBe(304);
  expect((await fetch(`${url}/sdk/latest-all`, { headers: { Authorization: 'nope' } })).status).toBe(401);
  fake.failWith(503);
  expect((await fetch(`${url}/sdk/latest-all`, { headers: { Authorization: fake.sdkKey } })).status).toBe(503);
});

it('stop() closes open streams', async () => {
  client = init(fake.sdkKey, { streamUri: url, baseUri: url, eventsUri: url, logger: quiet, sendEvents: false });
  await client.waitForInitialization({ timeout: 10 });
  await waitFor(() => fake.streamConnections === 1);
  await fake.stop();
  expect(fake.streamConnections).toBe(0);
});
