import { FlagRelay } from '../../src/launchdarkly/relay.js';
import type { FlagEvent } from '../../src/launchdarkly/protocol.js';
import { resolveLaunchDarklySettings } from '../../src/launchdarkly/settings.js';
import { captureLogger } from '../support/capture-log.js';
import { FakeLaunchDarkly } from '../support/fake-ld.js';
import { nextEvent, waitFor } from '../support/wait.js';

const KEY = 'sdk-relay-test-secret-4242';
// Fast reconnects keep the suite quick; the production schedule is covered in ld-settings.test.ts.
const tuning = { backoff: { initialMs: 30, maxMs: 200 } };

let fake: FakeLaunchDarkly;
let url: string;
let relay: FlagRelay | null = null;
let log: ReturnType<typeof captureLogger>;

beforeEach(async () => {
  fake = new FakeLaunchDarkly({ sdkKey: KEY });
  url = await fake.start();
  log = captureLogger();
});

afterEach(async () => {
  await relay?.close();
  relay = null;
  await fake.stop();
  // Whatever happened in the test, the key never reached a log line.
  expect(log.text()).not.toContain(KEY);
});

function makeRelay(key = KEY): FlagRelay {
  const settings = resolveLaunchDarklySettings({ sdkKey: key, streamUri: url, baseUri: url, eventsUri: url }, {});
  relay = new FlagRelay(settings, log, tuning);
  return relay;
}

const flagsOf = (ev: FlagEvent | null) => (ev ? JSON.parse(ev.data).data.flags : null);

