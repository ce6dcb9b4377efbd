import { FlagState } from '../../src/launchdarkly/flag-state.js';
import { parseFlagEvent, parsePath, putEvent, type FlagEvent } from '../../src/launchdarkly/protocol.js';
import { SseParser, type SseEvent } from '../../src/launchdarkly/sse-parser.js';

const patch = (kind: string, key: string, item: object): FlagEvent => ({ event: 'patch', data: JSON.stringify({ path: `/${kind}/${key}`, data: item }) });
const del = (kind: string, key: string, version: number): FlagEvent => ({ event: 'delete', data: JSON.stringify({ path: `/${kind}/${key}`, version }) });

function applied(state: FlagState, ev: FlagEvent): boolean {
  const p = parseFlagEvent(ev);
  return p ? state.apply(p) : false;
}

describe('FlagState', () => {
  it('is empty and has no snapshot before the first put', () => {
    const s = new FlagState();
    expect(s.initialized).toBe(false);
    expect(s.snapshot()).toBeNull();
  });

  it('applies patches and deletes only when newer, like the SDK store', () => {
    const s = new FlagState();
    applied(s, putEvent({ flags: { a: { key: 'a', version: 3, on: true } }, segments: {} }));
    expect(applied(s, patch('flags', 'a', { key: 'a', version: 3, on: false }))).toBe(false);
    expect(applied(s, patch('flags', 'a', { key: 'a', version: 4, on: false }))).toBe(true);
    expect(s.get('flags', 'a')).toMatchObject({ on: false, version: 4 });
    expect(applied(s, del('flags', 'a', 4))).toBe(false);
    expect(applied(s, del('flags', 'a', 5))).toBe(true);
    expect(s.get('flags', 'a')).toBeUndefined();
    // The tombstone keeps an older patch from resurrecting the flag.
    expect(applied(s, patch('flags', 'a', { key: 'a', version: 5 }))).toBe(false);
    expect(applied(s, patch('segments', 'seg', { key: 'seg', version: 1, included: ['u'] }))).toBe(true);
    expect(s.flagCount).toBe(0);
    const snap = JSON.parse(s.snapshot()!.data);
    expect(snap).toEqual({ path: '/', data: { flags: {}, segments: { seg: { key: 'seg', version: 1, included: ['u'] } } } });
  });

  it('a put replaces everything, tombstones included', () => {
    const s = new FlagState();
    applied(s, putEvent({ flags: { a: { key: 'a', version: 9 } }, segments: {} }));
    applied(s, del('flags', 'a', 10));
    applied(s, putEvent({ flags: { a: { key: 'a', version: 2 } }, segments: {} }));
    expect(s.get('flags', 'a')).toMatchObject({ version: 2 });
  });

  it('parses paths and rejects malformed bodies', () => {
    expect(parsePath('/flags/x/y')).toEqual({ kind: 'flags', key: 'x/y' });
    expect(parsePath('/configurationOverrides/x')).toBeNull();
    expect(() => parseFlagEvent({ event: 'patch', data: '{"path":"/flags/a"' })).toThrow();
    expect(() => parseFlagEvent({ event: 'delete', data: '{"path":"/flags/a"}' })).toThrow(/version/);
  });
});

describe('SseParser', () => {
  const collect = () => {
    const out: SseEvent[] = [];
    return { out, parser: new SseParser((e) => out.push(e)) };
  };

  it('handles comments, multi-line data, CRLF split across chunks, and events split anywhere', () => {
    const { out, parser } = collect();
    const text = ':hb\r\nevent: put\r\ndata: {"a":\r\ndata: 1}\r\n\r\n:\nevent:patch\ndata:x\n\n';
    for (const ch of text) parser.feed(ch); // worst case: one character per chunk
    expect(out).toEqual([
      { event: 'put', data: '{"a":\n1}' },
      { event: 'patch', data: 'x' },
    ]);
  });

  it('parses a multi-megabyte single-line put in linear time (spec pitfall 15)', () => {
    const { out, parser } = collect();
    const payload = 'x'.repeat(8 * 1024 * 1024);
    const text = `event: put\ndata: ${payload}\n\n`;
    const started = process.hrtime.bigint();
    for (let i = 0; i < text.length; i += 16 * 1024) parser.feed(text.slice(i, i + 16 * 1024));
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    expect(out).toHaveLength(1);
    expect(out[0].data.length).toBe(payload.length);
    // A quadratic rescan of 512 chunks of an 8 MB line takes many seconds; linear is ~tens of ms.
    expect(ms).toBeLessThan(2000);
  });
});
