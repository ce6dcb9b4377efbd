// src/socket-response.ts on a real http server: the feature test passes on this Node.js (CI runs
// Node 20 and 24), and the response in progress is found while it is, and not once it is done.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { endsConnection, noteResponse, responseInProgress, usesNodePointer } from '../../src/socket-response.js';

test('the response in progress is found through the socket while it is, and not after it finished', async () => {
  const seen: Array<{ during: http.ServerResponse | null; same: boolean; after?: http.ServerResponse | null }> = [];
  const server = http.createServer((req, res) => {
    noteResponse(req.socket, res);
    const entry: (typeof seen)[number] = { during: responseInProgress(req.socket), same: responseInProgress(req.socket) === res };
    seen.push(entry);
    res.on('finish', () => setImmediate(() => (entry.after = responseInProgress(req.socket))));
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < 2; i++) {
      await new Promise<void>((resolve, reject) =>
        http.get({ port, host: '127.0.0.1', agent }, (res) => res.resume().on('end', resolve)).on('error', reject),
      );
    }
    expect(usesNodePointer()).toBe(true); // Node's own socket._httpMessage: no fallback needed here
    expect(seen.map((e) => e.same)).toEqual([true, true]);
    await new Promise((r) => setImmediate(r));
    expect(seen.map((e) => e.after)).toEqual([null, null]);
  } finally {
    agent.destroy();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test("endsConnection reads Node's own flag once the head is written: a close the app set, one Node adds (HTTP/1.0), none on keep-alive", async () => {
  const found: Record<string, { last: unknown; ends: boolean }> = {};
  const server = http.createServer((req, res) => {
    if (req.url === '/close') res.setHeader('Connection', 'close');
    res.writeHead(200, { 'content-length': '2' });
    found[`${req.url} ${req.httpVersion}`] = { last: (res as unknown as { _last: unknown })._last, ends: endsConnection(res) };
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const net = await import('node:net');
  const raw = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const c = net.connect(port, '127.0.0.1', () => c.end(text));
      c.on('data', () => {}).on('close', () => resolve()).on('error', reject);
    });
  try {
    await raw('GET /keep HTTP/1.1\r\nHost: x\r\n\r\n');
    await raw('GET /close HTTP/1.1\r\nHost: x\r\n\r\n');
    await raw('GET /old HTTP/1.0\r\n\r\n');
    // The feature test: this Node.js has the boolean (CI runs Node 20 and 24).
    expect(Object.values(found).map((f) => typeof f.last)).toEqual(['boolean', 'boolean', 'boolean']);
    expect(found['/keep 1.1']!.ends).toBe(false);
    expect(found['/close 1.1']!.ends).toBe(true);
    expect(found['/old 1.0']!.ends).toBe(true);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test('endsConnection without Node\'s flag (the fallback): the header the app set', () => {
  const res = (close: boolean) => ({ getHeader: (n: string) => (n === 'connection' && close ? 'close' : undefined) }) as unknown as http.ServerResponse;
  expect(endsConnection(res(true))).toBe(true);
  expect(endsConnection(res(false))).toBe(false);
});
