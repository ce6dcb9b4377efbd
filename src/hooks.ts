/**
 * Runs a user hook by name: async allowed, and an error is reported with the hook's name.
 * `critical` hooks (onStarting, preload, postFork…) rethrow so the caller can stop.
 */
import { oneLine } from './errors.js';
import type { Hooks, Logger } from './types.js';

export class HookError extends Error {
  constructor(
    readonly hook: string,
    cause: unknown,
  ) {
    super(`hook ${hook} failed: ${oneLine(cause)}`, { cause });
  }
}

type HookArgs<K extends keyof Hooks> = Parameters<NonNullable<Hooks[K]>>;

export async function runHook<K extends keyof Hooks>(
  hooks: Hooks,
  name: K,
  log: Logger,
  opts: { critical?: boolean },
  ...args: HookArgs<K>
): Promise<unknown> {
  const fn = hooks[name] as ((...a: unknown[]) => unknown) | undefined;
  if (!fn) return undefined;
  try {
    return await fn(...args);
  } catch (err) {
    const e = new HookError(name, err);
    if (opts.critical) throw e;
    log.error(e.message);
    return undefined;
  }
}
