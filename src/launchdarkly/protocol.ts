/**
 * The LaunchDarkly streaming protocol (FDv1) as ldsup moves it around: the master forwards the
 * event text exactly as LaunchDarkly sent it, and each worker revives it (spec §2.3: raw JSON
 * between processes, never SDK-processed objects).
 */

/** `data` is the SSE data text: put `{"path":"/","data":{flags,segments}}`, patch `{"path":"/flags/k","data":{…}}`, delete `{"path":"/flags/k","version":N}`. */
export type FlagEvent = { event: 'put' | 'patch' | 'delete'; data: string };

/** Master → worker: one flag event. */
export type LdEventMessage = FlagEvent & { t: 'ld' };
/** Master → worker: the upstream rejected the key (401/403/404); no further data will come. */
export type LdFatalMessage = { t: 'ld-fatal'; status: number; message: string };

export type RawItem = Record<string, unknown> & { key?: string; version?: number; deleted?: boolean };
export type RawData = { flags: Record<string, RawItem>; segments: Record<string, RawItem> };
export type ItemKind = 'flags' | 'segments';

export const isFlagEventName = (e: unknown): e is FlagEvent['event'] => e === 'put' || e === 'patch' || e === 'delete';

export function isLdEventMessage(m: unknown): m is LdEventMessage {
  const o = m as Partial<LdEventMessage> | null;
  return typeof o === 'object' && o !== null && o.t === 'ld' && isFlagEventName(o.event) && typeof o.data === 'string';
}

export function isLdFatalMessage(m: unknown): m is LdFatalMessage {
  const o = m as Partial<LdFatalMessage> | null;
  return typeof o === 'object' && o !== null && o.t === 'ld-fatal' && typeof o.status === 'number';
}

/** `/flags/my-flag` → {kind:'flags', key:'my-flag'}; other paths (future kinds) → null, and are ignored. */
export function parsePath(path: unknown): { kind: ItemKind; key: string } | null {
  if (typeof path !== 'string') return null;
  for (const kind of ['flags', 'segments'] as const) {
    const prefix = `/${kind}/`;
    if (path.startsWith(prefix) && path.length > prefix.length) return { kind, key: path.slice(prefix.length) };
  }
  return null;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Normalise a put body's `data` (or a poll body) to `{flags, segments}`, tolerating missing maps. */
export function toRawData(data: unknown): RawData {
  const d = isObject(data) ? data : {};
  return {
    flags: (isObject(d.flags) ? d.flags : {}) as RawData['flags'],
    segments: (isObject(d.segments) ? d.segments : {}) as RawData['segments'],
  };
}

export const putEvent = (data: RawData): FlagEvent => ({ event: 'put', data: JSON.stringify({ path: '/', data }) });

export type ParsedEvent =
  | { event: 'put'; data: RawData }
  | { event: 'patch'; kind: ItemKind; key: string; item: RawItem }
  | { event: 'delete'; kind: ItemKind; key: string; version: number };

/** Parse one event's text. Throws on malformed JSON; returns null for well-formed events we do not handle. */
export function parseFlagEvent(ev: FlagEvent): ParsedEvent | null {
  const body = JSON.parse(ev.data) as Record<string, unknown>;
  if (!isObject(body)) throw new Error(`${ev.event} event body is not an object`);
  if (ev.event === 'put') return { event: 'put', data: toRawData(body.data) };
  const where = parsePath(body.path);
  if (!where) return null;
  if (ev.event === 'patch') {
    if (!isObject(body.data)) throw new Error(`patch ${String(body.path)} has no data object`);
    return { event: 'patch', ...where, item: { ...body.data, key: where.key } as RawItem };
  }
  if (typeof body.version !== 'number') throw new Error(`delete ${String(body.path)} has no version`);
  return { event: 'delete', ...where, version: body.version };
}
