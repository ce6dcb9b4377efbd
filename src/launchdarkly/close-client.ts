/**
 * Worker shutdown for an SDK client. `close()` drops queued analytics events, so flush first;
 * `flush()` can take seconds when the events endpoint is down (one retry), hence the bound
 * (spec pitfall 6).
 */
import type { LDClient } from '@launchdarkly/node-server-sdk';

export async function closeClient(client: LDClient, flushTimeoutMs = 2000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.flush().catch(() => {}),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, flushTimeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    client.close();
  }
}
