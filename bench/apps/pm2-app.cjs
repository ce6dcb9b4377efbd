// Config "pm2 cluster -i N": pm2 require()s this CJS wrapper in each worker (its ESM support in
// cluster mode has a history of breakage); the handler is the same ESM module as everywhere.
// Env: PORT, BENCH_APP, BENCH_SHUTDOWN.
const http = require('node:http');

import('./handlers.mjs').then(async ({ appHandler, installShutdown }) => {
  const server = http.createServer(await appHandler());
  installShutdown(server);
  server.listen(Number(process.env.PORT), '127.0.0.1');
});
