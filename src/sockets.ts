/**
 * The master's listen sockets. The master binds every address itself, before any worker
 * exists, and keeps the sockets for its whole life; workers inherit the fds (stdio slots 4…)
 * and accept on them directly, so the master is never on the connection path and connections
 * wait in the kernel backlog while no worker is alive (gunicorn's model; node:cluster closes the
 * socket when its last worker leaves). See README "Architecture".
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { formatAddress, parseAddress, type Address } from './address.js';
import { bindHandle, probeListen, type ServerHandle } from './runtime.js';

export interface Listener {
  /** As configured (`0.0.0.0:0`). */
  spec: string;
  /** As bound (the real port when 0 was asked for). */
  address: Address;
  fd: number;
  handle: ServerHandle;
}

export class BindError extends Error {
  constructor(
    readonly spec: string,
    readonly code: string,
  ) {
    super(`cannot bind ${spec}: ${explain(code)}`);
  }
}

function explain(code: string): string {
  switch (code) {
    case 'EADDRINUSE':
      return 'address already in use (EADDRINUSE)';
    case 'EACCES':
      return 'permission denied (EACCES; ports below 1024 need privileges)';
    case 'EADDRNOTAVAIL':
      return 'address not available on this machine (EADDRNOTAVAIL)';
    case 'ENOTFOUND':
      return 'host name not found';
    default:
      return code;
  }
}

/** Resolves a host name to an IP literal (binding needs one). */
async function resolveHost(host: string): Promise<string> {
  if (net.isIP(host)) return host;
  const { lookup } = process.getBuiltinModule('node:dns/promises') as typeof import('node:dns/promises');
  try {
    return (await lookup(host)).address;
  } catch {
    throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' });
  }
}

/** Binds one address. A stale unix socket file (nobody listening) is removed first. */
async function bindOne(spec: string): Promise<Listener> {
  const a = parseAddress(spec);
  try {
    if (a.kind === 'fd') return adopt(spec, a.fd);
    if (a.kind === 'unix') {
      await removeStaleUnixSocket(a.path);
      const handle = bindUnix(a.path);
      return { spec, address: a, fd: handle.fd, handle };
    }
    const host = await resolveHost(a.host);
    const handle = bindHandle({ host, port: a.port });
    const out: Record<string, unknown> = {};
    handle.getsockname?.(out);
    const port = typeof out.port === 'number' ? out.port : a.port;
    try {
      await probeListen(host, port);
    } catch (err) {
      handle.close();
      throw err;
    }
    return { spec, address: { kind: 'tcp', host: a.host, port }, fd: handle.fd, handle };
  } catch (err) {
    throw new BindError(spec, (err as { code?: string }).code ?? (err as Error).message);
  }
}

/** The longest path a unix socket can be bound at (sun_path: 108 bytes with the NUL). */
const SUN_PATH_MAX = 107;
let unixBinds = 0;

/**
 * Where to bind a unix socket that is to live at `p`. libuv removes the path of a socket it bound
 * when the handle is closed, also where the path must stay: another master (USR2 parent or child)
 * still serves on the socket. So it is bound at this temporary name beside `p` and renamed into
 * place; libuv's removal then finds nothing, and only ldsup removes `p`, when it should. Null
 * where the temporary name would be too long for a socket path (then `p` itself is bound).
 */
export function tempSocketPath(p: string): string | null {
  const tmp = path.join(path.dirname(p), `.${process.pid}.${++unixBinds}.sock`);
  return Buffer.byteLength(tmp) > SUN_PATH_MAX ? null : tmp;
}

/** Binds a unix socket at `p`, through a temporary name (tempSocketPath). */
function bindUnix(p: string): ServerHandle {
  const tmp = tempSocketPath(p);
  if (!tmp) return bindHandle({ path: p });
  const handle = bindHandle({ path: tmp });
  try {
    fs.renameSync(tmp, p);
  } catch (err) {
    handle.close(); // and libuv removes tmp
    throw err;
  }
  return handle;
}

/** Wraps an inherited, already bound socket (fd://N, systemd, USR2 re-exec). */
export function adopt(spec: string, fd: number): Listener {
  const handle = bindHandle({ fd });
  const out: Record<string, unknown> = {};
  handle.getsockname?.(out);
  const address: Address =
    typeof out.port === 'number' ? { kind: 'tcp', host: String(out.address), port: out.port } : { kind: 'fd', fd };
  return { spec, address, fd, handle };
}

/**
 * Before binding a unix socket at `p`: a socket file nobody answers on is left from a master that
 * was killed (SIGKILL, the OOM killer) and is removed; one in use is EADDRINUSE; anything else
 * there is an error. Errors carry `code`.
 */
export async function removeStaleUnixSocket(p: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    return;
  }
  if (!st.isSocket()) throw Object.assign(new Error('not a socket'), { code: `${p} exists and is not a socket` });
  // A socket file somebody still accepts on is in use; one nobody answers is left from a crash.
  const live = await new Promise<boolean>((resolve) => {
    const c = net.connect(p, () => (c.destroy(), resolve(true)));
    c.on('error', () => resolve(false));
  });
  if (live) throw Object.assign(new Error('in use'), { code: 'EADDRINUSE' });
  fs.unlinkSync(p);
}

/**
 * Binds every address, or none: on failure the ones bound here are closed again. On HUP,
 * `keep` holds the current listeners: an address still wanted keeps its socket.
 */
export async function createListeners(specs: string[], keep: Listener[] = []): Promise<Listener[]> {
  const done: Listener[] = [];
  const fresh: Listener[] = [];
  try {
    for (const s of specs) {
      const same = keep.find((l) => l.spec === s);
      if (same) done.push(same);
      else {
        const l = await bindOne(s);
        done.push(l);
        fresh.push(l);
      }
    }
    return done;
  } catch (err) {
    closeListeners(fresh, true);
    throw err;
  }
}

export function closeListeners(listeners: Listener[], unlink: boolean): void {
  for (const l of listeners) {
    l.handle.close();
    if (unlink && l.address.kind === 'unix') fs.rmSync(l.address.path, { force: true });
  }
}

export const describeListeners = (ls: Listener[]): string => ls.map((l) => formatAddress(l.address)).join(', ');
