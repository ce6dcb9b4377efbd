import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pidfile, PidfileError, isAlive, readPid, validate } from '../../src/pidfile.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldsup-pidfile-'));
});
afterEach(() => {
  jest.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The pid of a process that has certainly exited (and been reaped), so kill(pid, 0) gives ESRCH. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

const errno = (code: string) => Object.assign(new Error(code), { code });

describe('readPid / validate (gunicorn test_pidfile.py)', () => {
  test.each<[string, string | null]>([
    ['missing file', null],
    ['empty', ''],
    ['garbage', 'not a pid\n'],
    ['two numbers', '12 34\n'],
    ['zero', '0\n'],
    ['negative', '-5\n'],
  ])('%s → null', (_name, text) => {
    const f = path.join(dir, 'app.pid');
    if (text !== null) fs.writeFileSync(f, text);
    expect(readPid(f)).toBeNull();
    expect(validate(f)).toBeNull();
  });

  it('reads a pid with surrounding whitespace', () => {
    const f = path.join(dir, 'app.pid');
    fs.writeFileSync(f, '  4242 \n');
    expect(readPid(f)).toBe(4242);
  });

  it('a stale pid (ESRCH) is null: the file may be replaced', () => {
    const f = path.join(dir, 'app.pid');
    fs.writeFileSync(f, `${deadPid()}\n`);
    expect(readPid(f)).not.toBeNull();
    expect(validate(f)).toBeNull();
  });

  it('a live pid is returned; our own pid is not (a re-read of our own file)', () => {
    const f = path.join(dir, 'app.pid');
    fs.writeFileSync(f, `${process.ppid}\n`);
    expect(validate(f)).toBe(process.ppid);
    fs.writeFileSync(f, `${process.pid}\n`);
    expect(validate(f)).toBeNull();
  });

  it('EPERM counts as alive, ESRCH as gone (mocked kill)', () => {
    const kill = jest.spyOn(process, 'kill');
    kill.mockImplementation(() => {
      throw errno('EPERM');
    });
    expect(isAlive(4242)).toBe(true);
    kill.mockImplementation(() => {
      throw errno('ESRCH');
    });
    expect(isAlive(4242)).toBe(false);
    expect(kill).toHaveBeenCalledWith(4242, 0);
  });

  const root = process.getuid?.() === 0;
  // As root, kill(1, 0) succeeds, so the real EPERM branch cannot be reached: the mocked test above covers it.
  (root ? it.skip : it)('EPERM for real: pid 1 is alive though not ours to signal (skipped as root)', () => {
    expect(() => process.kill(1, 0)).toThrow(expect.objectContaining({ code: 'EPERM' }));
    const f = path.join(dir, 'app.pid');
    fs.writeFileSync(f, '1\n');
    expect(validate(f)).toBe(1);
  });
});

describe('Pidfile', () => {
  it('refuses a file naming a live process, and leaves it untouched', () => {
    const f = path.join(dir, 'app.pid');
    fs.writeFileSync(f, `${process.ppid}\n`);
    const p = new Pidfile(f);
    expect(() => p.write()).toThrow(PidfileError);
    expect(() => p.write()).toThrow(`Already running on PID ${process.ppid} (or pid file '${f}' is stale)`);
    expect(fs.readFileSync(f, 'utf8')).toBe(`${process.ppid}\n`);
  });

  test.each([
    ['stale', () => `${deadPid()}\n`],
    ['garbage', () => 'xyz'],
  ])('replaces a %s pidfile with "<pid>\\n", mode 0644', (_name, content) => {
    const f = path.join(dir, 'app.pid');
    fs.writeFileSync(f, content());
    new Pidfile(f).write(12345);
    expect(fs.readFileSync(f, 'utf8')).toBe('12345\n');
    expect(fs.statSync(f).mode & 0o777).toBe(0o644 & ~process.umask());
  });

  it('writes atomically: a temp file renamed over the target, none left behind', () => {
    const f = path.join(dir, 'app.pid');
    const rename = jest.spyOn(fs, 'renameSync');
    new Pidfile(f).write(777);
    expect(rename).toHaveBeenCalledTimes(1);
    const [from, to] = rename.mock.calls[0]!;
    expect(to).toBe(f);
    expect(from).not.toBe(f);
    expect(path.dirname(String(from))).toBe(dir); // same directory: rename is atomic
    expect(fs.readdirSync(dir)).toEqual(['app.pid']);
  });

  it('a rename that fails removes the temp file and names the pidfile (mocked: EROFS)', () => {
    const f = path.join(dir, 'app.pid');
    jest.spyOn(fs, 'renameSync').mockImplementation(() => {
      throw errno('EROFS');
    });
    expect(() => new Pidfile(f).write(777)).toThrow(`Can't write pidfile ${f}: EROFS`);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('names the missing directory', () => {
    const f = path.join(dir, 'nope', 'app.pid');
    expect(() => new Pidfile(f).write()).toThrow(`${path.join(dir, 'nope')} doesn't exist. Can't create pidfile ${f}.`);
  });

  it('unlinks only a file that still holds our pid', () => {
    const f = path.join(dir, 'app.pid');
    const p = new Pidfile(f);
    p.write(1111);
    p.unlink(2222); // a newer master took over the file
    expect(fs.readFileSync(f, 'utf8')).toBe('1111\n');
    p.unlink(1111);
    expect(fs.existsSync(f)).toBe(false);
    expect(() => p.unlink(1111)).not.toThrow(); // already gone
  });

  it('rename moves <pidfile>.2 to <pidfile> (USR2 promotion)', () => {
    const f = path.join(dir, 'app.pid');
    const p = new Pidfile(`${f}.2`);
    p.write(3333);
    p.rename(f);
    expect(p.file).toBe(f);
    expect(readPid(f)).toBe(3333);
    expect(fs.existsSync(`${f}.2`)).toBe(false);
  });
});
