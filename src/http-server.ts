/**
 * The worker's HTTP server on the inherited listen sockets, and its drain.
 *
 * A retiring worker must not reset a single request (reloads lose requests mostly as
 * ECONNRESET on reused keep-alive connections). So drain() does, in order:
 * 1. stop accepting (close only our copy of the listen fds: the master and the other workers
 *    still hold the sockets, so nothing queued in the backlog is lost);
 * 2. answer every request from now on with `Connection: close`, so busy keep-alive clients
 *    learn to reconnect (to another worker) on their next response;
 * 3. close connections that sit idle for `idleGraceMs` from the drain's start or their last response
 *    (clients that send nothing; the grace covers a request already on its way);
 * 4. resolve when no connection is left.
 * Node's own http.Server#close() closes idle keep-alive sockets at once, which races clients
 * that just sent on them; that is why we call net.Server#close directly.
 */
import http from 'node:http';
import net from 'node:net';
import type { Socket } from 'node:net';
import { callApp } from './call-app.js';
import { closeSet, endsConnection, noteResponse, responseInProgress, responseOnTheWire } from './socket-response.js';

export interface ServeOptions {
  fds: number[];
  backlog: number;
  keepAliveMs: number;
  handler: http.RequestListener;
  limits: { requestLine: number; fields: number; fieldSize: number; headersTimeoutMs: number };
  /** Called after each response is finished or the connection dropped (left unset: nothing is timed or called). */
  onDone?: (req: http.IncomingMessage, res: http.ServerResponse, startedAt: bigint) => void;
  /** The class responses are made from (the access log's counts body bytes); Node's own if unset. */
  ServerResponse?: typeof http.ServerResponse;
}

/**
 * Per connection: its standing in the keep-alive balance (how many requests came on it, up to
 * two), when a drain saw it idle, and its neighbours in the list of open connections, kept on
 * the socket itself (no closure, Map entry or `once` wrapper per connection or request: with a new
 * connection per request, that bookkeeping is on the hot path). A request on a kept-alive
 * connection costs one property read on its socket, and no listener: with a listener on each
 * response (to learn when it finished) and the bookkeeping it ran, a keep-alive request on a
 * trivial handler cost 1.068x the worker CPU of a bare `http.createServer`, without it 1.013x
 * (bench/pinned.mjs, 16-24 fresh processes). The response in progress is found when asked
 * (socket-response.ts).
 */
const kIdleSince = Symbol('ldsup.idleSince');
const kPrev = Symbol('ldsup.prev');
const kNext = Symbol('ldsup.next');
const kServing = Symbol('ldsup.serving');
const kStartedAt = Symbol('ldsup.startedAt');
const kKeep = Symbol('ldsup.keep');
/** On a pipelined request's response: never to be answered (a response ahead of it closes the connection). */
const kUnanswered = Symbol('ldsup.unanswered');
/** On a pipelined request's response: the response queued ahead of it when it came, while that one is not written out. */
const kAhead = Symbol('ldsup.ahead');
/** kKeep: a connection's standing in the keep-alive balance (see HttpServing.shed). */
const enum Keep {
  /** No request yet. */
  Fresh = 0,
  /** One request so far (with a new connection per request, it stays here). */
  Once = 1,
  /** A second request came on it: a keep-alive connection, counted in `kept`. */
  Kept = 2,
  /** Asked to close: its next response carries `Connection: close` (still counted in `kept`). */
  Shed = 3,
}
type TrackedSocket = Socket & {
  /** While draining: when a sweep first saw it idle (0: not seen idle yet). */
  [kIdleSince]: number;
  [kPrev]: TrackedSocket | null;
  [kNext]: TrackedSocket | null;
  [kKeep]: Keep;
  server?: { [kServing]?: HttpServing };
};

/**
 * The open connections, linked through the sockets themselves. A Set did the same job, but with
 * a connection per request its add/delete churn doubled the worker's scavenge time and left ~40 %
 * more garbage in old space (`--trace-gc`, per 10k requests), which made the worker ~7 % slower
 * per request with the same instructions and syscalls (callgrind, strace -c).
 */
class ConnectionList {
  private head: TrackedSocket | null = null;
  size = 0;

  add(s: TrackedSocket): void {
    s[kPrev] = null;
    s[kNext] = this.head;
    if (this.head) this.head[kPrev] = s;
    this.head = s;
    this.size++;
  }

