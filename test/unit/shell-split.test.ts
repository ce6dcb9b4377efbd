import { shellSplit } from '../../src/shell-split.js';

describe('shellSplit (LDSUP_CMD_ARGS, split as a POSIX shell would)', () => {
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
  ])('%j throws %j', (text, message) => {
    expect(() => shellSplit(text)).toThrow(message);
  });
});
