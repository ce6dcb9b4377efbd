/** One look at /proc/<pid>/stat: the process state letter (R, S, T, Z, D…), or null if it is gone. */
import fs from 'node:fs';

export function procState(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] ?? null;
  } catch {
    return null;
  }
}
