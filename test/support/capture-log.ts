/** A Logger that records lines, for asserting what an operator would see. */
import type { Logger } from '../../src/log.js';

export type CapturedLine = { level: 'debug' | 'info' | 'warning' | 'error' | 'critical'; msg: string };

export function captureLogger(): Logger & { lines: CapturedLine[]; text(): string; at(level: CapturedLine['level']): string[] } {
  const lines: CapturedLine[] = [];
  const rec = (level: CapturedLine['level']) => (msg: string) => void lines.push({ level, msg });
  return {
    lines,
    debug: rec('debug'),
    info: rec('info'),
    warning: rec('warning'),
    error: rec('error'),
    critical: rec('critical'),
    reopen() {},
    text: () => lines.map((l) => `${l.level}: ${l.msg}`).join('\n'),
    at: (level) => lines.filter((l) => l.level === level).map((l) => l.msg),
  };
}
