/**
 * Node-version capability gates and the internal Node APIs the master touches, all in one place
 * (tsx's node-features.ts pattern). Tested on Node 20 and 24 by test/unit/runtime.test.ts.
 */
import net from 'node:net';
import util from 'node:util';
import { ipFamily } from './address.js';

/** Native TypeScript type stripping (Node >= 22.18 / 23.6). */
export const hasTypeStripping = Boolean((process.features as { typescript?: unknown }).typescript);

/** A bound (not yet listening) server socket held by the master: it never accepts on it. */
export interface ServerHandle {
  fd: number;
  getsockname?(out: Record<string, unknown>): number;
  /** libuv's listen: 0 or a negative errno. Only a throw-away probe calls it (probeListen). */
  listen?(backlog: number): number;
  close(cb?: () => void): void;
}

type CreateServerHandle = (address: string | null, port: number, addressType: number, fd?: number) => ServerHandle | number;

const createServerHandle = (net as unknown as { _createServerHandle?: CreateServerHandle })._createServerHandle;

/**
 * Feature test for `net._createServerHandle` — the function node:cluster's own shared-handle
 * mode uses to bind a socket in the primary without listening on it. It is internal (underscore)
 * but present and unchanged from Node 0.x to 24. We need "bound, held, never accepted in the
 * master": with a public `net.Server` the master would accept connections itself.
 */
export const hasBindOnlyHandle = typeof createServerHandle === 'function';

/**
 * Binds a TCP address or unix path (or adopts an inherited fd) without listening.
 * Throws an Error with `code` (EADDRINUSE, EACCES, …) like net does.
 */
export function bindHandle(opts: { host?: string; port?: number; path?: string; fd?: number }): ServerHandle {
  if (!createServerHandle) {
    throw Object.assign(new Error(`this Node.js (${process.version}) has no net._createServerHandle; ldsup cannot hold listen sockets in the master`), {
      code: 'ENOTSUP',
    });
  }
  let r: ServerHandle | number;
  if (opts.fd !== undefined) r = createServerHandle(null, 0, 0, opts.fd); // an fd must come with no address/port
  else if (opts.path !== undefined) r = createServerHandle(opts.path, -1, -1);
  else r = createServerHandle(opts.host!, opts.port!, ipFamily(opts.host!)); // an IP literal (resolveHost)
  if (typeof r === 'number') {
    const code = errnoName(r);
    const e = new Error(code) as Error & { code: string; errno: number };
    e.code = code;
    e.errno = r;
    throw e;
  }
  return r;
}

/**
 * The fd a listening `net.Server` accepts on, to hand to a USR2 child: Node keeps it on the
 * server's internal `_handle` (the same TCP or pipe handle `_createServerHandle` makes). Throws
 * where a Node.js no longer has it there; the caller then cannot hand the socket over.
 */
export function listeningFd(server: net.Server): number {
  const fd = (server as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error(`this Node.js (${process.version}) does not show a listening server's fd`);
  return fd;
}

/**
 * With SO_REUSEADDR (which libuv sets) Linux lets bind() succeed on a port another process is
 * listening on and reports the conflict only at listen(). Our socket is listened on by the
 * workers, so find out now: a throw-away handle on the same address, listened on and closed at
 * once (before the event loop could accept on it), fails with EADDRINUSE if someone else is
 * listening there. Falls back to a public net.Server doing the same (a DNS module load and an
 * event-loop turn slower) where the handle has no listen().
 */
export async function probeListen(host: string, port: number): Promise<void> {
  const probe = bindHandle({ host, port });
  if (typeof probe.listen !== 'function') {
    probe.close();
    return new Promise((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
    });
  }
  const r = probe.listen(511);
  probe.close();
  if (r < 0) throw Object.assign(new Error(errnoName(r)), { code: errnoName(r), errno: r });
}

/** libuv's negative errno → 'EADDRINUSE' (public util API). */
function errnoName(errno: number): string {
  try {
    return util.getSystemErrorName(errno);
  } catch {
    return `errno ${errno}`;
  }
}
