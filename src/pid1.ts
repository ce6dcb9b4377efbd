/**
 * Running as PID 1 (a container's init): TERM/INT from `docker stop` or Kubernetes reach the
 * master's own handlers (PID 1 gets no default signal actions), and orphaned grandchildren of
 * the app are re-parented to us, so their zombies must be reaped. Node cannot wait for processes
 * it did not spawn; native/reaper.c can (built by `npm run build:native`, optional).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ownChildren } from './children.js';
import type { Logger } from './log.js';

type Reaper = { reap(own: number[]): number[] };

function loadReaper(): Reaper | null {
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'native', 'build', 'reaper.node');
  try {
    return createRequire(import.meta.url)(file) as Reaper;
  } catch {
    return null;
  }
}

/** Returns a function to call often (each loop tick): it reaps orphan zombies. No-op unless PID 1. */
export function orphanReaper(log: Logger, pid = process.pid): () => void {
  if (pid !== 1) return () => {};
  const reaper = loadReaper();
  if (!reaper) {
    log.warning(
      'running as PID 1 without the native reaper: zombies of orphaned processes will not be reaped. Use `docker run --init` (tini), or build it with `npm run build:native`.',
    );
    return () => {};
  }
  log.info('running as PID 1: reaping orphaned processes');
  return () => {
    for (const p of reaper.reap([...ownChildren])) log.debug(`Reaped orphaned process ${p}`);
  };
}
