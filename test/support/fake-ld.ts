/**
 * A local LaunchDarkly-protocol service for tests (spec §4): `GET /all` (SSE), `GET /sdk/latest-all`
 * (ETag / 304), `POST /bulk` and `POST /diagnostic` (202). One base URL serves as streamUri,
 * baseUri and eventsUri. Authorization must equal the SDK key, else 401.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

type Item = Record<string, unknown> & { key: string; version: number };

export const DEFAULT_FAKE_KEY = 'sdk-fake-0123456789';

export class FakeLaunchDarkly {
  readonly sdkKey: string;
  events: unknown[] = [];
  requests: { path: string; headers: Record<string, string | string[] | undefined> }[] = [];
  private flags = new Map<string, Item>();
  private segments = new Map<string, Item>();
  private streams = new Set<http.ServerResponse>();
  private heartbeats = new Map<http.ServerResponse, NodeJS.Timeout>();
  private pending = new Set<NodeJS.Timeout>();
  private everOpened = 0;
  private failStatus: number | null = null;
  private slowMs = 0;
  private server: http.Server | null = null;
  private readonly heartbeatMs: number;

  constructor(opts: { sdkKey?: string; heartbeatMs?: number } = {}) {
    this.sdkKey = opts.sdkKey ?? DEFAULT_FAKE_KEY;
    this.heartbeatMs = opts.heartbeatMs ?? 3000;
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this.url;
  }

  get url(): string {
    const a = this.server?.address() as AddressInfo | null;
    if (!a) throw new Error('FakeLaunchDarkly is not started');
    return `http://127.0.0.1:${a.port}`;
  }

  /** A simple flag: on, serving `value` to everyone. */
  setFlag(key: string, value: unknown): void {
    this.setFlagJson({ key, on: true, variations: [value], fallthrough: { variation: 0 }, offVariation: 0, salt: key, targets: [], rules: [], prerequisites: [] });
  }

  /** Full flag JSON; the version is bumped past the stored one (or the given one, if higher). */
  setFlagJson(flag: object): void {
    this.upsert(this.flags, 'flags', flag as Item);
  }

  setSegmentJson(segment: object): void {
    this.upsert(this.segments, 'segments', segment as Item);
  }

  deleteFlag(key: string): void {
    const version = (this.flags.get(key)?.version ?? 0) + 1;
    this.flags.delete(key);
    this.broadcast('delete', { path: `/flags/${key}`, version });
  }

  flag(key: string): Item | undefined {
    return this.flags.get(key);
  }

  put(): void {
    for (const res of this.streams) this.send(res, 'put', { path: '/', data: this.allData() });
  }

  /** Send raw SSE text to every open stream (malformed-event tests). */
  sendRaw(text: string): void {
    for (const res of this.streams) res.write(text);
  }

  dropStreams(): void {
    for (const res of [...this.streams]) res.socket?.destroy();
  }

  failWith(status: number | null): void {
    this.failStatus = status;
  }

  slowFirstResponse(ms: number): void {
    this.slowMs = ms;
  }

  get streamConnections(): number {
    return this.streams.size;
  }

  get totalStreamConnections(): number {
    return this.everOpened;
  }

  async stop(): Promise<void> {
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
    for (const res of [...this.streams]) this.forget(res);
    if (!this.server) return;
    const server = this.server;
    this.server = null;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private allData() {
    return { flags: Object.fromEntries(this.flags), segments: Object.fromEntries(this.segments) };
  }

  private upsert(map: Map<string, Item>, kind: 'flags' | 'segments', item: Item): void {
    const version = Math.max((map.get(item.key)?.version ?? 0) + 1, item.version ?? 0);
    const stored = { ...item, version };
    map.set(item.key, stored);
    this.broadcast('patch', { path: `/${kind}/${item.key}`, data: stored });
  }

  private broadcast(event: string, body: unknown): void {
    for (const res of this.streams) this.send(res, event, body);
  }

  private send(res: http.ServerResponse, event: string, body: unknown): void {
    res.write(`event: ${event}\ndata: ${JSON.stringify(body)}\n\n`);
  }

  private forget(res: http.ServerResponse): void {
    clearInterval(this.heartbeats.get(res));
    this.heartbeats.delete(res);
    this.streams.delete(res);
    res.destroy();
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    this.requests.push({ path, headers: { ...req.headers } });
    if (req.method === 'POST' && (path === '/bulk' || path === '/diagnostic')) return this.collect(req, res);
    if (req.method !== 'GET' || (path !== '/all' && path !== '/sdk/latest-all')) {
      res.writeHead(404).end();
      return;
    }
    if (this.failStatus !== null) {
      res.writeHead(this.failStatus, { 'Content-Type': 'text/plain' }).end('failing on purpose');
      return;
    }
    if (req.headers.authorization !== this.sdkKey) {
      res.writeHead(401).end();
      return;
    }
    if (path === '/sdk/latest-all') return this.poll(req, res);
    const delay = this.slowMs;
    this.slowMs = 0;
    if (delay > 0) {
      const t = setTimeout(() => {
        this.pending.delete(t);
        this.openStream(res);
      }, delay);
      this.pending.add(t);
    } else this.openStream(res);
  }

  private openStream(res: http.ServerResponse): void {
    if (res.destroyed) return;
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    this.streams.add(res);
    this.everOpened++;
    this.heartbeats.set(res, setInterval(() => res.write(':\n'), this.heartbeatMs));
    res.on('close', () => this.forget(res));
    this.send(res, 'put', { path: '/', data: this.allData() });
  }

  private poll(req: http.IncomingMessage, res: http.ServerResponse): void {
    const body = JSON.stringify(this.allData());
    const etag = `"${createHash('sha1').update(body).digest('hex')}"`;
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { ETag: etag }).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', ETag: etag }).end(body);
  }

  private collect(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        this.events.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        this.events.push(Buffer.concat(chunks).toString('utf8'));
      }
      res.writeHead(202).end();
    });
  }
}
