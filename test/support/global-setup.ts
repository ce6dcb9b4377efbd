/**
 * One temporary directory for the whole run, removed at the end: TMPDIR points there for every
 * jest worker and every process a test starts. A master the harness ends with SIGKILL cannot
 * remove its run directory (timeout stacks), and each checkout path adds its own files to the
 * Node 20 code cache; without this, every `npm test` left a few hundred of them in /tmp.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export default function globalSetup(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldsup-jest-'));
  // Tests drop privileges (user: nobody) and serve files from below here: traversable by all.
  fs.chmodSync(dir, 0o755);
  process.env.LDSUP_JEST_TMPDIR = dir;
  process.env.TMPDIR = dir;
}
