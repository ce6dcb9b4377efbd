// A frozen copy of ldsup to benchmark: `git archive <ref>` + build, so edits (and rebuilds of
// dist/) in the work tree during a long run cannot change or break the code under test.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

export function snapshotLdsup(root, outDir, ref = 'HEAD') {
  const sha = execFileSync('git', ['-C', root, 'rev-parse', ref], { encoding: 'utf8' }).trim();
  const dir = path.join(outDir, `ldsup-${sha.slice(0, 10)}`);
  if (!['cli.cjs', 'cli.js'].some((f) => fs.existsSync(path.join(dir, 'dist', f)))) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const has = (p) => execFileSync('git', ['-C', root, 'ls-tree', '--name-only', sha, p], { encoding: 'utf8' }).trim() !== '';
    const paths = ['bin', 'src', 'examples', 'scripts', 'native', 'package.json', 'tsconfig.json', 'tsconfig.build.json'].filter(has);
    const tar = execFileSync('git', ['-C', root, 'archive', sha, ...paths]);
    execFileSync('tar', ['-x', '-C', dir], { input: tar });
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
    // Build the way that ref's own `npm run build` does: the esbuild bundle since it exists, tsc before.
    if (fs.existsSync(path.join(dir, 'scripts', 'bundle.mjs'))) execFileSync(process.execPath, [path.join(dir, 'scripts', 'bundle.mjs')], { cwd: dir, stdio: 'inherit' });
    else execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: dir, stdio: 'inherit' });
    // Its native parts too (`npm install` builds them): the watchdog changes a worker's start-up and memory.
    if (fs.existsSync(path.join(dir, 'scripts', 'build-native.mjs'))) execFileSync(process.execPath, [path.join(dir, 'scripts', 'build-native.mjs')], { cwd: dir, stdio: 'inherit' });
  }
  return { dir, sha };
}
