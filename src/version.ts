import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** ldsup's version, from its package.json (one directory above src/ or dist/). */
export const VERSION: string = (() => {
  try {
    const pj = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'package.json');
    return (JSON.parse(fs.readFileSync(pj, 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();
