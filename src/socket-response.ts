/**
 * The response in progress on a connection: the drain and the keep-alive balance set
 * `Connection: close` on it and tell busy connections from idle ones, and a malformed request
 * gets a raw 400 only where no response is on its way.
 *
 * Read from Node's own `socket._httpMessage`, an internal: Node's HTTP server points it at the
 * response it attaches to the socket and clears it when that response is done, so nothing keeps
 * a finished response alive. The public way, keeping the latest response on the socket and asking
 * it `writableFinished`, keeps each finished response referenced until its connection's next
 * request; under keep-alive load V8 answers that extra survival by growing the young generation
 * (4 to 16 MB semi-space): scavenges 2-3x rarer but twice as long (mean 0.8 vs 0.35 ms, the
 * longest 6-7 vs 3-4.5 ms; `--trace-gc`, one worker serving `/flag` to `wrk -c64`), which is what
 * a p99 sees.
 *
 * Feature test: the first request a process serves is the first on its connection (never
 * pipelined behind another), so `_httpMessage` must be its response. If it is not (a Node.js
 * that renamed or dropped the field), this module keeps the latest response itself, as the
 * fallback, for the rest of the process: correct, at the GC cost above.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

const kLatest = Symbol('ldsup.latestResponse');
type TrackedSocket = Socket & { _httpMessage?: ServerResponse | null; [kLatest]?: ServerResponse };

/** Whether Node's own pointer works: unknown until the first request. */
let nodeTracks: boolean | undefined;

/**
 * For every request, with its response, before the app runs. Returns null, or, when the request
 * may be pipelined behind responses still on their way (Node queues it), the last of those. On the
 * fallback, which cannot tell a response Node is still writing from one it has written (its
 * `writableFinished` is true once all of it is handed to the socket), that is the connection's
 * previous response, whatever its state.
 */
export function noteResponse(s: Socket, res: ServerResponse): ServerResponse | null {
  const t = s as TrackedSocket;
  if (nodeTracks === true) {
    if (t._httpMessage === res) return null;
    // Pipelined: the last response is where `Connection: close` belongs (on an earlier one the
    // queued requests would go unanswered), so remember it; only pipelining connections pay for
    // the reference.
    const ahead = pending(t[kLatest]) ?? t._httpMessage ?? null;
    t[kLatest] = res;
    return ahead;
  }
  if (nodeTracks === undefined && (nodeTracks = t._httpMessage === res)) return null;
  const ahead = t[kLatest] ?? null;
  t[kLatest] = res;
  return ahead;
}

const pending = (res: ServerResponse | undefined): ServerResponse | null => (res && !res.writableFinished ? res : null);

/** The response Node is writing on `s` now (only where Node's pointer works; null otherwise). */
export function responseOnTheWire(s: Socket): ServerResponse | null {
  return (nodeTracks && (s as TrackedSocket)._httpMessage) || null;
}

/** `res` will carry `Connection: close` (set, not written yet). */
export function closeSet(res: ServerResponse): boolean {
  const v = res.getHeader('connection');
  return v !== undefined && /close/i.test(String(v));
}

/**
 * A response whose head is written ends its connection once it is done. Node's own flag for that
 * is `_last` (an internal, as `_httpMessage` is: set for a `Connection: close` it adds or the app
 * set, for keepAlive off or HTTP/1.0); where a Node.js has no such boolean, the app's header is
 * all that can be read.
 */
export function endsConnection(res: ServerResponse): boolean {
  const last = (res as ServerResponse & { _last?: unknown })._last;
  return typeof last === 'boolean' ? last : closeSet(res);
}

/** The response in progress on `s`, the last one if requests were pipelined (null when the connection is idle). */
export function responseInProgress(s: Socket): ServerResponse | null {
  const t = s as TrackedSocket;
  const latest = t[kLatest];
  if (latest && !latest.writableFinished) return latest;
  if (!nodeTracks) return null;
  if (latest) t[kLatest] = undefined; // a pipelined one, done
  const res = t._httpMessage;
  return res && !res.writableFinished ? res : null;
}

/** What the feature test found (undefined before the first request). */
export function usesNodePointer(): boolean | undefined {
  return nodeTracks;
}

/** @internal For tests: run on the fallback (true), or test again at the next request (false). */
export function forceFallback(on: boolean): void {
  nodeTracks = on ? false : undefined;
}
