/**
 * An app's mistakes cost the request, not the worker: a throw or a rejected promise answers 500
 * and is logged; a write to a response already ended is logged; the worker keeps serving (the
 * same pid answers next, no new worker is booted).
 */
import path from 'node:path';
import { FIXTURES, cleanup, freePort, get, start } from '../support/ldsup.js';

afterEach(cleanup);

test('a throw, a rejection and a write after end: logged, the worker carries on', async () => {
  const port = await freePort();
  const l = start([path.join(FIXTURES, 'apps', 'app-errors.mjs'), '-w', '1', '-b', `127.0.0.1:${port}`]);
  await l.ready();
  const [pid] = l.bootedWorkers();
  for (const [p, status, logged] of [
    ['/throw', 500, /\[ERROR\] Error handling request: .*sync app bug/],
    ['/reject', 500, /\[ERROR\] Error handling request: .*async app bug/],
    ['/write-after-end', 200, /\[ERROR\] Error handling request: .*write after end/],
  ] as const) {
    const r = await get(port, p);
    expect([p, r.status]).toEqual([p, status]);
    await l.waitFor(logged);
    expect((await get(port, '/')).json()).toEqual({ pid });
  }
  expect(l.bootedWorkers()).toEqual([pid]);
  expect(l.output).not.toMatch(/Worker \(pid:\d+\) exited|Unhandled exception/);
});
