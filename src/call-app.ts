/**
 * Calls the app's request handler — and keeps V8 from inlining it into our code.
 *
 * Measured here (Node 20.20 / V8 11.3, a handler with ~50 µs of pure CPU): when TurboFan inlines
 * the app's handler into a function that has a try/catch around the call (ours must catch a
 * synchronous throw to answer 500 instead of crashing the worker), the inlined app code ran
 * 2.5× slower (214 vs 84 µs of CPU per request; Node 24: 101 vs 89). A call site that has seen
 * many different functions (megamorphic) is never inlined, so the handler is compiled on its
 * own, as in a plain `http.createServer(handler)`. The warm-up below makes this one call site
 * megamorphic before the real handler ever goes through it (feedback is only collected after a
 * function has run a few times, hence the loop). If a V8 version ignores this, nothing breaks:
 * requests are served the same, only that speed-up is lost (bench/ measures it).
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';

export function callApp(handler: RequestListener, req: IncomingMessage, res: ServerResponse): unknown {
  return (handler as (req: IncomingMessage, res: ServerResponse) => unknown)(req, res);
}

const shapes: RequestListener[] = [() => 0, () => 1, () => 2, () => 3, () => 4, () => 5] as unknown as RequestListener[];
for (let i = 0; i < 240; i++) callApp(shapes[i % shapes.length]!, undefined as never, undefined as never);