  delete(s: TrackedSocket): void {
    const prev = s[kPrev];
    const next = s[kNext];
    if (prev) prev[kNext] = next;
    else if (this.head === s) this.head = next;
    else return; // not in the list (already removed)
    if (next) next[kPrev] = prev;
    s[kPrev] = s[kNext] = null;
    this.size--;
  }

  first(): TrackedSocket | null {
    return this.head;
  }

  /** Every open connection (a copy: the caller may destroy them while iterating). */
  all(): TrackedSocket[] {
    const out: TrackedSocket[] = [];
    for (let s = this.head; s; s = s[kNext]) out.push(s);
    return out;
  }
}
type TrackedResponse = http.ServerResponse & { [kServing]?: HttpServing; [kStartedAt]?: bigint; [kUnanswered]?: true; [kAhead]?: TrackedResponse };


/** A response is in progress on `s` (`writableFinished`: all of it handed to the socket). */
function busy(s: TrackedSocket): boolean {
  return responseInProgress(s) !== null;
}

/** The response in progress on `s`, if its headers are not out yet, will carry `Connection: close`. */
function closeAfterResponse(s: TrackedSocket): void {
  const res = responseInProgress(s);
  if (res && !res.headersSent) res.setHeader('Connection', 'close');
}

/** A socket's 'close' (one function for all). */
function onSocketClose(this: TrackedSocket): void {
  this.server?.[kServing]?.connectionClosed(this);
}

/**
 * Whether a request pipelined behind `r` may be answered: `r` is answered and has not written a
 * `Connection: close`. Where the connection is to close (`close`), a close set on `r` and not
 * written yet is taken off (the later response carries it).
 */
function mayFollow(r: TrackedResponse, close: boolean): boolean {
  if (r[kUnanswered]) return false;
  if (r.headersSent) return !endsConnection(r);
  if (close && closeSet(r)) r.removeHeader('Connection');
  return true;
}

/**
 * A response's 'close' (after 'finish', or when the client went away first), listened to only
 * when `onDone` is set (access log, postRequest). One function for all.
 */
function onResponseClose(this: TrackedResponse): void {
  const serving = this[kServing];
  if (!serving) return;
  this[kServing] = undefined;
  serving.requestDone(this.req as http.IncomingMessage, this);
}

export class HttpServing {
  private readonly servers: http.Server[] = [];
  private readonly conns = new ConnectionList();
  private draining = false;
  private drainTimer: NodeJS.Timeout | null = null;
  private drained: (() => void) | null = null;
  /** Open keep-alive connections (a second request came on them; including those asked to close). */
  kept = 0;
  /** Of `kept`, those asked to close (Keep.Shed): on their way out. */
  private shedding = 0;
  /** Called when `kept` changes (the worker reports it to the master, which balances). */
  onKeptChange: (() => void) | null = null;
  /** Until `keepLimitUntil` (ms epoch), connections that would be kept beyond `keepLimit` are shed at once. */
  private keepLimit = Infinity;
  private keepLimitUntil = 0;

  /** keepAlive 0: every response closes its connection (Node's keepAliveTimeout 0 would keep idle ones forever). */
  private readonly noKeepAlive: boolean;

  constructor(private readonly opts: ServeOptions) {
    this.noKeepAlive = opts.keepAliveMs === 0;
  }

  /** Listens on every inherited fd; resolves once all are accepting. */
  async listen(): Promise<void> {
    await Promise.all(this.opts.fds.map((fd) => this.listenOne(fd)));
  }

