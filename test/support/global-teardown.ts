import fs from 'node:fs';

export default function globalTeardown(): void {
  const dir = process.env.LDSUP_JEST_TMPDIR;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
