// For bench/pinned.mjs config "inner": an ldsup app that serves the bench handler from its own
// plain http.createServer on INNER_PORT, so the requests take Node's own path inside an ldsup
// worker's process (ldsup's listener answers only the start-up probe).
import http from 'node:http';
import { makeHandler } from './handlers.mjs';

export default (ctx) => {
  const kind = process.env.BENCH_APP || 'json';
  const server = http.createServer(makeHandler(kind, kind === 'flag' ? ctx.ld : null));
  server.listen(Number(process.env.INNER_PORT), '127.0.0.1');
  return makeHandler('json');
};
