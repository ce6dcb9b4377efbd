/**
 * LaunchDarkly daemon mode for fleets: no stream on this host; workers read the Redis store a
 * Relay Proxy fills, through LaunchDarkly's own Redis store package. A real redis-server
 * (Debian's, on loopback, started and stopped by this test by pid); the test writes the flag
 * data in the store's format, as a Relay Proxy would.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { FIXTURES, cleanup, freePort, get, start, tmpDir, writeConfig } from '../support/ldsup.js';
import { waitFor } from '../support/wait.js';

const APP = path.join(FIXTURES, 'apps', 'factory.ts');
let redis: ChildProcess | null = null;

afterEach(() => {
  cleanup();
  redis?.kill('SIGKILL');
  redis = null;
});

const flag = (value: unknown, version: number) =>
  JSON.stringify({ key: 'sample-flag', version, on: true, variations: [value], fallthrough: { variation: 0 }, offVariation: 0, salt: 's', targets: [], rules: [], prerequisites: [] });

test('daemon mode: workers evaluate from Redis (filled as a Relay Proxy does) and see changes after the cache TTL', async () => {
  const rport = await freePort();
  redis = spawn('redis-server', ['--port', String(rport), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const cli = (...args: string[]) => execFileSync('redis-cli', ['-p', String(rport), ...args], { encoding: 'utf8' }).trim();
  await waitFor(() => {
    try {
      return cli('ping') === 'PONG';
    } catch {
      return false;
    }
  }, 10_000, 'redis-server');
  cli('hset', 'fleet:features', 'sample-flag', flag('from-redis', 1));
  cli('set', 'fleet:$inited', '');

  const port = await freePort();
  const cfg = writeConfig(
    tmpDir(),
    'supervisor.config.mjs',
    `export default { app: ${JSON.stringify(APP)}, workers: 2, bind: '127.0.0.1:${port}',
       launchdarkly: { mode: 'daemon', sendEvents: false, redis: { url: 'redis://127.0.0.1:${rport}', prefix: 'fleet', cacheTTL: 1 } } };\n`,
  );
  const l = start(['-c', cfg], { env: { LAUNCHDARKLY_SDK_KEY: 'sdk-fleet-key-123' } });
  await l.ready();
  expect(l.output).toContain('daemon mode: workers read flags from Redis (prefix "fleet")');
  const seen = new Map<number, unknown>();
  const pollAll = (want: unknown) =>
    waitFor(async () => {
      const r = (await get(port, '/')).json<{ pid: number; flag: unknown; initialized: boolean }>();
      seen.set(r.pid, r.flag);
      return seen.size === 2 && [...seen.values()].every((v) => v === want);
    }, 30_000, `both workers to answer ${String(want)}`);
  await pollAll('from-redis');
  // The Relay Proxy writes a new version: every worker sees it once its cache expires.
  cli('hset', 'fleet:features', 'sample-flag', flag('updated', 2));
  await pollAll('updated');
  expect(l.output).not.toContain('sdk-fleet-key-123');
});
