/**
 * The control socket: `ldsup status`, `ldsup reload` and `ldsup scale` talk to the master over
 * a unix socket beside the pidfile (`<pidfile>.sock`), created with mode 0600 — connecting
 * needs write permission, so only the user who runs ldsup (and root) can control it. One JSON
 * request per connection, one JSON reply.
 */
import fs from 'node:fs';
import net from 'node:net';

export type ControlRequest = { cmd: 'status' } | { cmd: 'reload' } | { cmd: 'scale'; value: string };
export type ControlReply = { ok: true; [k: string]: unknown } | { ok: false; error: string };

export const controlPath = (pidfile: string) => `${pidfile}.sock`;

export class ControlServer {
  private server: net.Server | null = null;

  constructor(private readonly handle: (req: ControlRequest) => Promise<ControlReply>) {}

  async listen(path: string): Promise<void> {
    await this.close();
    fs.rmSync(path, { force: true }); // a stale socket from a crash; the pidfile check ran first
    const server = net.createServer((sock) => this.serve(sock));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const old = process.umask(0o177); // the socket file is created 0600
      try {
        server.listen(path, () => resolve());
      } finally {
        process.umask(old);
      }
    });
    server.unref();
    this.server = server;
  }

  private serve(sock: net.Socket): void {
    let buf = '';
    sock.setEncoding('utf8');
    // One request per connection: the first line. Whatever follows is not read (a client that
    // keeps writing must not run its request twice).
    const onData = (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      sock.off('data', onData);
      let req: ControlRequest;
      try {
        req = JSON.parse(buf.slice(0, nl)) as ControlRequest;
      } catch {
        sock.end(JSON.stringify({ ok: false, error: 'bad request' }) + '\n');
        return;
      }
      this.handle(req).then(
        (reply) => sock.end(JSON.stringify(reply) + '\n'),
        (err: Error) => sock.end(JSON.stringify({ ok: false, error: err.message }) + '\n'),
      );
    };
    sock.on('data', onData);
    sock.on('error', () => {});
  }

  /**
   * Stops listening (at once) and removes the socket file. Connections still open are not waited
   * for (close()'s callback would): a client that never sends its line would keep a stopping
   * master from exiting, and a promoted master's loop from answering the requests it waits on.
   */
  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    const addr = s.address();
    s.close();
    if (typeof addr === 'string') fs.rmSync(addr, { force: true });
  }
}

/** Sends one request to a master's control socket and returns its reply. */
export function control(path: string, req: ControlRequest, timeoutMs: number): Promise<ControlReply> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(path);
    let buf = '';
    // Capped at setTimeout's limit (~24.8 days): beyond it Node fires the timer after 1 ms.
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer from the master within ${timeoutMs / 1000} s`));
    }, Math.min(timeoutMs, 2 ** 31 - 1));
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(JSON.stringify(req) + '\n'));
    sock.on('data', (c: string) => (buf += c));
    sock.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buf) as ControlReply);
      } catch {
        reject(new Error('the master closed the control connection without an answer'));
      }
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? `no ldsup master listening on ${path}` : err.message));
    });
  });
}
