/**
 * LaunchDarkly's flag file format → raw `{flags, segments}`. `flagValues: {key: value}` becomes
 * the same single-variation flag the SDK's FileDataSource builds; its version goes up whenever
 * the value changes, so the SDK's change detection (`update:<key>` events) sees the edit.
 */
import type { RawData, RawItem } from './protocol.js';

/** key → { JSON of the last value, its version }; kept across reloads by the caller. */
export type FlagValueVersions = Map<string, { json: string; version: number }>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function flagFromValue(key: string, value: unknown, version: number): RawItem {
  return { key, on: true, version, variations: [value], fallthrough: { variation: 0 }, offVariation: 0, salt: '', targets: [], rules: [], prerequisites: [] };
}

export function convertFlagFile(doc: unknown, versions: FlagValueVersions): RawData {
  const next: FlagValueVersions = new Map(versions); // committed only if the whole file converts
  if (!isObject(doc)) throw new Error('expected a JSON object with "flags", "flagValues" and/or "segments"');
  for (const section of ['flags', 'flagValues', 'segments'] as const) {
    if (doc[section] !== undefined && !isObject(doc[section])) throw new Error(`"${section}" must be an object`);
  }
  const flags: Record<string, RawItem> = {};
  const segments: Record<string, RawItem> = {};
  for (const [key, flag] of Object.entries((doc.flags ?? {}) as Record<string, unknown>)) {
    if (!isObject(flag)) throw new Error(`flag "${key}" must be an object`);
    flags[key] = { version: 1, ...flag, key };
  }
  const seen = new Set<string>();
  for (const [key, value] of Object.entries((doc.flagValues ?? {}) as Record<string, unknown>)) {
    if (flags[key]) throw new Error(`flag "${key}" is defined in both "flags" and "flagValues"`);
    const json = JSON.stringify(value);
    const prev = next.get(key);
    const version = !prev ? 1 : prev.json === json ? prev.version : prev.version + 1;
    next.set(key, { json, version });
    seen.add(key);
    flags[key] = flagFromValue(key, value, version);
  }
  for (const [key, segment] of Object.entries((doc.segments ?? {}) as Record<string, unknown>)) {
    if (!isObject(segment)) throw new Error(`segment "${key}" must be an object`);
    segments[key] = { version: 1, ...segment, key };
  }
  // A removed value keeps its version history, so re-adding it later still bumps past old copies.
  for (const [key, v] of next) if (!seen.has(key)) next.set(key, { json: '\u0000removed', version: v.version });
  versions.clear();
  for (const [key, v] of next) versions.set(key, v);
  return { flags, segments };
}
