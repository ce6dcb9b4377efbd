/**
 * One LaunchDarkly stream connection (`GET {streamUri}/all`) with the SDK's reconnect rules:
 * 400/408/429/5xx and I/O errors are retried with backoff; any other 4xx (401, 403, 404…) is
 * permanent, because LaunchDarkly will keep rejecting that key. No dependency beyond node:http(s).
 *
 * Events: 'open' (attempt: number), 'message' (SseEvent), 'drop' ({reason, retryInMs, attempt}),
 * 'fatal' ({status, message}). Nothing here logs: the owner decides what an operator sees.
 */
import { EventEmitter } from 'node:events';
import type http from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import { Backoff, type BackoffOptions } from './backoff.js';
import { SseParser, type SseEvent } from './sse-parser.js';
import { redactKey } from './settings.js';
import { VERSION } from '../version.js';
import { SDK_USER_AGENT } from './version.js';

export interface SseClientOptions {
  url: string;
  sdkKey: string;
  /** Idle limit on the socket; LaunchDarkly sends heartbeats well inside the SDK's 5 min. */
  readTimeoutMs?: number;
  backoff?: BackoffOptions;
}

export type SseFatal = { status: number; message: string };
export type SseDrop = { reason: string; retryInMs: number; attempt: number };

export const isRecoverableStatus = (s: number): boolean => s < 400 || s >= 500 || s === 400 || s === 408 || s === 429;

export function streamHeaders(sdkKey: string): Record<string, string> {
  return {
    Authorization: sdkKey,
    'User-Agent': SDK_USER_AGENT,
    'X-LaunchDarkly-Wrapper': `ldsup/${VERSION}`,
    Accept: 'text/event-stream',
  };
}

export class SseClient extends EventEmitter {
  private readonly backoff: Backoff;
  private req: http.ClientRequest | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private attempt = 0;

  constructor(private readonly opts: SseClientOptions) {
    super();
    this.backoff = new Backoff(opts.backoff);
  }

  start(): void {
    if (this.closed || this.req || this.timer) return;
    this.connect();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.req?.destroy();
    this.req = null;
  }

  private connect(): void {
    this.timer = null;
    this.attempt++;
    const url = new URL(this.opts.url);
    // Loaded on first connect (a master with no stream needs neither module); node:https, and TLS,
    // only for an https stream: offline and local relays never need it.
    const get = process.getBuiltinModule(url.protocol === 'https:' ? 'node:https' : 'node:http').get;
    const parser = new SseParser((ev: SseEvent) => this.emit('message', ev));
    let settled = false;
    // Exactly one of fatal/drop per attempt, whichever of 'error', 'close' or a status comes first.
    const fail = (reason: string) => {
      if (settled) return;
      settled = true;
      this.req = null;
      req.destroy();
      if (this.closed) return;
      const retryInMs = this.backoff.fail();
      this.emit('drop', { reason: this.redact(reason), retryInMs, attempt: this.attempt } satisfies SseDrop);
      this.timer = setTimeout(() => this.connect(), retryInMs);
    };
    // agent: false gives the stream its own socket, so no pooled keep-alive socket outlives close().
    const req = get(url, { headers: streamHeaders(this.opts.sdkKey), agent: false });
    this.req = req;
    req.setTimeout(this.opts.readTimeoutMs ?? 5 * 60_000, () => fail('no data from the stream within the read timeout'));
    req.on('error', (err) => fail(err.message));
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      if (status !== 200) {
        res.resume();
        if (!isRecoverableStatus(status)) {
          settled = true;
          this.req = null;
          req.destroy();
          this.closed = true;
          const message = `LaunchDarkly rejected the stream request with HTTP ${status}${status === 401 || status === 403 ? ' (invalid or unauthorized SDK key)' : ''}; giving up permanently`;
          this.emit('fatal', { status, message: this.redact(message) } satisfies SseFatal);
          return;
        }
        fail(`HTTP ${status}`);
        return;
      }
      this.backoff.success();
      this.emit('open', this.attempt);
      this.attempt = 0;
      const decoder = new StringDecoder('utf8');
      res.on('data', (chunk: Buffer) => parser.feed(decoder.write(chunk)));
      res.on('end', () => fail('the stream was closed by the server'));
      res.on('error', (err) => fail(err.message));
      res.on('close', () => fail('the stream connection closed'));
    });
  }

  private redact(s: string): string {
    return redactKey(s, this.opts.sdkKey);
  }
}
