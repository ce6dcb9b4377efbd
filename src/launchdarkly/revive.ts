/**
 * The only module that touches the SDK-internal `reviveFullPayload`. Raw flag JSON must be
 * revived (attribute references, rollout references, big-segment Sets) before it reaches the
 * SDK store, or `variation()` rejects with a TypeError instead of returning the default
 * (spec §2.3, pitfall 3). The function is marked internal and may change without a major
 * version, so the SDK is pinned and test/unit/ld-revive.test.ts guards it.
 */
import type { LDFeatureStoreDataStorage, LDKeyedFeatureStoreItem } from '@launchdarkly/node-server-sdk';
import type { ItemKind, RawData, RawItem } from './protocol.js';
import { sdk } from './sdk.js';

type Reviver = (payload: Record<string, unknown>) => { flags: Record<string, unknown>; segments: Record<string, unknown> };

// Looked up through the namespace, not a named import, so a future SDK without it fails our
// feature test with a clear message instead of failing to link at import time.
const revive = () => (sdk() as unknown as { reviveFullPayload?: Reviver }).reviveFullPayload;

export function reviveAvailable(): boolean {
  return typeof revive() === 'function';
}

function reviver(): Reviver {
  const fn = revive();
  if (!fn) throw new Error('this @launchdarkly/node-server-sdk has no reviveFullPayload; ldsup needs the pinned SDK version');
  return fn;
}

/** Raw `{flags, segments}` (freshly parsed; mutated in place) → the SDK store's `init()` argument. */
export function reviveAll(data: RawData): LDFeatureStoreDataStorage {
  const out = reviver()({ flags: data.flags, segments: data.segments });
  return { features: out.flags ?? {}, segments: out.segments ?? {} } as LDFeatureStoreDataStorage;
}

/** One raw flag or segment (freshly parsed; mutated in place) → an item for the SDK store's `upsert()`. */
export function reviveItem(kind: ItemKind, item: RawItem): LDKeyedFeatureStoreItem {
  const key = String(item.key);
  const out = reviver()({ [kind]: { [key]: item } });
  return (out[kind] as Record<string, unknown>)[key] as LDKeyedFeatureStoreItem;
}
