#!/usr/bin/env node
// Builds native/reaper.node (only needed when ldsup runs as PID 1 in a container). Optional: with
// no C compiler or no Node headers it says so and exits 0; ldsup then warns at PID 1.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'native', 'build', 'reaper.node');
const includes = [path.join(path.dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node', '/usr/local/include/node'].filter((d) =>
  existsSync(path.join(d, 'node_api.h')),
);
if (process.platform !== 'linux') process.exit(0);
if (includes.length === 0) {
  console.error('ldsup: native reaper not built (no Node headers found); only needed to run as PID 1');
  process.exit(0);
}
try {
  mkdirSync(path.dirname(out), { recursive: true });
  execFileSync(process.env.CC || 'cc', ['-O2', '-shared', '-fPIC', '-Wall', `-I${includes[0]}`, '-o', out, path.join(root, 'native', 'reaper.c')], { stdio: 'inherit' });
} catch (err) {
  console.error(`ldsup: native reaper not built (${err.message.split('\n')[0]}); only needed to run as PID 1`);
}
