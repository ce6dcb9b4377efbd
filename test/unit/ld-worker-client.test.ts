import { EventEmitter } from 'node:events';
import { init, type LDClient } from '@launchdarkly/node-server-sdk';
import { closeClient } from '../../src/launchdarkly/close-client.js';
import { putEvent, type FlagEvent, type RawItem } from '../../src/launchdarkly/protocol.js';
import { FlagRelay } from '../../src/launchdarkly/relay.js';
import { resolveLaunchDarklySettings } from '../../src/launchdarkly/settings.js';
import { createWorkerClient } from '../../src/launchdarkly/worker-client.js';
import { clearWorkerBootstrap, ldOptions, ldSdkKey, setWorkerBootstrap, workerSnapshot } from '../../src/launchdarkly/worker-bootstrap.js';
import { captureLogger } from '../support/capture-log.js';
import { FakeLaunchDarkly } from '../support/fake-ld.js';
import { waitFor } from '../support/wait.js';

const user = { kind: 'user', key: 'u1', email: 'ann@example.com' };
const simple = (key: string, value: unknown, version = 1): RawItem => ({ key, version, on: true, variations: [value], fallthrough: { variation: 0 }, offVariation: 0, salt: key });
// A rule (needs revived attribute references) and a segment match (needs a revived segment).
const ruleFlag: RawItem = {
  key: 'beta', version: 1, on: true, variations: [false, true], fallthrough: { variation: 0 }, offVariation: 0, salt: 'beta',
  rules: [{ id: 'r1', variation: 1, clauses: [{ contextKind: 'user', attribute: 'email', op: 'endsWith', values: ['@example.com'], negate: false }] }],
};
const segFlag: RawItem = {
  key: 'vip', version: 1, on: true, variations: ['no', 'yes'], fallthrough: { variation: 0 }, offVariation: 0, salt: 'vip',
  rules: [{ id: 'r1', variation: 1, clauses: [{ attribute: 'segmentMatch', op: 'segmentMatch', values: ['vips'], negate: false }] }],
};
const segment: RawItem = { key: 'vips', version: 1, included: ['u1'], salt: 's' };
const bootstrap = () => putEvent({ flags: { a: simple('a', 'one'), beta: ruleFlag, vip: segFlag }, segments: { vips: segment } });

const send = (ch: EventEmitter, ev: FlagEvent) => ch.emit('message', { t: 'ld', ...ev });
const patchEv = (item: RawItem): FlagEvent => ({ event: 'patch', data: JSON.stringify({ path: `/flags/${item.key}`, data: item }) });

const offline = resolveLaunchDarklySettings({}, {});
let clients: LDClient[] = [];
let log: ReturnType<typeof captureLogger>;

beforeEach(() => {
  log = captureLogger();
});

afterEach(async () => {
  await Promise.all(clients.map((c) => closeClient(c, 500)));
  clients = [];
  clearWorkerBootstrap();
});

async function worker(channel: EventEmitter, boot: FlagEvent | null, settings = offline): Promise<LDClient> {
  const c = await createWorkerClient(settings, channel, boot, log);
  clients.push(c);
  return c;
}

