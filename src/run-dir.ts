/**
 * The master's run directory: private to its user (mkdtemp makes it 0700); workers' watchdogs
 * leave the stack of a blocked event loop there for the master to log. The master removes it
 * when it stops. One that was killed (SIGKILL, the OOM killer) cannot, so every master also
 * removes, once it is serving, the run directories of masters that are gone: the pid is in the
 * name. Only directories owned by this user, or by the user its workers run as, are touched,
 * and never one whose pid names a live process (it may be a master in another pid namespace
 * that shares this /tmp; a reused pid only delays the cleanup).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const NAME = /^ldsup-(\d+)-[A-Za-z0-9]{6}$/;

export function createRunDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `ldsup-${process.pid}-`));
}

/** Removes the run directories of masters that are gone; resolves with how many. Never throws. */
export async function removeStaleRunDirs(workerUid?: number): Promise<number> {
  const dir = os.tmpdir();
  const owners = new Set([process.getuid?.(), workerUid].filter((u) => u !== undefined));
  let removed = 0;
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const pid = Number(NAME.exec(name)?.[1]);
    if (!pid || alive(pid)) continue;
    const p = path.join(dir, name);
    try {
      const st = await fs.promises.lstat(p);
      if (!st.isDirectory() || !owners.has(st.uid)) continue;
      await fs.promises.rm(p, { recursive: true, force: true });
      removed++;
    } catch {
      /* gone meanwhile, or not ours to remove */
    }
  }
  return removed;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
