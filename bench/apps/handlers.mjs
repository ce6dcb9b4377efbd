// The request handlers every configuration serves, so plain node, node:cluster, pm2 and ldsup run
// the same code. BENCH_APP = json | cpu | flag; BENCH_CPU_ITERS = loop size for ~50 µs (calibrate.mjs).
// GET /pid answers the serving pid (start-up test: "every worker has answered").

const ITERS = Number(process.env.BENCH_CPU_ITERS || 20000);

/** ~50 µs of pure CPU (calibrated per machine and Node version); the result is used so V8 keeps the loop. */
export function burn(iters = ITERS) {
  let x = 0x9e3779b9;
  for (let i = 0; i < iters; i++) x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + i;
  return x >>> 0;
}

function json(res, body) {
  const text = JSON.stringify(body);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Builds the handler; `ld` (a LaunchDarkly client) is needed only by the flag app. */
export function makeHandler(kind = process.env.BENCH_APP || 'json', ld = null) {
  const context = { kind: 'user', key: 'example-user', anonymous: true };
  const pid = (req, res) => (req.url === '/pid' ? (json(res, { pid: process.pid }), true) : false);
  if (kind === 'json') return (req, res) => pid(req, res) || json(res, { status: 'ok' });
  if (kind === 'cpu') return (req, res) => pid(req, res) || json(res, { status: 'ok', n: burn() });
  if (kind === 'flag') {
    return async (req, res) => {
      if (pid(req, res)) return;
      const value = await ld.variation('sample-flag', context, false);
      json(res, { flag: 'sample-flag', value, initialized: ld.initialized() });
    };
  }
  throw new Error(`unknown BENCH_APP ${kind}`);
}

/** For the peers' flag app: an SDK client fed from examples/flags.json (what ldsup does offline). */
export async function makeLdClient() {
  const { init, integrations } = await import('@launchdarkly/node-server-sdk');
  const file = new URL('../../examples/flags.json', import.meta.url).pathname;
  const fds = new integrations.FileDataSourceFactory({ paths: [file] });
  const client = init('bench-offline', {
    updateProcessor: fds.getFactory(),
    sendEvents: false,
    diagnosticOptOut: true,
    logger: { error() {}, warn() {}, info() {}, debug() {} },
  });
  await client.waitForInitialization({ timeout: 10 });
  return client;
}

/** The handler for this process, with an LD client if the app needs one. */
export async function appHandler(kind = process.env.BENCH_APP || 'json') {
  return makeHandler(kind, kind === 'flag' ? await makeLdClient() : null);
}

/** How the app reacts to SIGTERM/SIGINT (reload test): none | typical (server.close(() => exit)). */
export function installShutdown(server, mode = process.env.BENCH_SHUTDOWN || 'none') {
  if (mode !== 'typical') return;
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
