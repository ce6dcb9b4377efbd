import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ControlServer, control, type ControlRequest } from '../../src/control.js';

let dir: string;
beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldsup-control-'))));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

test('one request per connection: what the client writes after its first line is not run', async () => {
  const seen: ControlRequest[] = [];
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const server = new ControlServer(async (req) => {
    seen.push(req);
    if (seen.length === 1) await gate; // the first request is still running when more arrives
    return { ok: true, n: seen.length };
  });
  const sock = path.join(dir, 'c.sock');
  await server.listen(sock);
  try {
    const c = net.connect(sock);
    let buf = '';
    c.setEncoding('utf8');
    const ended = new Promise<void>((resolve) => c.on('end', resolve));
    c.on('data', (d: string) => (buf += d));
    await new Promise<void>((resolve) => c.write('{"cmd":"reload"}\n', () => resolve()));
    while (seen.length === 0) await new Promise((r) => setImmediate(r));
    // More on the same connection while the first request runs, flushed before the next connection opens.
    await new Promise<void>((resolve) => c.write('{"cmd":"reload"}\n', () => resolve()));
    expect(await control(sock, { cmd: 'status' }, 5000)).toEqual({ ok: true, n: 2 });
    open();
    await ended;
    expect(JSON.parse(buf)).toEqual({ ok: true, n: 2 });
    expect(seen).toEqual([{ cmd: 'reload' }, { cmd: 'status' }]);
    c.destroy();
  } finally {
    await server.close();
  }
});
