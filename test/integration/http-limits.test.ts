/**
 * Issue 3, HTTP limits that protect workers (spec §8, gunicorn's defaults): request line over
 * 4094 → 414, more than 100 header fields → 431, a header field over 8190 → 431, a malformed
 * request line → 400, slowloris headers → 408 or closed (`--headers-timeout`), Content-Length
 * with Transfer-Encoding → 400. After each, the same worker is healthy and serves the next request.
 */
import net from 'node:net';
import path from 'node:path';
import { FIXTURES, cleanup, freePort, get, start, tmpDir } from '../support/ldsup.js';

jest.setTimeout(90_000);
afterEach(cleanup);

const BASIC = path.join(FIXTURES, 'apps', 'basic.mjs');

/** Writes `data` on a raw connection; resolves with what came back once the server closes it (or after `limitMs`). */
function raw(port: number, data: string, limitMs = 20_000): Promise<{ text: string; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => (s.destroy(), resolve({ text, closedByServer: false })), limitMs);
    s.setEncoding('latin1');
    s.on('connect', () => s.write(data));
    s.on('data', (c: string) => {
      text += c;
      // A complete response with Content-Length: 0 is enough (keep-alive answers would not close).
      if (/\r\n\r\n/.test(text) && /content-length: 0/i.test(text)) s.end();
    });
    s.on('close', () => (clearTimeout(timer), resolve({ text, closedByServer: true })));
    s.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? undefined : reject(err)));
  });
}

const status = (text: string) => Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);

async function boot(...extra: string[]) {
  const port = await freePort();
  // In a temp dir: the repo's supervisor.config.ts (and its pidfile) must not be picked up.
  const l = start([BASIC, '-w', '1', '-b', `127.0.0.1:${port}`, ...extra], { cwd: tmpDir() });
  await l.ready();
  const [worker] = l.bootedWorkers();
  const healthy = async () => {
    const r = await get(port, '/');
    expect(r.status).toBe(200);
    expect(r.json<{ pid: number }>().pid).toBe(worker);
  };
  await healthy();
  return { port, healthy };
}

test.each([
  ['a request line over 4094 bytes', `GET /${'a'.repeat(5000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414],
  ['101 header fields', `GET / HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 100 }, (_, i) => `X-H${i}: v\r\n`).join('')}\r\n`, 431],
  ['a header field over 8190 bytes', `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(9000)}\r\n\r\n`, 431],
  ['a malformed request line', 'THIS IS NOT HTTP\r\n\r\n', 400],
  ['Content-Length together with Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
])('%s → %p, and the worker serves the next request', async (_what, request, expected) => {
  const { port, healthy } = await boot();
  const r = await raw(port, request);
  expect(status(r.text)).toBe(expected);
  await healthy();
});

test('within the limits (4094-byte line, 100 fields, 8190-byte field) is served', async () => {
  const { port, healthy } = await boot();
  const line = `GET /${'a'.repeat(4094 - 'GET / HTTP/1.1'.length - 10)} HTTP/1.1`;
  const fields = Array.from({ length: 97 }, (_, i) => `X-H${i}: v\r\n`).join('');
  const r = await raw(port, `${line}\r\nHost: x\r\nX-Big: ${'b'.repeat(8190 - 'X-Big'.length - 2)}\r\n${fields}Connection: close\r\n\r\n`);
  expect(status(r.text)).toBe(200);
  await healthy();
});

test('slowloris: headers dribbled past --headers-timeout 2 get 408 or a closed connection; the worker serves on', async () => {
  const { port, healthy } = await boot('--headers-timeout', '2');
  const result = await new Promise<{ text: string; closedByServer: boolean; sentAll: boolean }>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let text = '';
    let n = 0;
    let tick: NodeJS.Timeout | null = null;
    // One header line every 300 ms, for up to 60 lines (18 s): far longer than the 2 s allowed.
    s.on('connect', () => {
      s.write('GET / HTTP/1.1\r\nHost: x\r\n');
      tick = setInterval(() => {
        if (++n > 60) {
          clearInterval(tick!);
          s.destroy();
          return resolve({ text, closedByServer: false, sentAll: true });
        }
        s.write(`X-Slow-${n}: v\r\n`);
      }, 300);
    });
    s.setEncoding('latin1');
    s.on('data', (c: string) => (text += c));
    s.on('error', () => {});
    s.on('close', () => {
      if (tick) clearInterval(tick);
      resolve({ text, closedByServer: true, sentAll: false });
    });
  });
  expect(result.sentAll).toBe(false);
  expect(result.closedByServer).toBe(true);
  if (result.text) expect(status(result.text)).toBe(408);
  await healthy();
});
