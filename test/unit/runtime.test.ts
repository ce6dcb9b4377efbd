// The internal Node APIs the master touches (net._createServerHandle and its handle, a listening
// server's fd), on real loopback sockets. CI runs this on Node 20 and Node 24.
import net from 'node:net';
import fs from 'node:fs';
import { bindHandle, hasBindOnlyHandle, listeningFd, probeListen } from '../../src/runtime.js';
import { freePort } from '../support/ldsup.js';

const listening = (port: number): Promise<net.Server> =>
  new Promise((resolve, reject) => {
    const s = net.createServer((c) => c.destroy());
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });

const connects = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
  });

test('this Node has the bind-only handle', () => {
  expect(hasBindOnlyHandle).toBe(true);
});

test('bindHandle binds without listening: the port is taken, and nothing answers on it', async () => {
  const handle = bindHandle({ host: '127.0.0.1', port: 0 });
  try {
    const out: Record<string, unknown> = {};
    handle.getsockname?.(out);
    expect(typeof out.port).toBe('number');
    expect(handle.fd).toBeGreaterThan(2);
    expect(await connects(out.port as number)).toBe(false);
  } finally {
    handle.close();
  }
});

test('probeListen passes on a free port and leaves it free', async () => {
  const port = await freePort();
  await expect(probeListen('127.0.0.1', port)).resolves.toBeUndefined();
  expect(await connects(port)).toBe(false);
  (await listening(port)).close(); // not held by the probe
});

test('probeListen finds another process listening on the port (bind alone would not, SO_REUSEADDR)', async () => {
  const port = await freePort();
  const other = await listening(port);
  try {
    const held = bindHandle({ host: '127.0.0.1', port }); // succeeds despite the listener…
    held.close();
    await expect(probeListen('127.0.0.1', port)).rejects.toMatchObject({ code: 'EADDRINUSE' }); // …the probe does not
  } finally {
    other.close();
  }
});

test('bindHandle reports a bad address by its errno name', () => {
  expect(() => bindHandle({ host: '192.0.2.1', port: 0 })).toThrow(expect.objectContaining({ code: 'EADDRNOTAVAIL' }));
});

test("listeningFd gives the fd a listening server accepts on (what a USR2 child is handed), and refuses a closed server", async () => {
  const s = await listening(0);
  const fd = listeningFd(s);
  // That fd is the listening socket: a socket inode, and connections to its port are accepted.
  expect(fs.readlinkSync(`/proc/self/fd/${fd}`)).toMatch(/^socket:\[\d+\]$/);
  expect(await connects((s.address() as net.AddressInfo).port)).toBe(true);
  await new Promise((r) => s.close(r));
  expect(() => listeningFd(s)).toThrow(/does not show a listening server's fd/);
});
