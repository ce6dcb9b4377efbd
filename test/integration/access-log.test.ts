/**
 * The access log through the real CLI: what a worker writes for responses made the usual ways.
 * gunicorn's b/B are the body bytes sent and {h}o the response header sent, whether the app set
 * them with setHeader(), passed them to writeHead(), or left them to Node.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURES, cleanup, freePort, get, start, tmpDir } from '../support/ldsup.js';
import { waitUntil } from '../support/proc.js';

afterEach(cleanup);

test('size (b, B) and response headers ({h}o) for writeHead() headers, chunked bodies and the Content-Length Node adds', async () => {
  const dir = tmpDir('ldsup-access-');
  const acc = path.join(dir, 'access.log');
  const port = await freePort();
  const format = '%(U)s %(s)s %(b)s %(B)s %({content-type}o)s %({content-length}o)s';
  const l = start([path.join(FIXTURES, 'apps', 'responses.mjs'), '-w', '1', '-b', `127.0.0.1:${port}`, '--access-logfile', acc, '--access-logformat', format], { cwd: dir });
  await l.ready();
  const expected: string[] = [];
  for (const [method, p] of [['GET', '/length'], ['GET', '/chunked'], ['GET', '/implicit'], ['HEAD', '/length'], ['GET', '/empty']] as const) {
    const r = await get(port, p, { method });
    const size = Buffer.byteLength(r.body);
    expected.push(`${p} ${r.status} ${size} ${size} ${r.headers['content-type'] ?? '-'} ${r.headers['content-length'] ?? '-'}`);
  }
  expect(expected[1]).toMatch(/^\/chunked 200 16 16 text\/plain; charset=utf-8 -$/); // chunked, as meant
  expect(expected.slice(3)).toEqual(['/length 200 0 0 application/json 15', '/empty 204 0 0 - -']); // bodies Node drops
  await waitUntil('five lines in the access log', () => fs.existsSync(acc) && fs.readFileSync(acc, 'utf8').split('\n').length > 5);
  expect(fs.readFileSync(acc, 'utf8').trimEnd().split('\n')).toEqual(expected);
});
