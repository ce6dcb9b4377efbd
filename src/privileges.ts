/**
 * `user` / `group` (gunicorn's): the master binds as root, workers switch to an unprivileged
 * user and group before they import the app, so app code never runs as root.
 */
import fs from 'node:fs';

export interface Ids {
  uid: number;
  gid: number;
}

/** Looks a name up in /etc/passwd or /etc/group (field 2 is the id); numbers pass through. */
export function lookup(file: '/etc/passwd' | '/etc/group', name: string | number): string[] | null {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === String(name) || (typeof name === 'number' && f[2] === String(name))) return f;
  }
  return null;
}

/** Resolves the configured user/group to ids, or null when neither is set. Throws a one-line error. */
export function resolveIds(user: string | number | null, group: string | number | null): Ids | null {
  if (user === null && group === null) return null;
  if (process.getuid?.() !== 0) throw new Error(`--user/--group need root to switch workers to another user (running as uid ${process.getuid?.()})`);
  let uid = process.getuid!();
  let gid = process.getgid!();
  if (user !== null) {
    const pw = lookup('/etc/passwd', user);
    // Names are checked when the config is loaded (config.ts), naming the key and file; this is
    // a user removed since.
    if (!pw && typeof user === 'string') throw new Error(`unknown user "${user}": not in /etc/passwd`);
    uid = pw ? Number(pw[2]) : (user as number);
    gid = pw ? Number(pw[3]) : gid;
  }
  if (group !== null) {
    const gr = lookup('/etc/group', group);
    if (!gr && typeof group === 'string') throw new Error(`unknown group "${group}": not in /etc/group`);
    gid = gr ? Number(gr[2]) : (group as number);
  }
  return { uid, gid };
}

/** In a worker: drop supplementary groups, then the group, then the user (order matters). */
export function dropPrivileges(ids: Ids): void {
  process.setgroups?.([ids.gid]);
  process.setgid!(ids.gid);
  process.setuid!(ids.uid);
}

/**
 * The log files workers write (`errorLog`, `accessLog`), made theirs: a worker reopens them on
 * USR1 after it dropped privileges, and could not open a file only root may write, nor create
 * one in root's log directory after logrotate moved it away (its lines then went on into the
 * rotated file). So the master, still root, creates a missing file and gives it to the workers'
 * user and group, as gunicorn chowns its log files. Only a regular file with one link, opened
 * without following a symlink: never /dev/null, a fifo, or a file a link points at. Returns the
 * problems, one line each.
 */
export function giveLogFiles(files: (string | null | undefined)[], ids: Ids): string[] {
  const problems: string[] = [];
  const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
  for (const file of new Set(files)) {
    if (!file || file === '-') continue;
    let fd = -1;
    try {
      fd = fs.openSync(file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o640);
      const st = fs.fstatSync(fd);
      if (st.isFile() && st.nlink === 1 && (st.uid !== ids.uid || st.gid !== ids.gid)) fs.fchownSync(fd, ids.uid, ids.gid);
    } catch (err) {
      // A fifo with no reader (ENXIO), a symlink (ELOOP): not a file to hand over.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENXIO' && code !== 'ELOOP') problems.push(`cannot give log file ${file} to the workers' user: ${(err as Error).message}`);
    } finally {
      if (fd >= 0) fs.closeSync(fd);
    }
  }
  return problems;
}
