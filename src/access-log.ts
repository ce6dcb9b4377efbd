/**
 * The access log, with gunicorn's format atoms (`%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s
 * "%(f)s" "%(a)s"` by default). Off unless `accessLog` is set; a line is built only then, so
 * the request path pays nothing when it is off.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LogSink } from './log.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `[10/Oct/2000:13:55:36 -0700]` */
function clf(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const a = Math.abs(off);
  return `[${p(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${off >= 0 ? '+' : '-'}${p(Math.floor(a / 60))}${p(a % 60)}]`;
}

type Atom = (req: IncomingMessage, res: ServerResponse, ns: bigint) => string;
const dash = (v: unknown): string => (v === undefined || v === null || v === '' ? '-' : String(v));

const ATOMS: Record<string, Atom> = {
  h: (req) => dash(req.socket.remoteAddress),
  l: () => '-',
  u: (req) => {
    const auth = req.headers.authorization;
    if (!auth?.startsWith('Basic ')) return '-';
    return dash(Buffer.from(auth.slice(6), 'base64').toString().split(':')[0]);
  },
  t: () => clf(new Date()),
  r: (req) => `${req.method} ${req.url} HTTP/${req.httpVersion}`,
  m: (req) => dash(req.method),
  U: (req) => dash(req.url?.split('?')[0]),
  q: (req) => req.url?.split('?')[1] ?? '',
  H: (req) => `HTTP/${req.httpVersion}`,
  s: (_q, res) => String(res.statusCode),
  B: (_q, res) => String(Number(res.getHeader('content-length') ?? 0)),
  b: (_q, res) => dash(res.getHeader('content-length')),
  f: (req) => dash(req.headers.referer),
  a: (req) => dash(req.headers['user-agent']),
  T: (_q, _r, ns) => String(Math.floor(Number(ns) / 1e9)),
  M: (_q, _r, ns) => String(Math.floor(Number(ns) / 1e6)),
  D: (_q, _r, ns) => String(Math.floor(Number(ns) / 1e3)),
  L: (_q, _r, ns) => (Number(ns) / 1e9).toFixed(6),
  p: () => `<${process.pid}>`,
};

/** Compiles a format once into a list of parts. Unknown atoms print '-'; `%%` is a literal `%` (Python's `%` formatting). */
export function compileFormat(format: string): Atom[] {
  const parts: Atom[] = [];
  const re = /%%|%\(([^)]+)\)s/g;
  let last = 0;
  for (let m = re.exec(format); m; m = re.exec(format)) {
    const text = format.slice(last, m.index);
    if (text) parts.push(() => text);
    last = re.lastIndex;
    if (m[0] === '%%') {
      parts.push(() => '%');
      continue;
    }
    const name = m[1]!;
    const header = /^\{([^}]+)\}([io])$/.exec(name);
    if (header) {
      const h = header[1]!.toLowerCase();
      parts.push(header[2] === 'i' ? (req) => dash(req.headers[h]) : (_q, res) => dash(res.getHeader(h)));
    } else parts.push(ATOMS[name] ?? (() => '-'));
  }
  const tail = format.slice(last);
  if (tail) parts.push(() => tail);
  return parts;
}

export interface AccessLog {
  log(req: IncomingMessage, res: ServerResponse, startedAt: bigint): void;
  reopen(): void;
}

export function createAccessLog(file: string, format: string): AccessLog {
  // Only workers open the access log; the master checked at start-up that it can be opened.
  const sink = new LogSink(file, 1, true);
  const parts = compileFormat(format);
  return {
    log(req, res, startedAt) {
      const ns = process.hrtime.bigint() - startedAt;
      sink.write(parts.map((p) => p(req, res, ns)).join(''));
    },
    reopen: () => sink.reopen(),
  };
}
