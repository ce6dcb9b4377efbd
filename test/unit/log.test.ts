/** The log line format, and colour only where asked for (a TTY without NO_COLOR decides by default). */
import { createLogger, type LogSink } from '../../src/log.js';

function capture(isTTY: boolean) {
  const lines: string[] = [];
  const sink = { isTTY, write: (line: string) => void lines.push(line), reopen() {} } as unknown as LogSink;
  return { lines, sink };
}

const ESC = '\u001b[';

test('a coloured logger paints level and message; the info level stays plain apart from the dimmed head', () => {
  const { lines, sink } = capture(false);
  const log = createLogger({ color: true }, sink);
  log.error('boom');
  log.info('hello');
  expect(lines[0]).toContain(`${ESC}31m[ERROR]`);
  expect(lines[0]).toContain(`${ESC}31mboom`);
  expect(lines[1]).toMatch(/^\u001b\[2m\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\] \[\d+\]\u001b\[22m \[INFO\] hello$/);
});

test('a plain logger writes no escape codes: gunicorn\'s line format', () => {
  const { lines, sink } = capture(false);
  const log = createLogger({ color: false, level: 'debug' }, sink);
  for (const level of ['debug', 'info', 'warning', 'error', 'critical'] as const) log[level](`a ${level} line`);
  expect(lines).toHaveLength(5);
  for (const l of lines) expect(l).not.toContain(ESC);
  expect(lines[2]).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\] \[\d+\] \[WARNING\] a warning line$/);
});

test('by default, colour follows the stream: a TTY gets it, unless NO_COLOR is set', () => {
  const saved = process.env.NO_COLOR;
  try {
    delete process.env.NO_COLOR;
    const tty = capture(true);
    createLogger({}, tty.sink).warning('w');
    expect(tty.lines[0]).toContain(ESC);
    const pipe = capture(false);
    createLogger({}, pipe.sink).warning('w');
    expect(pipe.lines[0]).not.toContain(ESC);
    process.env.NO_COLOR = '1';
    const noColor = capture(true);
    createLogger({}, noColor.sink).warning('w');
    expect(noColor.lines[0]).not.toContain(ESC);
  } finally {
    if (saved === undefined) delete process.env.NO_COLOR;
    else process.env.NO_COLOR = saved;
  }
});
