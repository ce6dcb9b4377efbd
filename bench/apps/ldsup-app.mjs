// Config "ldsup": the same handlers as an ldsup app (factory export; ctx.ld for the flag app).
// The app does nothing on shutdown: ldsup's worker owns the server and drains it.
import { makeHandler } from './handlers.mjs';

export default (ctx) => makeHandler(process.env.BENCH_APP || 'json', ctx.ld);
