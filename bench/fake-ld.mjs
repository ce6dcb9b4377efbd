// A minimal LaunchDarkly streaming service for the flag benchmark (the test suite has the full
// one): GET /all answers a put and keeps the stream; patch() sends a flag change to every stream
// and returns the monotonic time it was written; counts stream connections. Loopback only.
import http from 'node:http';

const flag = (key, value, version) => ({ key, version, on: true, variations: [value], fallthrough: { variation: 0 }, offVariation: 0, salt: key, targets: [], rules: [], prerequisites: [] });

export async function startFakeLd(sdkKey, { extraFlags = 0 } = {}) {
  const flags = { 'bench-flag': flag('bench-flag', 0, 1) };
  for (let i = 0; i < extraFlags; i++) flags[`filler-${i}`] = { ...flag(`filler-${i}`, `value-${i}`, 1), rules: [{ id: `r${i}`, variation: 0, clauses: [{ contextKind: 'user', attribute: 'email', op: 'endsWith', values: [`@example${i}.com`], negate: false }] }] };
  const streams = new Set();
  let total = 0;
  const server = http.createServer((req, res) => {
    if (req.headers.authorization !== sdkKey) return res.writeHead(401).end();
    if (req.url.startsWith('/all')) {
      total++;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(`event: put\ndata: ${JSON.stringify({ path: '/', data: { flags, segments: {} } })}\n\n`);
      streams.add(res);
      res.on('close', () => streams.delete(res));
      return;
    }
    if (req.method === 'POST') return req.resume().on('end', () => res.writeHead(202).end());
    res.writeHead(404).end();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    get connections() { return streams.size; },
    get totalConnections() { return total; },
    patch(value) {
      const f = flag('bench-flag', value, flags['bench-flag'].version + 1);
      flags['bench-flag'] = f;
      const t = process.hrtime.bigint();
      for (const s of streams) s.write(`event: patch\ndata: ${JSON.stringify({ path: '/flags/bench-flag', data: f })}\n\n`);
      return t;
    },
    stop: () => new Promise((r) => { for (const s of streams) s.destroy(); server.close(r); }),
  };
}
