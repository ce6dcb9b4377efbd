/**
 * Keep-alive balance (issue 5): the workers accept from one shared socket, so connections opened
 * while one worker is busy all land on the other and, kept alive, stay there. With
 * `keepAliveBalance` (the default) the overloaded worker closes its excess after their next
 * response and the clients' reconnections reach the idle worker; with it off they never move.
 * The split is forced, not hoped for: one worker's event loop is blocked (`/block`) while the
 * client opens its connections, so only the other one can accept them.
 */
import http from 'node:http';
import path from 'node:path';
import { FIXTURES, cleanup, freePort, get, start, tmpDir, type Ldsup } from '../support/ldsup.js';
import { waitUntil } from '../support/proc.js';

jest.setTimeout(120_000);
afterEach(cleanup);

const APP = path.join(FIXTURES, 'apps', 'blocking.mjs');
const CONNS = 16;
const agents: http.Agent[] = [];
afterEach(() => agents.splice(0).forEach((a) => a.destroy()));

/** CONNS requests at once over CONNS keep-alive connections: how many each pid answered. */
async function round(agent: http.Agent, port: number): Promise<Map<number, number>> {
  const per = new Map<number, number>();
  const replies = await Promise.all(Array.from({ length: CONNS }, () => get(port, '/', { agent })));
  for (const pid of replies.map((r) => r.json<{ pid: number }>().pid)) per.set(pid, (per.get(pid) ?? 0) + 1);
  return per;
}

/**
 * Starts 2 workers, blocks one for a while, opens CONNS keep-alive connections meanwhile (all on
 * the other worker), and waits until the blocked one answers again. Returns both pids.
 */
async function lopsided(extra: string[]): Promise<{ l: Ldsup; port: number; agent: http.Agent; busy: number; holder: number }> {
  const port = await freePort();
  const l = start([APP, '-w', '2', '-b', `127.0.0.1:${port}`, '--keep-alive', '60', ...extra], { cwd: tmpDir('ldsup-balance-') });
  await l.ready();
  const pids = l.bootedWorkers();
  const blocked = get(port, '/block?ms=4000');
  const busy = Number((await l.waitFor(/BLOCKING (\d+)/))[1]);
  const holder = pids.find((p) => p !== busy)!;
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNS });
  agents.push(agent);
  const first = await round(agent, port);
  expect(Object.fromEntries(first)).toEqual({ [holder]: CONNS });
  expect((await blocked).json<{ pid: number }>().pid).toBe(busy);
  return { l, port, agent, busy, holder };
}

test('a worker holding every keep-alive connection sheds the excess, and the idle worker gets them', async () => {
  const mport = await freePort();
  const { l, port, agent, busy, holder } = await lopsided(['--metrics-bind', `127.0.0.1:${mport}`]);
  // Requests keep flowing over the same agent; shed connections come back through accept().
  const split = await waitUntil(
    'the blocked worker to hold a fair part of the connections',
    async () => {
      const per = await round(agent, port);
      return (per.get(busy) ?? 0) >= CONNS / 4 ? per : null;
    },
    60_000,
  );
  expect(split.get(busy)! + (split.get(holder) ?? 0)).toBe(CONNS);
  // The workers' reports, as /metrics shows them, add up to the client's connections (a
  // connection counts from its second request on, so each poll sends a round first).
  const kept = async () =>
    [...(await get(mport, '/metrics')).body.matchAll(/^ldsup_worker_keepalive_connections\{pid="(\d+)"[^}]*\} (\d+)$/gm)].map((m) => [Number(m[1]), Number(m[2])] as const);
  const reported = await waitUntil('reports adding up to the open connections', async () => {
    await round(agent, port);
    const k = await kept();
    return k.reduce((a, [, n]) => a + n, 0) === CONNS ? k : null;
  });
  expect(new Set(reported.map(([pid]) => pid))).toEqual(new Set([busy, holder]));
  // Nothing failed on the way (a shed connection is closed cleanly after its response).
  expect(l.output).not.toMatch(/\[ERROR\]/);
});

test('with keepAliveBalance off, kept-alive connections stay on the worker that accepted them', async () => {
  const { agent, port, busy, holder } = await lopsided(['--keep-alive-balance', 'false']);
  for (let i = 0; i < 5; i++) {
    const per = await round(agent, port);
    expect({ busy: per.get(busy) ?? 0, holder: per.get(holder) }).toEqual({ busy: 0, holder: CONNS });
  }
});
