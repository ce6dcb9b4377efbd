/**
 * The pidfile, as gunicorn's: written atomically (temp + rename) once listening, refused if it
 * names a live process, replaced if stale, removed at exit only if it still holds our pid.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The pid in a pidfile, or null when missing/garbage. */
export function readPid(file: string): number | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const m = /^\s*(\d+)\s*$/.exec(text);
  if (!m) return null;
  const pid = Number(m[1]);
  return pid > 0 ? pid : null;
}

/** kill(pid, 0): ESRCH = gone; EPERM = alive but not ours to signal (counts as alive). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The live pid a pidfile names, or null if missing, garbage or stale. */
export function validate(file: string): number | null {
  const pid = readPid(file);
  return pid !== null && pid !== process.pid && isAlive(pid) ? pid : null;
}

export class PidfileError extends Error {}

export class Pidfile {
  /** The pid this process last wrote (its own, but for tests). */
  private pid = process.pid;

  constructor(public file: string) {}

  /** Fails if another live process holds the file; the directory must exist. */
  check(): void {
    const dir = path.dirname(this.file);
    if (!fs.existsSync(dir)) throw new PidfileError(`${dir} doesn't exist. Can't create pidfile ${this.file}.`);
    const pid = validate(this.file);
    if (pid !== null) throw new PidfileError(`Already running on PID ${pid} (or pid file '${this.file}' is stale)`);
  }

  /**
   * Atomic write: a reader never sees an empty or half-written file. Mode 0644 (gunicorn). A write
   * or rename that fails (a full disk, an immutable pidfile, a read-only mount) removes the temp
   * file, which was left beside the pidfile, and names the pidfile, not the temp file.
   */
  write(pid = process.pid): void {
    this.check();
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      fs.writeFileSync(tmp, `${pid}\n`, { mode: 0o644 });
      fs.renameSync(tmp, this.file);
    } catch (err) {
      try {
        fs.rmSync(tmp, { force: true });
      } catch {
        /* the directory itself refuses (append-only, read-only): the error below says enough */
      }
      // Node's message ends with the paths (", rename '<tmp>' -> '<pidfile>'"): the temp one is gone.
      const why = (err as Error).message.replace(/, \w+ '.*$/s, '');
      throw new PidfileError(`Can't write pidfile ${this.file}: ${why}`, { cause: err });
    }
    this.pid = pid;
  }

  /** Removes the file only if it still holds our pid (a newer master may own it now). */
  unlink(pid = process.pid): void {
    if (readPid(this.file) === pid) fs.rmSync(this.file, { force: true });
  }

  /**
   * USR2 promotion: `<pidfile>.2` becomes `<pidfile>`. Written afresh, then the old one removed
   * (gunicorn's rename: create, unlink), so a `.2` that is gone meanwhile does not matter; if
   * the new file cannot be written, nothing changes and this throws.
   */
  rename(to: string): void {
    new Pidfile(to).write(this.pid);
    this.unlink(this.pid);
    this.file = to;
  }
}
