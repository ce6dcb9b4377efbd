/**
 * The access log, with gunicorn's format atoms (`%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s
 * "%(f)s" "%(a)s"` by default). Off unless `accessLog` is set; a line is built only then, so
 * the request path pays nothing when it is off.
 */
import { ServerResponse, type IncomingMessage } from 'node:http';
import { LogSink } from './log.js';

/**
 * gunicorn's b/B are the body bytes sent. Node keeps no such count, and a Content-Length header is
 * often not there to read: with writeHead() before end() the body goes chunked, and headers given
 * to writeHead() alone or added by Node itself are not seen by getHeader(). So while the access log
 * is on, the worker's server builds its responses from this class, which adds up what write() and
 * end() are given (a number added per call; nothing changes for the request path without an
 * access log).
 */
const kSent = Symbol('ldsup.bodyBytes');
type Counted = ServerResponse & { [kSent]?: number; _header?: string | null };

const byteSize = (chunk: unknown, encoding: unknown): number =>
  typeof chunk === 'string' ? Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8') : chunk instanceof Uint8Array ? chunk.byteLength : 0;

export class CountingResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> {
  [kSent] = 0;
}
const { write, end } = ServerResponse.prototype;
CountingResponse.prototype.write = function (this: Counted, chunk: unknown, encoding?: unknown, cb?: unknown) {
  if (!this.writableEnded) this[kSent]! += byteSize(chunk, encoding);
  return (write as (...a: unknown[]) => boolean).call(this, chunk, encoding, cb);
} as ServerResponse['write'];
CountingResponse.prototype.end = function (this: Counted, chunk?: unknown, encoding?: unknown, cb?: unknown) {
  if (!this.writableEnded) this[kSent]! += byteSize(chunk, encoding);
  return (end as (...a: unknown[]) => ServerResponse).call(this, chunk, encoding, cb);
} as CountingResponse['end'];

const CONTENT_LENGTH = headerPattern('content-length');

/** Body bytes sent: counted (none where Node drops the body), else the Content-Length sent. */
function bodyBytes(res: ServerResponse): number | undefined {
  const r = res as Counted;
  if (r[kSent] !== undefined) return bodiless(res) ? 0 : r[kSent];
  const len = sentHeader(res, 'content-length', CONTENT_LENGTH);
  return len === undefined ? undefined : Number(len);
}

/** Responses whose body Node drops, whatever the app gave end(): HEAD, 1xx, 204, 304 (RFC 9110). */
function bodiless(res: ServerResponse): boolean {
  const status = res.statusCode;
  return res.req?.method === 'HEAD' || status < 200 || status === 204 || status === 304;
}

function headerPattern(name: string): RegExp {
  return new RegExp(`\\r\\n${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:[ \\t]*([^\\r\\n]*)`, 'i');
}

/**
 * A response header as sent: getHeader() knows only those set with setHeader(); those passed to
 * writeHead() alone, and those Node adds (Content-Length, Date…), are read from the header block
 * Node wrote (its `_header`, a string).
 */
function sentHeader(res: ServerResponse, name: string, pattern: RegExp): unknown {
  const v = res.getHeader(name);
  if (v !== undefined) return v;
  const block = (res as Counted)._header;
  return typeof block === 'string' ? pattern.exec(block)?.[1] : undefined;
}

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
  B: (_q, res) => String(bodyBytes(res) ?? 0),
  b: (_q, res) => dash(bodyBytes(res)),
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
      const pattern = headerPattern(h);
      parts.push(header[2] === 'i' ? (req) => dash(req.headers[h]) : (_q, res) => dash(sentHeader(res, h, pattern)));
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
