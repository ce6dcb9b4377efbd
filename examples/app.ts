/**
 * The example app: the Node twin of a small Flask app.
 *   GET /      -> {"status":"ok"}
 *   GET /flag  -> {"flag":"sample-flag","value":false,"initialized":true}
 * The flag key comes from LD_FLAG_KEY (default sample-flag); the LaunchDarkly client is the
 * worker's own, already initialised by ldsup from the master's flag data (offline: from
 * examples/flags.json). LAUNCHDARKLY_SDK_KEY and LD_FLAG_KEY may also come from a .env file.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { existsSync } from 'node:fs';
import type { WorkerContext } from 'ldsup';

if (existsSync('.env')) process.loadEnvFile('.env');

const FLAG_KEY = process.env.LD_FLAG_KEY || 'sample-flag';

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export default function app(ctx: WorkerContext) {
  const context = { kind: 'user', key: 'example-user', anonymous: true };
  return async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/') return json(res, 200, { status: 'ok' });
    if (req.method === 'GET' && path === '/flag') {
      const value = await ctx.ld.variation(FLAG_KEY, context, false);
      return json(res, 200, { flag: FLAG_KEY, value, initialized: ctx.ld.initialized() });
    }
    json(res, 404, { error: 'not found', path });
  };
}
