// Config "ldsup": the same handlers as an ldsup app (factory export). Only the flag app touches
// ctx.ld (the worker's client, fed by the master); the others never load the SDK, like the peers.
// The app does nothing on shutdown: ldsup's worker owns the server and drains it.
import { makeHandler } from './handlers.mjs';

export default (ctx) => {
  const kind = process.env.BENCH_APP || 'json';
  return makeHandler(kind, kind === 'flag' ? ctx.ld : null);
};
