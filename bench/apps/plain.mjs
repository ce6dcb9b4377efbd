// Config "plain": one node process, no supervisor. Env: PORT, BENCH_APP.
import http from 'node:http';
import { appHandler } from './handlers.mjs';

const server = http.createServer(await appHandler());
server.listen(Number(process.env.PORT), '127.0.0.1');