  private listenOne(fd: number): Promise<void> {
    const lim = this.opts.limits;
    const server = http.createServer(
      {
        keepAliveTimeout: this.opts.keepAliveMs,
        headersTimeout: lim.headersTimeoutMs,
        requestTimeout: Math.max(300_000, lim.headersTimeoutMs),
        // Node checks header/request timeouts on this interval; 30 s by default is too coarse.
        connectionsCheckingInterval: Math.min(1000, Math.max(100, lim.headersTimeoutMs / 2)),
        maxHeaderSize: Math.max(16384, lim.requestLine + 4096),
        ...(this.opts.ServerResponse ? { ServerResponse: this.opts.ServerResponse } : {}),
      },
      (req, res) => this.onRequest(req, res),
    );
    (server as unknown as { [kServing]: HttpServing })[kServing] = this;
    server.on('connection', (s: TrackedSocket) => {
      s[kKeep] = Keep.Fresh;
      s[kIdleSince] = 0;
      this.conns.add(s);
      s.on('close', onSocketClose);
    });
    // A malformed request gets a 400 and the connection is closed; the worker carries on.
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      if (socket.writable && !responseInProgress(socket)) {
        const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
        socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      } else socket.destroy();
    });
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ fd, backlog: this.opts.backlog }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  /** gunicorn's request limits; a status code when the request breaks one. */
  private overLimit(req: http.IncomingMessage): number {
    const lim = this.opts.limits;
    if (lim.requestLine > 0 && req.method!.length + req.url!.length + 10 > lim.requestLine) return 414;
    const raw = req.rawHeaders;
    if (raw.length / 2 > lim.fields) return 431;
    if (lim.fieldSize > 0) for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length + raw[i + 1]!.length + 2 > lim.fieldSize) return 431;
    return 0;
  }

  /** Connections with a response in progress (for the heartbeat: walks the list). */
  get inflight(): number {
    let n = 0;
    for (let s = this.conns.first(); s; s = s[kNext]) if (busy(s)) n++;
    return n;
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const onDone = this.opts.onDone;
    const startedAt = onDone ? process.hrtime.bigint() : 0n;
    const over = this.overLimit(req);
    if (over) {
      // Noted as every response is: its `Connection: close` ends the connection, so a request
      // pipelined behind it must not run, and a worker's first request must not read as pipelined
      // (the feature test would put the process on the fallback for good).
      noteResponse(req.socket, res);
      res.writeHead(over, { 'Content-Type': 'text/plain', Connection: 'close' });
      res.end(over === 414 ? 'Request Line is too large\n' : 'Request Header Fields Too Large\n');
      return;
    }
    const s = req.socket as TrackedSocket;
    if (s[kKeep] < Keep.Kept) {
      if (s[kKeep] === Keep.Fresh) s[kKeep] = Keep.Once;
      else {
        // A second request on a connection: it is kept alive (or, while this worker is over its
        // share, told to close after this response). Counted against the connections that stay:
        // counting those already on their way out would shed the reconnection of every shed
        // client that lands here again, in a loop, until the window ends.
        const shed = this.kept - this.shedding >= this.keepLimit && Date.now() < this.keepLimitUntil;
        s[kKeep] = shed ? Keep.Shed : Keep.Kept;
        if (shed) this.shedding++;
        this.keptChanged(1);
      }
    }
    const close = this.draining || this.noKeepAlive || s[kKeep] === Keep.Shed;
    const ahead = noteResponse(s, res);
    if (ahead) {
      if (!this.answerable(s, ahead, close)) {
        (res as TrackedResponse)[kUnanswered] = true;
        return;
      }
      if (!ahead.writableFinished) (res as TrackedResponse)[kAhead] = ahead;
    }
    if (close) res.setHeader('Connection', 'close');
    if (onDone) {
      // 'close' follows 'finish', and also comes when the client goes away first: one listener is enough.
      (res as TrackedResponse)[kServing] = this;
      (res as TrackedResponse)[kStartedAt] = startedAt;
      res.on('close', onResponseClose);
    }
    try {
      const r = callApp(this.opts.handler, req, res);
      if (r && typeof (r as Promise<unknown>).catch === 'function') (r as Promise<unknown>).catch((err) => this.fail(res, err));
    } catch (err) {
      this.fail(res, err);
    }
  }

  /**
   * A request pipelined behind `ahead` (off the hot path: only pipelining clients get here):
   * whether it will be answered. Where this connection is to close (`close`: drain, recycling, the
   * keep-alive balance, keepAlive 0), a `Connection: close` set on a response ahead and not yet
   * written moves to this request's response, so every request already received is answered
   * (with the close on an earlier one, the app ran the later ones and nobody answered them). Once
   * a close is written, the requests behind it are never answered, and the app must not run them
   * (RFC 9112 9.6: no request after a `close` is processed; the client sends it again): a client
   * that sent one again had it run twice. That is what an app that answers at once meets: a
   * pipelined request is parsed after the close went out.
   */
  private answerable(s: TrackedSocket, ahead: TrackedResponse, close: boolean): boolean {
    const wire = responseOnTheWire(s) as TrackedResponse | null;
    let sawWire = !wire;
    // Every response still queued, the latest first: a close may be written on any of them (the
    // app may answer a middle one first), not only on the one on the wire or the latest.
    for (let r: TrackedResponse | undefined = ahead, later: TrackedResponse | null = null; r; later = r, r = r[kAhead]) {
      if (!mayFollow(r, close)) return false;
      if (r === wire) sawWire = true;
      if (r.writableFinished) {
        // Written out, and so is every one before it: the links end here.
        if (later) later[kAhead] = undefined;
        break;
      }
    }
    return sawWire || mayFollow(wire!, close);
  }

  /** @internal A response is finished or its client went away (only with `onDone`). */
  requestDone(req: http.IncomingMessage, res: TrackedResponse): void {
    this.opts.onDone!(req, res, res[kStartedAt] ?? 0n);
  }

  /** @internal */
  connectionClosed(s: TrackedSocket): void {
    this.conns.delete(s);
    if (s[kKeep] === Keep.Shed) this.shedding--;
    if (s[kKeep] >= Keep.Kept) this.keptChanged(-1);
    this.maybeDrained();
  }

  private keptChanged(d: number): void {
    this.kept += d;
    this.onKeptChange?.();
  }

  /**
   * Keep-alive balance: asks `n` kept-alive connections to close after their next response
   * (`Connection: close`, as a draining worker does), so their clients reconnect and the shared
   * listen socket can hand the new connection to a less loaded worker. Connections with a
   * response on its way go first (they close soonest); an idle one closes on its next response
   * or at the keep-alive timeout, never under a client that may be sending (that would reset
   * its request). A shed connection counts in `kept` until it has closed. For `forMs`, new
   * connections beyond `keep` (not counting those already shed) are shed too: on two busy cores
   * the worker that sheds is often the one that accepts its clients' reconnections.
   */
  shed(n: number, keep = Infinity, forMs = 0): void {
    if (this.draining) return;
    this.keepLimit = keep;
    this.keepLimitUntil = Date.now() + forMs;
    for (const inFlight of [true, false]) {
      for (let s = this.conns.first(); s && n > 0; s = s[kNext]) {
        if (s[kKeep] !== Keep.Kept || busy(s) !== inFlight) continue;
        s[kKeep] = Keep.Shed;
        this.shedding++;
        closeAfterResponse(s);
        n--;
      }
    }
  }

  /** An app error answers 500 (if nothing was sent yet) instead of killing the worker. */
  onAppError: (err: unknown) => void = () => {};
  private fail(res: http.ServerResponse, err: unknown): void {
    this.onAppError(err);
    if (!res.headersSent) {
      res.statusCode = 500;
      res.setHeader('Content-Type', 'text/plain');
      res.setHeader('Connection', 'close');
      res.end('Internal Server Error\n');
    } else res.destroy();
  }

  /**
   * max-requests recycling: stop accepting (close only our copy of the listen fds: the master
   * and the other workers still hold the sockets, so new connections wait in the backlog for
   * them instead of reaching a worker over its limit), and answer every request from now on
   * with `Connection: close`.
   */
  closeAfterCurrent(): void {
    this.startDraining();
  }

  /**
   * From now on: no new connections, `Connection: close` on every response (also on those in
   * progress whose headers are not out yet), idle times kept.
   */
  private startDraining(): void {
    if (this.draining) return;
    this.draining = true;
    for (const s of this.servers) net.Server.prototype.close.call(s);
    for (const s of this.conns.all()) closeAfterResponse(s);
  }

  /** Graceful: stop accepting, finish in-flight requests, close idle connections, then resolve. */
  drain(idleGraceMs: number): Promise<void> {
    this.startDraining();
    return new Promise((resolve) => {
      this.drained = resolve;
      this.closeIdle(idleGraceMs); // starts the idle clocks
      this.drainTimer = setInterval(() => this.closeIdle(idleGraceMs), 50);
      this.maybeDrained();
    });
  }

  /**
   * Closes the connections idle for `graceMs` since a sweep first saw them idle (every response
   * from the drain's start on carries `Connection: close`, so a connection that serves one closes
   * by itself and only the idle clock of one whose response was already under way is started late).
   */
  private closeIdle(graceMs: number): void {
    const now = Date.now();
    for (const s of this.conns.all()) {
      if (busy(s)) s[kIdleSince] = 0;
      else if (s[kIdleSince] === 0) s[kIdleSince] = now;
      else if (now - s[kIdleSince] >= graceMs) s.destroy();
    }
  }

  private maybeDrained(): void {
    if (!this.drained || this.conns.size > 0) return;
    if (this.drainTimer) clearInterval(this.drainTimer);
    const done = this.drained;
    this.drained = null;
    done();
  }

  /** Quick stop: drop everything now. */
  abort(): void {
    this.startDraining();
    for (const s of this.conns.all()) s.destroy();
  }
}
