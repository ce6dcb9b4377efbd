// src/socket-response.ts on a real http server: the feature test passes on this Node.js (CI runs
// Node 20 and 24), and the response in progress is found while it is, and not once it is done.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { noteResponse, responseInProgress, usesNodePointer } from '../../src/socket-response.js';

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
