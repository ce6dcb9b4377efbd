import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { compileFormat, createAccessLog } from '../../src/access-log.js';
import { SETTINGS } from '../../src/settings.js';

const DEFAULT_FORMAT = SETTINGS.find((s) => s.key === 'accessLogFormat')!.default({}) as string;

function fakeReq(over: { url?: string; method?: string; headers?: Record<string, string | string[]>; remoteAddress?: string } = {}): IncomingMessage {
  return {
    method: over.method ?? 'GET',
    url: over.url ?? '/path?x=1',
    httpVersion: '1.1',
    headers: over.headers ?? {},
    socket: { remoteAddress: over.remoteAddress ?? '127.0.0.1' },
  } as unknown as IncomingMessage;
}

function fakeRes(status = 200, headers: Record<string, string | number> = {}): ServerResponse {
  const h = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { statusCode: status, getHeader: (name: string) => h[name.toLowerCase()] } as unknown as ServerResponse;
}

const render = (format: string, req = fakeReq(), res = fakeRes(), ns = 1_234_567_890n) =>
  compileFormat(format)
    .map((p) => p(req, res, ns))
    .join('');

describe('access log format (gunicorn atoms)', () => {
  it('default format: h l u t "r" s b "f" "a"', () => {
    const req = fakeReq({
      headers: { referer: 'http://ref/', 'user-agent': 'curl/8', authorization: `Basic ${Buffer.from('alice:pw').toString('base64')}` },
    });
    const line = render(DEFAULT_FORMAT, req, fakeRes(201, { 'Content-Length': 5 }));
    expect(line).toMatch(/^127\.0\.0\.1 - alice \[\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "GET \/path\?x=1 HTTP\/1\.1" 201 5 "http:\/\/ref\/" "curl\/8"$/);
  });

  it('missing values print "-" (no user, no length, no referer, no agent)', () => {
    expect(render(DEFAULT_FORMAT, fakeReq({ remoteAddress: '' }))).toMatch(/^- - - \[.*\] "GET \/path\?x=1 HTTP\/1\.1" 200 - "-" "-"$/);
  });

  test.each<[string, string]>([
    ['%(m)s', 'GET'],
    ['%(U)s', '/path'],
    ['%(q)s', 'x=1'],
    ['%(H)s', 'HTTP/1.1'],
    ['%(s)s', '200'],
    ['%(B)s', '0'],
    ['%(T)s', '1'],
    ['%(M)s', '1234'],
    ['%(D)s', '1234567'],
    ['%(L)s', '1.234568'],
    ['%(p)s', `<${process.pid}>`],
    ['%({x-foo}i)s', 'bar'],
    ['%({X-Foo}i)s', 'bar'], // header names are case-insensitive
    ['%({x-missing}i)s', '-'],
    ['%({x-out}o)s', 'yes'],
    ['%({x-none}o)s', '-'],
    ['%(nope)s', '-'], // a missing atom prints '-'
    ['%({x}e)s', '-'], // environ atoms do not exist in Node
    ['100%% %(s)s', '100% 200'],
    ['%%(s)s', '%(s)s'],
    ['no atoms at all', 'no atoms at all'],
    ['[%(m)s]', '[GET]'],
  ])('%j → %j', (format, expected) => {
    expect(render(format, fakeReq({ headers: { 'x-foo': 'bar' } }), fakeRes(200, { 'x-out': 'yes' }))).toBe(expected);
  });

  it('writes one line per request to the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldsup-access-'));
    try {
      const file = path.join(dir, 'access.log');
      const log = createAccessLog(file, '%(m)s %(U)s %(s)s');
      log.log(fakeReq(), fakeRes(404), process.hrtime.bigint());
      log.log(fakeReq({ method: 'POST', url: '/x' }), fakeRes(201), process.hrtime.bigint());
      expect(fs.readFileSync(file, 'utf8')).toBe('GET /path 404\nPOST /x 201\n');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
