import { shellSplit } from '../../src/shell-split.js';

describe("shellSplit (LDSUP_CMD_ARGS, split as gunicorn splits GUNICORN_CMD_ARGS: Python's shlex.split)", () => {
  test.each<[string, string[]]>([
    ['', []],
    ['   ', []],
    ['-w 3 -t 7', ['-w', '3', '-t', '7']],
    ['  -w\t3\n--preload  ', ['-w', '3', '--preload']],
    [`-e "A=hello world"`, ['-e', 'A=hello world']],
    [`-e 'A=it''s'`, ['-e', 'A=its']],
    [`-e 'A="x"'`, ['-e', 'A="x"']],
    [`-e "A=\\"x\\""`, ['-e', 'A="x"']],
    [`-e 'A=\\n'`, ['-e', 'A=\\n']], // no escapes inside single quotes
    // Inside double quotes a backslash escapes only " and itself; before anything else it stays
    // (Python's shlex.split, which gunicorn uses for GUNICORN_CMD_ARGS; rows checked against it).
    [`-e "RE=a\\d+"`, ['-e', 'RE=a\\d+']],
    [`-e "DIR=C:\\tmp\\new"`, ['-e', 'DIR=C:\\tmp\\new']],
    [`-e "A=\\\\x"`, ['-e', 'A=\\x']],
    [`-e "A=\\$x"`, ['-e', 'A=\\$x']],
    ['-e "A=\\`x"', ['-e', 'A=\\`x']],
    ['-e "A=\\\nB"', ['-e', 'A=\\\nB']],
    ['a\\\nb', ['a\nb']], // outside quotes a backslash escapes any character, a newline too
    ['-e A=a\\ b', ['-e', 'A=a b']],
    [`""`, ['']],
    [`-n ''`, ['-n', '']],
    [`a"b"'c'`, ['abc']],
  ])('%j', (text, words) => {
    expect(shellSplit(text)).toEqual(words);
  });

  test.each([
    [`-e "A=1`, 'unterminated " quote'],
    [`-e 'A=1`, "unterminated ' quote"],
    [`-e "A=x\\"`, 'unterminated " quote'], // the \" is a quote character, not the end
  ])('%j throws %j', (text, message) => {
    expect(() => shellSplit(text)).toThrow(message);
  });
});
