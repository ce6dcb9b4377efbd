// The worker's HTTP server and its drain (src/http-server.ts), in this process, on real loopback
// sockets: which connections a drain closes and when it is over, and what abort() drops.
import net from 'node:net';
import { HttpServing } from '../../src/http-server.js';
import { bindHandle, type ServerHandle } from '../../src/runtime.js';
import { CI_TIMEOUT } from '../support/ldsup.js';
import { waitFor } from '../support/wait.js';

/** A raw keep-alive client: sends requests on one connection and collects what comes back. */
class Client {
  readonly socket: net.Socket;
  data = '';
  ended = false;
  closed = false;
  error: Error | null = null;

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setEncoding('utf8');
    this.socket.on('data', (d: string) => (this.data += d));
    this.socket.on('end', () => (this.ended = true));
    this.socket.on('close', () => (this.closed = true));
    this.socket.on('error', (err) => (this.error = err));
  }

  connected(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.socket.connecting) return resolve();
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
  }

  send(path: string): void {
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  }

  responses(): string[] {
    return this.data.split('HTTP/1.1 ').slice(1);
  }
}

let handle: ServerHandle | null = null;
let serving: HttpServing | null = null;
const clients: Client[] = [];
const held: Array<() => void> = [];

/** Drops the server under test and its socket. */
function stopServing(): void {
  serving?.abort();
  serving = null;
  handle?.close();
  handle = null;
}

afterEach(() => {
  held.splice(0).forEach((release) => release());
  for (const c of clients.splice(0)) c.socket.destroy();
  stopServing();
});

/** Serves `/` at once and holds `/slow` until released; keepAlive long, so only the drain closes idle connections. */
async function serve(keepAliveMs = 60_000): Promise<{ port: number; serving: HttpServing; inSlow: () => number }> {
  handle = bindHandle({ host: '127.0.0.1', port: 0 });
  const addr: Record<string, unknown> = {};
  handle.getsockname?.(addr);
  let slow = 0;
  serving = new HttpServing({
    fds: [handle.fd],
    backlog: 64,
    keepAliveMs,
    limits: { requestLine: 4094, fields: 100, fieldSize: 8190, headersTimeoutMs: 10_000 },
    handler: (req, res) => {
      const reply = () => res.end('ok\n');
      if (req.url !== '/slow') return reply();
      slow++;
      held.push(reply);
    },
  });
  await serving.listen();
  return { port: addr.port as number, serving, inSlow: () => slow };
}

async function client(port: number): Promise<Client> {
  const c = new Client(port);
  clients.push(c);
  await c.connected();
  return c;
}

test('keepAlive 0 turns keep-alive off: the response says Connection: close and the server closes the connection', async () => {
  const { port } = await serve(0);
  const c = await client(port);
  c.send('/');
  await waitFor(() => c.ended, CI_TIMEOUT, 'the server to close the connection');
  expect(c.responses()).toHaveLength(1);
  expect(c.responses()[0]).toMatch(/^200 OK[\s\S]*Connection: close/i);
  expect(c.error).toBeNull();
});

test('drain: idle keep-alive connections are closed after the grace, a request in flight is answered with Connection: close, then it resolves', async () => {
  const { port, serving, inSlow } = await serve();
  // Five connections, each with one answered request, so each is idle and kept alive.
  const idle: Client[] = [];
  for (let i = 0; i < 5; i++) {
    const c = await client(port);
    c.send('/');
    await waitFor(() => c.responses().length === 1, CI_TIMEOUT, 'first response');
    expect(c.responses()[0]).toMatch(/^200 OK[\s\S]*Connection: keep-alive/i);
    idle.push(c);
  }
  // Two leave by themselves (the first and a middle one of the server's list), before the drain.
  idle[0]!.socket.end();
  idle[2]!.socket.end();
  await waitFor(() => idle[0]!.closed && idle[2]!.closed, CI_TIMEOUT, 'clients gone');
  const busy = await client(port);
  busy.send('/slow');
  await waitFor(() => inSlow() === 1, CI_TIMEOUT, 'slow request in the app');
  expect(serving.inflight).toBe(1); // the idle ones have answered

  let drained = false;
  const drain = serving.drain(200).then(() => (drained = true));
  // The idle ones are closed by the server (a clean FIN, no reset); the busy one stays open.
  await waitFor(() => [1, 3, 4].every((i) => idle[i]!.ended), CI_TIMEOUT, 'idle connections closed');
  expect([1, 3, 4].map((i) => idle[i]!.error)).toEqual([null, null, null]);
  expect(busy.closed).toBe(false);
  expect(drained).toBe(false);
  // The in-flight request completes with Connection: close, the connection closes, the drain is over.
  held.shift()!();
  await drain;
  expect(busy.responses()).toHaveLength(1);
  expect(busy.responses()[0]).toMatch(/^200 OK[\s\S]*Connection: close[\s\S]*ok\n$/i);
  await waitFor(() => busy.ended, CI_TIMEOUT, 'busy connection closed');
  expect(busy.error).toBeNull();
});

