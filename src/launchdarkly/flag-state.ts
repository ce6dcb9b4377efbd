/**
 * The master's copy of the raw LaunchDarkly data, with the same version rules as the SDK's
 * in-memory store: a put replaces everything; a patch or delete is applied only if its version is
 * newer than what we hold. Deletes leave a tombstone so a late, older patch cannot resurrect the item.
 */
import { putEvent, type FlagEvent, type ItemKind, type ParsedEvent, type RawData, type RawItem } from './protocol.js';

export class FlagState {
  private data: RawData = { flags: {}, segments: {} };
  private cachedPut: FlagEvent | null = null;
  private hasData = false;

  get initialized(): boolean {
    return this.hasData;
  }

  /** Live flags (tombstones excluded). */
  get flagCount(): number {
    return Object.values(this.data.flags).filter((f) => !f.deleted).length;
  }

  /** Apply a parsed event; returns false when the version check rejected it (nothing to forward). */
  apply(ev: ParsedEvent): boolean {
    switch (ev.event) {
      case 'put':
        this.data = { flags: { ...ev.data.flags }, segments: { ...ev.data.segments } };
        this.hasData = true;
        break;
      case 'patch':
        if (!this.newer(ev.kind, ev.key, ev.item.version)) return false;
        this.data[ev.kind][ev.key] = ev.item;
        break;
      case 'delete':
        if (!this.newer(ev.kind, ev.key, ev.version)) return false;
        this.data[ev.kind][ev.key] = { key: ev.key, version: ev.version, deleted: true };
        break;
    }
    this.cachedPut = null;
    return true;
  }

  get(kind: ItemKind, key: string): RawItem | undefined {
    const item = this.data[kind][key];
    return item && !item.deleted ? item : undefined;
  }

  /**
   * The current data as a put event, or null before the first put. Cached between changes:
   * restarted workers each get a snapshot, and a 10k-flag environment is megabytes of JSON.
   */
  snapshot(): FlagEvent | null {
    if (!this.hasData) return null;
    if (!this.cachedPut) {
      const live = (m: Record<string, RawItem>) => Object.fromEntries(Object.entries(m).filter(([, v]) => !v.deleted));
      this.cachedPut = putEvent({ flags: live(this.data.flags), segments: live(this.data.segments) });
    }
    return this.cachedPut;
  }

  private newer(kind: ItemKind, key: string, version: unknown): boolean {
    const v = typeof version === 'number' ? version : 0;
    const old = this.data[kind][key];
    return !old || (typeof old.version === 'number' ? old.version : 0) < v;
  }
}
