/** Polling waits for tests: no fixed sleeps, generous limits for a loaded 2-core CI box. */

export async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs = 10_000, what?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`waitFor timed out after ${timeoutMs} ms${what ? `: ${what}` : ''}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Resolves with the next `event` emitted by `emitter`, or rejects after `timeoutMs`. */
export function nextEvent<T = unknown>(
  emitter: { once(ev: string, fn: (v: T) => void): unknown; off(ev: string, fn: (v: T) => void): unknown },
  event: string,
  timeoutMs = 10_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const on = (v: T) => {
      clearTimeout(timer);
      resolve(v);
    };
    const timer = setTimeout(() => {
      emitter.off(event, on);
      reject(new Error(`no '${event}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    emitter.once(event, on);
  });
}