describe('createWorkerClient', () => {
  it('is initialised from the bootstrap before it resolves, and evaluates rules and segments', async () => {
    const client = await worker(new EventEmitter(), bootstrap());
    expect(client.initialized()).toBe(true);
    const d = await client.variationDetail('a', user, 'default');
    expect(d.value).toBe('one');
    expect(d.reason).toEqual({ kind: 'FALLTHROUGH' });
    expect((await client.variationDetail('beta', user, false)).reason).toMatchObject({ kind: 'RULE_MATCH', ruleId: 'r1' });
    expect(await client.variation('beta', user, false)).toBe(true);
    expect(await client.variation('vip', user, 'default')).toBe('yes');
    expect(await client.variation('vip', { kind: 'user', key: 'u2' }, 'default')).toBe('no');
  });

  it('applies forwarded patches and deletes; unknown flags log at debug only', async () => {
    const ch = new EventEmitter();
    const client = await worker(ch, bootstrap());
    send(ch, patchEv(simple('a', 'two', 2)));
    expect(await client.variation('a', user, 'default')).toBe('two');
    send(ch, patchEv(simple('a', 'stale', 1)));
    expect(await client.variation('a', user, 'default')).toBe('two');
    send(ch, { event: 'delete', data: JSON.stringify({ path: '/flags/a', version: 3 }) });
    const gone = await client.variationDetail('a', user, 'default');
    expect(gone).toMatchObject({ value: 'default', reason: { kind: 'ERROR', errorKind: 'FLAG_NOT_FOUND' } });
    expect(log.at('error')).toEqual([]);
    expect(log.at('debug').some((l) => l.includes('Unknown feature flag'))).toBe(true);
  });

  it('with a null bootstrap, serves defaults until the first put arrives', async () => {
    const ch = new EventEmitter();
    const client = await worker(ch, null);
    expect(client.initialized()).toBe(false);
    const d = await client.variationDetail('a', user, 'default');
    expect(d).toMatchObject({ value: 'default', reason: { kind: 'ERROR', errorKind: 'CLIENT_NOT_READY' } });
    send(ch, bootstrap());
    expect(client.initialized()).toBe(true);
    expect(await client.variation('a', user, 'default')).toBe('one');
    expect(log.at('error')).toEqual([]);
  });

  it('logs one clear line for a fatal message and fails initialisation like the SDK', async () => {
    const ch = new EventEmitter();
    const client = await worker(ch, null);
    const failed = client.waitForInitialization({ timeout: 10 });
    ch.emit('message', { t: 'ld-fatal', status: 401, message: 'LaunchDarkly rejected the stream request with HTTP 401' });
    ch.emit('message', { t: 'ld-fatal', status: 401, message: 'again' });
    await expect(failed).rejects.toThrow(/Authentication failed/);
    expect(log.at('error')).toHaveLength(1);
    expect(log.at('error')[0]).toMatch(/HTTP 401/);
  });

  it('stops listening to the channel when closed', async () => {
    const ch = new EventEmitter();
    const client = await worker(ch, bootstrap());
    expect(ch.listenerCount('message')).toBe(1);
    await closeClient(client, 500);
    clients = [];
    expect(ch.listenerCount('message')).toBe(0);
  });
});

describe('relay end to end (in process)', () => {
  it('a change at LaunchDarkly reaches the worker through the master relay; events are flushed on close', async () => {
    const fake = new FakeLaunchDarkly();
    const url = await fake.start();
    const settings = resolveLaunchDarklySettings({ sdkKey: fake.sdkKey, streamUri: url, baseUri: url, eventsUri: url }, {});
    const relay = new FlagRelay(settings, log);
    const ch = new EventEmitter();
    relay.on('event', (e: FlagEvent) => send(ch, e));
    try {
      fake.setFlag('color', 'red');
      relay.start();
      expect(await relay.waitForData(10_000)).toBe('ready');
      const client = await createWorkerClient(settings, ch, relay.snapshot(), log);
      expect(await client.variation('color', user, 'none')).toBe('red');
      fake.setFlag('color', 'green');
      await waitFor(async () => (await client.variation('color', user, 'none')) === 'green');
      expect(fake.totalStreamConnections).toBe(1); // only the master streams in relay mode
      await closeClient(client, 5000);
      expect(fake.events.length).toBeGreaterThan(0);
      expect(fake.requests.some((r) => r.path === '/bulk')).toBe(true);
      expect(log.text()).not.toContain(fake.sdkKey);
    } finally {
      await relay.close();
      await fake.stop();
    }
  });
});

describe('ldOptions() for app-built clients', () => {
  it('starts a late client from the current data, not the fork-time snapshot', async () => {
    const ch = new EventEmitter();
    setWorkerBootstrap(bootstrap(), offline, { channel: ch });
    send(ch, patchEv(simple('a', 'changed-after-fork', 2)));
    expect(ldSdkKey()).toBe('ldsup-offline');
    const opts = ldOptions();
    expect(opts).toMatchObject({ sendEvents: false, wrapperName: 'ldsup', streamUri: offline.streamUri, baseUri: offline.baseUri, eventsUri: offline.eventsUri });
    const client = init(ldSdkKey(), { ...opts, logger: { error() {}, warn() {}, info() {}, debug() {} } });
    clients.push(client);
    expect(client.initialized()).toBe(true);
    expect(await client.variation('a', user, 'default')).toBe('changed-after-fork');
    send(ch, patchEv(simple('a', 'three', 3)));
    expect(await client.variation('a', user, 'default')).toBe('three');
  });

  it('workerSnapshot() includes events that arrived before any client listened', async () => {
    const ch = new EventEmitter();
    setWorkerBootstrap(bootstrap(), offline, { channel: ch });
    send(ch, patchEv(simple('a', 'during-app-load', 2))); // no data source is listening yet
    const client = await worker(ch, workerSnapshot());
    expect(await client.variation('a', user, 'default')).toBe('during-app-load');
  });

  it('outside an ldsup worker returns plain URIs and no data source', () => {
    expect(workerSnapshot()).toBeNull();
    const opts = ldOptions();
    expect(opts.updateProcessor).toBeUndefined();
    expect(opts.streamUri).toMatch(/^https?:\/\//);
  });
});
