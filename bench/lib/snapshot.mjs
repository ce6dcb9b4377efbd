// A frozen copy of ldsup to benchmark: `git archive <ref>` + build, so edits (and rebuilds of
// dist/) in the work tree during a long run cannot change or break the code under test.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

export function snapshotLdsup(root, outDir, ref = 'HEAD') {
  const sha = execFileSync('git', ['-C', root, 'rev-parse', ref], { encoding: 'utf8' }).trim();
  const dir = path.join(outDir, `ldsup-${sha.slice(0, 10)}`);
  if (!fs.existsSync(path.join(dir, 'dist', 'cli.js'))) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const tar = execFileSync('git', ['-C', root, 'archive', sha, 'bin', 'src', 'examples', 'package.json', 'tsconfig.json', 'tsconfig.build.json']);
    execFileSync('tar', ['-x', '-C', dir], { input: tar });
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
    execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: dir, stdio: 'inherit' });
  }
  return { dir, sha };
}