test('drain with no connection left resolves at once; abort drops every open connection', async () => {
  const first = await serve();
  await first.serving.drain(200);

  stopServing();
  const { port, serving, inSlow } = await serve();
  const a = await client(port);
  const b = await client(port);
  a.send('/');
  b.send('/slow');
  await waitFor(() => a.responses().length === 1 && inSlow() === 1, CI_TIMEOUT, 'one answered, one in the app');
  serving.abort();
  await waitFor(() => a.closed && b.closed, CI_TIMEOUT, 'both connections dropped');
  expect(b.responses()).toHaveLength(0);
});


test('keep-alive balance: kept counts connections that carried a second request; shed(n) closes n after their next response, in-flight ones first', async () => {
  const { port, serving, inSlow } = await serve();
  // A request with Connection: close never counts.
  const once = await client(port);
  once.socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  await waitFor(() => once.ended, CI_TIMEOUT, 'connection-close request answered and closed');
  expect(serving.kept).toBe(0);
  // Four keep-alive connections: answered once, none counts yet; answered twice, all four do.
  const kept: Client[] = [];
  for (let i = 0; i < 4; i++) {
    const c = await client(port);
    c.send('/');
    await waitFor(() => c.responses().length === 1, CI_TIMEOUT, 'first response');
    kept.push(c);
  }
  expect(serving.kept).toBe(0);
  for (const c of kept) c.send('/');
  await waitFor(() => kept.every((c) => c.responses().length === 2), CI_TIMEOUT, 'second responses');
  expect(serving.kept).toBe(4);
  // One has a request in the app when the master asks for two: that one goes first.
  kept[0]!.send('/slow');
  await waitFor(() => inSlow() === 1, CI_TIMEOUT, 'slow request in the app');
  serving.shed(2);
  expect(serving.kept).toBe(4); // counted until they are gone
  held.shift()!();
  await waitFor(() => kept[0]!.ended, CI_TIMEOUT, 'in-flight shed connection closed');
  expect(kept[0]!.responses()[2]).toMatch(/^200 OK[\s\S]*Connection: close/i);
  // Exactly one idle connection was shed too: its next response closes it; the other two stay.
  for (const c of kept.slice(1)) c.send('/');
  await waitFor(() => kept.slice(1).every((c) => c.responses().length === 3), CI_TIMEOUT, 'third responses');
  const closing = kept.slice(1).filter((c) => /Connection: close/i.test(c.responses()[2]!));
  expect(closing).toHaveLength(1);
  await waitFor(() => closing[0]!.ended, CI_TIMEOUT, 'idle shed connection closed after its response');
  await waitFor(() => serving.kept === 2, CI_TIMEOUT, 'kept back to 2');
  expect(kept.map((c) => c.error)).toEqual([null, null, null, null]);
  for (const c of kept.slice(1).filter((x) => x !== closing[0])) expect(c.ended).toBe(false);
});

test('keep-alive balance: while over its share, a worker tells new keep-alive connections to close after their second response', async () => {
  const { port, serving } = await serve();
  const answered = async (c: Client, n: number) => waitFor(() => c.responses().length === n, CI_TIMEOUT, `response ${n}`);
  const old: Client[] = [];
  for (let i = 0; i < 2; i++) {
    const c = await client(port);
    for (const n of [1, 2]) {
      c.send('/');
      await answered(c, n);
    }
    old.push(c);
  }
  expect(serving.kept).toBe(2);
  serving.shed(0, 2, 60_000); // keep 2, for a minute: nothing to shed yet, but no room for more
  const fresh = await client(port);
  fresh.send('/');
  await answered(fresh, 1);
  expect(fresh.responses()[0]).toMatch(/Connection: keep-alive/i); // its first answer is as usual
  fresh.send('/');
  await answered(fresh, 2);
  expect(fresh.responses()[1]).toMatch(/^200 OK[\s\S]*Connection: close/i);
  await waitFor(() => fresh.ended, CI_TIMEOUT, 'fresh connection closed');
  // The two it already held are untouched.
  for (const c of old) c.send('/');
  await Promise.all(old.map((c) => answered(c, 3)));
  for (const c of old) expect(c.responses()[2]).toMatch(/Connection: keep-alive/i);
  expect(serving.kept).toBe(2);
});

