/**
 * jiti (TypeScript configs and apps where Node cannot strip types: Node 20, enums…), through its
 * CommonJS entry. Same API and the same code as its ES module entry, but import() of that entry
 * makes Node scan jiti's 188 KB CommonJS bundle for its exports and start the ES module loader:
 * ~55 ms for each process that needs jiti against ~30 ms with require() (Node 20, here).
 */
import { createRequire } from 'node:module';

type Jiti = typeof import('jiti');

let jiti: Jiti | null = null;

export function createJiti(...args: Parameters<Jiti['createJiti']>): ReturnType<Jiti['createJiti']> {
  jiti ??= createRequire(import.meta.url)('jiti') as Jiti;
  return jiti.createJiti(...args);
}
