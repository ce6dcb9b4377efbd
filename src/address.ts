/**
 * Bind addresses, in gunicorn's forms: `HOST`, `HOST:PORT`, `[v6]:PORT`, `tcp://HOST:PORT`,
 * `unix:PATH` / `unix://PATH`, `fd://N`. Default port 8000; an empty host means 0.0.0.0.
 */
import fs from 'node:fs';
import path from 'node:path';
import net from 'node:net';

export type Address =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'unix'; path: string }
  | { kind: 'fd'; fd: number };

const DEFAULT_PORT = 8000;

/**
 * Parses one bind string; throws an Error whose message says what is wrong with it (short: the
 * caller reports the whole address next to it). A relative unix path is resolved against
 * `baseDir`: settings pass `chdir`, where the socket is created.
 */
export function parseAddress(raw: string, baseDir = process.cwd()): Address {
  const s = raw.trim();
  if (s.startsWith('unix:')) {
    const p = s.slice(s.startsWith('unix://') ? 7 : 5);
    if (!p) throw new Error(`no socket path after 'unix:'`);
    return { kind: 'unix', path: path.resolve(baseDir, p) };
  }
  if (s.startsWith('fd://')) {
    const n = s.slice(5);
    if (!/^\d+$/.test(n)) throw new Error(`'${n}' is not a valid file descriptor`);
    return { kind: 'fd', fd: Number(n) };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(s)?.[1];
  if (scheme && scheme.toLowerCase() !== 'tcp') throw new Error(`unsupported scheme '${scheme}://' (use HOST:PORT, tcp://, unix: or fd://)`);
  const hp = scheme ? s.slice(6) : s;
  let host: string;
  let portText: string | undefined;
  if (hp.startsWith('[')) {
    const end = hp.indexOf(']');
    if (end < 0) throw new Error(`missing ']' after the IPv6 address`);
    host = hp.slice(1, end);
    const rest = hp.slice(end + 1);
    if (rest && !rest.startsWith(':')) throw new Error(`expected ':PORT' after ']', found '${rest}'`);
    portText = rest ? rest.slice(1) : undefined;
    if (!net.isIPv6(host)) throw new Error(`'${host}' is not an IPv6 address`);
  } else {
    const parts = hp.split(':');
    if (parts.length > 2) throw new Error(`too many ':' for HOST:PORT (IPv6 addresses go in brackets: [::1]:8000)`);
    host = parts[0] ?? '';
    portText = parts[1];
  }
  if (host === '') host = '0.0.0.0';
  let port = DEFAULT_PORT;
  if (portText !== undefined) {
    if (!/^\d+$/.test(portText)) throw new Error(`'${portText}' is not a valid port number`);
    port = Number(portText);
    if (port > 65535) throw new Error(`port ${port} is out of range (0-65535)`);
  }
  if (!/^[A-Za-z0-9.\-_:%]+$/.test(host)) throw new Error(`'${host}' is not a valid host`);
  return { kind: 'tcp', host, port };
}

/**
 * `bind` (and the health and metrics binds) resolved where the master binds, after `chdir` (as
 * gunicorn): a relative unix path becomes absolute under `chdir`, and its directory must exist.
 * Checked against the directory ldsup was started in, a config with `chdir` was refused for a
 * directory that did not matter, or passed `ldsup check` and failed once started.
 */
export function resolveBind(raw: string, chdir: string): string {
  const a = parseAddress(raw, chdir);
  if (a.kind !== 'unix') return raw;
  const dir = path.dirname(a.path);
  if (!fs.existsSync(dir)) throw new Error(`directory ${dir} does not exist`);
  return formatAddress(a);
}

/**
 * The family of an IP literal (only IPv6 literals contain ':'). Cheaper than net.isIPv6, whose
 * large regex costs ~12 ms to compile at start-up.
 */
export const ipFamily = (ip: string): 4 | 6 => (ip.includes(':') ? 6 : 4);

/** `http://127.0.0.1:8000`, `http://[::1]:8000`, `unix:/path` — as gunicorn's `Listening at:` line. */
export function formatAddress(a: Address): string {
  switch (a.kind) {
    case 'unix':
      return `unix:${a.path}`;
    case 'fd':
      return `fd://${a.fd}`;
    case 'tcp':
      return `http://${ipFamily(a.host) === 6 ? `[${a.host}]` : a.host}:${a.port}`;
  }
}