test('keep-alive balance: the limit counts the connections that stay, not those already shed and on their way out', async () => {
  const { port, serving } = await serve();
  const answered = async (c: Client, n: number) => waitFor(() => c.responses().length === n, CI_TIMEOUT, `response ${n}`);
  const keepAlive = async (): Promise<Client> => {
    const c = await client(port);
    for (const n of [1, 2]) {
      c.send('/');
      await answered(c, n);
    }
    return c;
  };
  const old = [await keepAlive(), await keepAlive(), await keepAlive()];
  expect(serving.kept).toBe(3);
  // Shed two of three (idle: they close on their next response), keep 2, for a minute: one stays.
  serving.shed(2, 2, 60_000);
  expect(serving.kept).toBe(3); // the shed ones count until they have closed
  // A reconnecting client that lands here again is kept: with it, two stay.
  const back = await keepAlive();
  expect(back.responses()[1]).toMatch(/Connection: keep-alive/i);
  // The next one would be a third: shed.
  const more = await keepAlive();
  expect(more.responses()[1]).toMatch(/^200 OK[\s\S]*Connection: close/i);
  await waitFor(() => more.ended, CI_TIMEOUT, 'connection over the limit closed');
  // Exactly two of the old three were shed: their next response closes them.
  for (const c of old) c.send('/');
  await Promise.all(old.map((c) => answered(c, 3)));
  expect(old.filter((c) => /Connection: close/i.test(c.responses()[2]!)).length).toBe(2);
});

test('drain: pipelined requests already received are all answered, and only the last response carries Connection: close', async () => {
  const { port, serving, inSlow } = await serve();
  const c = await client(port);
  c.socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitFor(() => inSlow() === 2, CI_TIMEOUT, 'both pipelined requests in the app');
  expect(serving.inflight).toBe(1); // one connection with responses on their way
  const drain = serving.drain(200);
  for (const reply of held.splice(0)) reply();
  await drain;
  expect(c.responses()).toHaveLength(2);
  expect(c.responses()[0]).toMatch(/^200 OK[\s\S]*Connection: keep-alive/i);
  expect(c.responses()[1]).toMatch(/^200 OK[\s\S]*Connection: close/i);
  await waitFor(() => c.ended, CI_TIMEOUT, 'connection closed after the last response');
  expect(c.error).toBeNull();
});

test('drain: pipelined requests that arrive during it are all answered; the close moves to the last response', async () => {
  const { port, serving, inSlow } = await serve();
  const c = await client(port);
  c.send('/');
  await waitFor(() => c.responses().length === 1, CI_TIMEOUT, 'first response');
  const drain = serving.drain(60_000);
  c.socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitFor(() => inSlow() === 2, CI_TIMEOUT, 'both pipelined requests in the app');
  for (const reply of held.splice(0)) reply();
  await drain;
  expect(c.responses()).toHaveLength(3);
  expect(c.responses()[1]).toMatch(/^200 OK/);
  expect(c.responses()[1]).not.toMatch(/Connection: close/i);
  expect(c.responses()[2]).toMatch(/^200 OK[\s\S]*Connection: close/i);
  expect(c.error).toBeNull();
});

test('a request pipelined behind a response that closed the connection is not run (it will never be answered; the client sends it again)', async () => {
  const { port, inSlow } = await serve(0); // keepAlive 0: every response closes its connection
  const c = await client(port);
  c.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitFor(() => c.ended, CI_TIMEOUT, 'the server to close the connection');
  expect(c.responses()).toHaveLength(1);
  expect(c.responses()[0]).toMatch(/^200 OK[\s\S]*Connection: close/i);
  expect(inSlow()).toBe(0);
});