describe('FlagRelay (stream)', () => {
  it('turns the first put into a snapshot, with the SDK headers', async () => {
    fake.setFlag('banner', 'blue');
    const r = makeRelay();
    expect(r.snapshot()).toBeNull();
    r.start();
    expect(await r.waitForData(10_000)).toBe('ready');
    expect(flagsOf(r.snapshot()).banner).toMatchObject({ key: 'banner', variations: ['blue'], version: 1 });
    expect(r.status()).toMatchObject({ mode: 'relay', source: 'stream', initialized: true, connected: true, flagCount: 1 });
    const h = fake.requests.find((q) => q.path === '/all')!.headers;
    expect(h.authorization).toBe(KEY);
    expect(h['user-agent']).toMatch(/^NodeJSClient\//);
    expect(h['x-launchdarkly-wrapper']).toMatch(/^ldsup\//);
    expect(log.at('info').some((l) => l.includes('flag data received'))).toBe(true);
  });

  it('forwards patches and deletes, and drops stale versions', async () => {
    fake.setFlag('a', 1);
    const r = makeRelay();
    const events: FlagEvent[] = [];
    r.on('event', (e: FlagEvent) => events.push(e));
    r.start();
    await r.waitForData(10_000);
    fake.setFlag('a', 2); // version 2
    await waitFor(() => events.length === 2);
    expect(events[1].event).toBe('patch');
    expect(flagsOf(r.snapshot()).a.variations).toEqual([2]);

    // A stale patch (version 1) is neither applied nor forwarded; the delete after it is.
    fake.sendRaw(`event: patch\ndata: ${JSON.stringify({ path: '/flags/a', data: { key: 'a', version: 1, variations: [99] } })}\n\n`);
    fake.deleteFlag('a');
    await waitFor(() => events.length === 3);
    expect(events.map((e) => e.event)).toEqual(['put', 'patch', 'delete']);
    expect(flagsOf(r.snapshot())).toEqual({});
    expect(r.status().flagCount).toBe(0);
  });

  it('logs a malformed event, skips it and keeps going', async () => {
    const r = makeRelay();
    const events: FlagEvent[] = [];
    r.on('event', (e: FlagEvent) => events.push(e));
    r.start();
    await r.waitForData(10_000);
    fake.sendRaw('event: patch\ndata: {"path":"/flags/x",\n\n');
    fake.setFlag('ok', true);
    await waitFor(() => events.length === 2);
    expect(log.at('warning').filter((l) => l.includes('malformed patch'))).toHaveLength(1);
  });

  it('reports a 401 once as fatal, without the key, and never reconnects', async () => {
    const wrong = 'sdk-wrong-key-do-not-log';
    const r = makeRelay(wrong);
    const fatals: { status: number; message: string }[] = [];
    r.on('fatal', (f: { status: number; message: string }) => fatals.push(f));
    r.start();
    expect(await r.waitForData(10_000)).toBe('failed');
    expect(fatals).toHaveLength(1);
    expect(fatals[0].status).toBe(401);
    expect(fatals[0].message).not.toContain(wrong);
    expect(await r.waitForData(10)).toBe('failed');
    // Negative check: with 30 ms backoff a retry would have happened many times over in 300 ms.
    await new Promise((res) => setTimeout(res, 300));
    expect(fake.requests.filter((q) => q.path === '/all')).toHaveLength(1);
    expect(r.status()).toMatchObject({ initialized: false, connected: false });
    expect(r.status().lastError).toMatch(/HTTP 401/);
    expect(log.text()).not.toContain(wrong);
    expect(log.at('error')).toHaveLength(1);
  });

  it('retries a 503 with backoff and recovers', async () => {
    fake.failWith(503);
    fake.setFlag('a', true);
    const r = makeRelay();
    r.start();
    await waitFor(() => fake.requests.filter((q) => q.path === '/all').length >= 3);
    expect(r.status()).toMatchObject({ initialized: false, lastError: 'HTTP 503' });
    fake.failWith(null);
    expect(await r.waitForData(10_000)).toBe('ready');
    // One warning for the whole outage, one info when it ends.
    expect(log.at('warning')).toHaveLength(1);
    expect(log.at('info').some((l) => l.includes('reconnected'))).toBe(true);
  });

  it('times out waiting while LaunchDarkly is slow, then becomes ready', async () => {
    fake.slowFirstResponse(400);
    const r = makeRelay();
    r.start();
    expect(await r.waitForData(50)).toBe('timeout');
    expect(await r.waitForData(10_000)).toBe('ready');
  });

  it('reconnects after a dropped stream and forwards the reconnect put', async () => {
    fake.setFlag('a', 'before');
    const r = makeRelay();
    const events: FlagEvent[] = [];
    r.on('event', (e: FlagEvent) => events.push(e));
    r.start();
    await r.waitForData(10_000);
    fake.dropStreams();
    fake.setFlag('a', 'changed-while-down'); // no stream open: only the reconnect put carries it
    await waitFor(() => events.filter((e) => e.event === 'put').length === 2);
    expect(fake.totalStreamConnections).toBe(2);
    expect(flagsOf(r.snapshot()).a.variations).toEqual(['changed-while-down']);
    expect(log.at('warning').some((l) => l.includes('stream dropped'))).toBe(true);
    expect(log.at('info').some((l) => l.includes('reconnected'))).toBe(true);
    expect(r.status().connected).toBe(true);
  });

  it('close() ends the stream', async () => {
    const r = makeRelay();
    r.start();
    await r.waitForData(10_000);
    await waitFor(() => fake.streamConnections === 1);
    await r.close();
    await waitFor(() => fake.streamConnections === 0);
  });
});

describe('FlagRelay (no key, no file)', () => {
  it('is ready at once with empty data', async () => {
    relay = new FlagRelay(resolveLaunchDarklySettings({}, {}), log);
    const first = nextEvent<FlagEvent>(relay, 'event');
    relay.start();
    expect(await relay.waitForData(0)).toBe('ready');
    expect(JSON.parse((await first).data)).toEqual({ path: '/', data: { flags: {}, segments: {} } });
    expect(relay.status()).toMatchObject({ mode: 'offline', source: 'none', initialized: true, flagCount: 0 });
  });
});
