/**
 * Incremental text/event-stream parser. A LaunchDarkly put is one `data:` line of several MB that
 * arrives in many chunks (spec pitfall 15), so partial lines are collected in an array and joined
 * once, when the newline finally arrives: O(n), never a rescan of the whole buffer.
 */

export type SseEvent = { event: string; data: string };

export class SseParser {
  private partial: string[] = [];
  private skipLf = false;
  private eventName = '';
  private dataLines: string[] = [];

  constructor(private readonly onEvent: (ev: SseEvent) => void) {}

  /** Feed decoded text (use a UTF-8 decoder upstream so multi-byte characters are never split). */
  feed(chunk: string): void {
    let start = 0;
    if (this.skipLf && chunk.startsWith('\n')) start = 1;
    this.skipLf = false;
    while (start < chunk.length) {
      const nl = nextLineBreak(chunk, start);
      if (nl < 0) {
        this.partial.push(chunk.slice(start));
        return;
      }
      let line = chunk.slice(start, nl);
      if (this.partial.length) {
        this.partial.push(line);
        line = this.partial.join('');
        this.partial = [];
      }
      start = nl + 1;
      if (chunk[nl] === '\r') {
        if (nl + 1 === chunk.length) this.skipLf = true; // CRLF split across chunks
        else if (chunk[nl + 1] === '\n') start++;
      }
      this.line(line);
    }
  }

  /** Forget any half-received event (the connection dropped mid-event). */
  reset(): void {
    this.partial = [];
    this.skipLf = false;
    this.eventName = '';
    this.dataLines = [];
  }

  private line(line: string): void {
    if (line === '') {
      if (this.dataLines.length) this.onEvent({ event: this.eventName || 'message', data: this.dataLines.join('\n') });
      this.eventName = '';
      this.dataLines = [];
      return;
    }
    if (line.startsWith(':')) return; // comment: heartbeat
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.eventName = value;
    else if (field === 'data') this.dataLines.push(value);
    // id and retry are ignored: LaunchDarkly does not resume streams, and we keep the SDK's backoff.
  }
}

function nextLineBreak(s: string, from: number): number {
  const n = s.indexOf('\n', from);
  const r = s.indexOf('\r', from);
  if (r < 0) return n;
  if (n < 0) return r;
  return Math.min(n, r);
}
